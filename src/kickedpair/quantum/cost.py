"""What a quantum cell will cost: memory and time per kick from its resolved grid.

The time model counts the two kinds of work in a substep and prices them with
constants measured by ``benchmarks/quantum_bench.py`` on the 2-core reference machine
(one thread, 1023 x 31 modes, ``hbar = 0.05``): a DST pair along ``x1`` with its phase
multiply, ``0.67 ms`` for ``N1 N2 log2(2 (N1 + 1))`` points -> ``T_TRANSFORM`` s per
point-log; the light-particle-exact block product ``V diag(phase) V^T`` on every row,
``0.56 ms`` for ``N1 N2^2`` entries -> ``T_BLOCK`` s per entry.  Plain Strang does about
twice the transforms (both axes) and no blocks.  Estimates, good to a factor ~2 on
other machines; the benchmark measures the real thing.

Memory, per rank at its peak (rank 0, which also holds the gathered snapshots), measured with
``tracemalloc`` at ``N1 = 2047, N2 = 127`` (peak traced / points): the state and its work
arrays, 106 B a point on one rank (74 B for the free map), 147 B a local point on a slab of
two ranks (the transposes' buffers); the light-particle-exact set-up, 15.3-15.7 B per block
entry beyond that (the Hamiltonians, their eigenvectors, ``eigh``'s copy); the series, 136 B
a kick (seven series of ``n_kicks + 1`` values and the fit's copies); and about 150 MB of
resident interpreter, numpy, scipy, numba, h5py and MPI (``ru_maxrss`` minus the traced peak).
:mod:`kickedpair.limits` compares this with the memory a rank may use before a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import RunConfig
from .resolution import ResolvedNumerics, resolve

T_TRANSFORM = 0.67e-3 / (1023 * 31 * math.log2(2 * 1024))
T_BLOCK = 0.56e-3 / (1023 * 31 * 31)
BYTES_STATE_ARRAYS = 8 * 16        # the complex128 state and ~7 work arrays of its size
BYTES_STATE_ARRAYS_SLAB = 10 * 16  # on a slab: two more for the transposes' send and receive buffers
BYTES_BLOCK_ENTRY = 16             # float64 Hamiltonians and eigenvectors during the set-up
BYTES_SERIES_PER_KICK = 144        # 7 series of n_kicks + 1 float64 and the fit's copies (136 measured)
BYTES_SNAPSHOT_PER_MODE = 16       # P1(n) at a snapshot time, gathered and kept on rank 0
BASE_MB = 150.0                    # resident interpreter and libraries, per rank


def memory_parts(r: ResolvedNumerics, n_kicks: int, n_snapshots: int = 0, ranks: int = 1) -> dict[str, float]:
    """Bytes the busiest rank (rank 0) holds at its peak, by part: ``state`` (the state and its
    work arrays), ``blocks`` (light-particle-exact set-up), ``series``, ``snapshots``, ``base``."""
    ranks = max(int(ranks), 1)
    rows, cols = -(-r.N1 // ranks), -(-r.N2 // ranks)
    if ranks == 1:
        state = float(r.N1) * r.N2 * BYTES_STATE_ARRAYS
    else:  # a row slab, or a column slab during a transpose, whichever is larger
        state = float(max(rows * r.N2, r.N1 * cols)) * BYTES_STATE_ARRAYS_SLAB
    blocks = float(rows) * r.N2 * r.N2 * BYTES_BLOCK_ENTRY if r.scheme == "light_exact" else 0.0
    return {"state": state, "blocks": blocks, "series": (float(n_kicks) + 1.0) * BYTES_SERIES_PER_KICK,
            "snapshots": float(n_snapshots) * r.N1 * BYTES_SNAPSHOT_PER_MODE, "base": BASE_MB * 2**20}


def _mb(x: float) -> str:
    return f"{x:.0f}" if x < 1e12 else f"{x:.3g}"


@dataclass(frozen=True)
class CellCost:
    numerics: ResolvedNumerics
    memory_mb: float          # state and blocks of the whole run, all ranks together
    seconds_per_kick: float   # on one core
    n_kicks: int
    n_snapshots: int = 0

    def memory_parts(self, ranks: int = 1) -> dict[str, float]:
        """Bytes of the busiest of ``ranks`` ranks, by part (:func:`memory_parts`)."""
        return memory_parts(self.numerics, self.n_kicks, self.n_snapshots, ranks)

    def memory_mb_per_rank(self, ranks: int = 1) -> float:
        """Peak memory (MB) of the busiest rank, interpreter and libraries included."""
        return sum(self.memory_parts(ranks).values()) / 2**20

    @property
    def core_hours(self) -> float:
        return self.seconds_per_kick * self.n_kicks / 3600.0

    def text(self, ranks: int = 1) -> str:
        r = self.numerics
        wall = self.seconds_per_kick * self.n_kicks / max(ranks, 1) / 3600.0
        return (f"N1 x N2 = {r.N1} x {r.N2}, scheme {r.scheme}, {r.substeps} substeps/kick, {self.n_kicks} kicks\n"
                f"memory: {_mb(self.memory_mb)} MB in all; {_mb(self.memory_mb_per_rank(ranks))} MB per rank "
                f"on {ranks} at the peak, {BASE_MB:.0f} MB of libraries included\n"
                f"time: {self.seconds_per_kick:.3g} s/kick on one core, {self.core_hours:.3g} core-hours in all, "
                f"about {wall:.3g} h on {ranks} rank(s) at full efficiency")


def estimate_cost(config: RunConfig) -> CellCost:
    r = resolve(config)
    points = float(r.N1) * r.N2
    transforms = points * math.log2(2 * (r.N1 + 1))
    if r.scheme == "light_exact":
        per_substep = T_TRANSFORM * transforms + T_BLOCK * r.N1 * r.N2 * r.N2
        blocks = r.N1 * r.N2 * r.N2 * BYTES_BLOCK_ENTRY
    elif r.scheme == "strang":
        per_substep = 2 * T_TRANSFORM * (transforms + points * math.log2(2 * (r.N2 + 1)))
        blocks = 0
    else:  # free: one kick and one pair of transforms per period
        per_substep = 2 * T_TRANSFORM * transforms
        blocks = 0
    memory = (points * BYTES_STATE_ARRAYS + blocks) / 2**20
    return CellCost(numerics=r, memory_mb=memory, seconds_per_kick=per_substep * r.substeps,
                    n_kicks=config.quantum.n_kicks, n_snapshots=len(set(config.quantum.snapshot_times)))
