"""What a quantum cell will cost: memory and time per kick from its resolved grid.

The time model prices what a period does on one core -- the DST pairs along x1 and x2, the
light-particle-exact blocks by N2, multiplies, the purity's Gram product, the other
observables, per-call overheads, and the light-particle-exact set-up -- with prices measured
by ``benchmarks/cost_model.py --measure`` on the 2-core reference machine; ``--check`` compares
whole periods with the model (docs/numerics.md).  No MPI communication term.

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
from .resolution import ResolvedNumerics, interpolate_log, resolve

# Prices on the 2-core reference machine, one core (``benchmarks/cost_model.py --measure``
# prints them; see docs/numerics.md).  Per point (N1 N2) and log2 of the transform length:
T_X1 = 2.05e-9        # a DST pair along x1 with its phase multiply (sandwich_x1)
T_X2 = 2.62e-9        # a DST pair along x2
T_MUL = 4.28e-10      # one complex multiply of the state by a stored factor, per point
# light-particle-exact blocks ``V diag(phase) V^T`` per block entry (N1 N2^2), by N2:
BLOCK_PRICE = ((31, 8.63e-10), (63, 7.64e-10), (127, 7.24e-10), (255, 7.39e-10))
# light-particle-exact set-up (the Hamiltonians and eigh) per N1 N2^3, by N2:
EIGH_PRICE = ((31, 3.81e-9), (63, 2.24e-9), (127, 1.25e-9), (255, 4.37e-10))
T_GRAM = 1.92e-10     # the purity's Gram matrix per kick, per N1 N2 min(N1, N2)
T_OBS = 2.10e-9       # the other observables per kick, per point
# fixed costs of the Python-level calls: per substep (by scheme) and per period (kick, observables)
OVERHEAD_SUBSTEP = {"light_exact": 1.65e-5, "strang": 2.94e-5}
OVERHEAD_KICK = 5.8e-5
#: applications of the second-order substep per substep, by splitting order (triple jump: 3)
STAGES = {2: 1, 4: 3}

BYTES_STATE_ARRAYS = 8 * 16        # the complex128 state and ~7 work arrays of its size
BYTES_STATE_ARRAYS_SLAB = 10 * 16  # on a slab: two more for the transposes' send and receive buffers
BYTES_BLOCK_ENTRY = 16             # float64 Hamiltonians and eigenvectors during the set-up
BYTES_GRAM_ENTRY = 48              # the Gram matrix, its copy in the reduced vector, the reduced sum
BYTES_SERIES_PER_KICK = 144        # 7 series of n_kicks + 1 float64 and the fit's copies (136 measured)
BYTES_SNAPSHOT_PER_MODE = 16       # P1(n) at a snapshot time, gathered and kept on rank 0
BASE_MB = 150.0                    # resident interpreter and libraries, per rank


def memory_parts(r: ResolvedNumerics, n_kicks: int, n_snapshots: int = 0, ranks: int = 1) -> dict[str, float]:
    """Bytes the busiest rank (rank 0) holds at its peak, by part: ``state`` (the state and its
    work arrays), ``blocks`` (light-particle-exact set-up), ``gram`` (the purity's N2 x N2
    partial sums), ``series``, ``snapshots``, ``base``."""
    ranks = max(int(ranks), 1)
    rows, cols = -(-r.N1 // ranks), -(-r.N2 // ranks)
    if ranks == 1:
        state = float(r.N1) * r.N2 * BYTES_STATE_ARRAYS
    else:  # a row slab, or a column slab during a transpose, whichever is larger
        state = float(max(rows * r.N2, r.N1 * cols)) * BYTES_STATE_ARRAYS_SLAB
    blocks = float(rows) * r.N2 * r.N2 * BYTES_BLOCK_ENTRY if r.scheme == "light_exact" else 0.0
    gram = float(r.N2) * r.N2 * BYTES_GRAM_ENTRY  # the purity's N2 x N2 partial sums, on every rank
    return {"state": state, "blocks": blocks, "gram": gram,
            "series": (float(n_kicks) + 1.0) * BYTES_SERIES_PER_KICK,
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
    setup_seconds: float = 0.0  # on one core, once per run

    def memory_parts(self, ranks: int = 1) -> dict[str, float]:
        """Bytes of the busiest of ``ranks`` ranks, by part (:func:`memory_parts`)."""
        return memory_parts(self.numerics, self.n_kicks, self.n_snapshots, ranks)

    def memory_mb_per_rank(self, ranks: int = 1) -> float:
        """Peak memory (MB) of the busiest rank, interpreter and libraries included."""
        return sum(self.memory_parts(ranks).values()) / 2**20

    @property
    def core_hours(self) -> float:
        return (self.seconds_per_kick * self.n_kicks + self.setup_seconds) / 3600.0

    def text(self, ranks: int = 1) -> str:
        r = self.numerics
        wall = self.core_hours / max(ranks, 1)
        return (f"N1 x N2 = {r.N1} x {r.N2}, scheme {r.scheme} (order {r.order}), {r.substeps} substeps/kick, "
                f"{self.n_kicks} kicks\n"
                f"memory: {_mb(self.memory_mb)} MB in all; {_mb(self.memory_mb_per_rank(ranks))} MB per rank "
                f"on {ranks} at the peak, {BASE_MB:.0f} MB of libraries included\n"
                f"time: {self.seconds_per_kick:.3g} s/kick on one core, set-up {self.setup_seconds:.3g} s, "
                f"{self.core_hours:.3g} core-hours in all, "
                f"about {wall:.3g} h on {ranks} rank(s) at full efficiency")


def _by_N2(prices: tuple, N2: int) -> float:
    """A price measured at a few N2, interpolated log-log between them, constant beyond."""
    return interpolate_log({n: (t,) for n, t in prices}, N2)[0]


def block_price(N2: int) -> float:
    """Seconds per block entry of the light-particle-exact product at ``N2``."""
    return _by_N2(BLOCK_PRICE, N2)


def substep_seconds(N1: int, N2: int, scheme: str) -> float:
    """One second-order substep on one core: the transforms, blocks and multiplies it does."""
    points = float(N1) * N2
    x1 = T_X1 * points * math.log2(2 * (N1 + 1))
    x2 = T_X2 * points * math.log2(2 * (N2 + 1))
    if scheme == "light_exact":   # blocks on every row, then half T1 - half T1 along x1
        return OVERHEAD_SUBSTEP[scheme] + x1 + block_price(N2) * points * N2
    if scheme == "strang":        # x2 down, x1 pair with T, x2 up, V_I multiply
        return OVERHEAD_SUBSTEP[scheme] + x1 + x2 + T_MUL * points
    raise ValueError(f"no substeps in scheme {scheme!r}")


def kick_seconds(N1: int, N2: int) -> float:
    """What a period costs besides its substeps: kick, the transforms around it, observables."""
    points = float(N1) * N2
    transforms = T_X1 * points * math.log2(2 * (N1 + 1)) + T_X2 * points * math.log2(2 * (N2 + 1))
    return OVERHEAD_KICK + transforms + T_MUL * points + T_OBS * points + T_GRAM * points * min(N1, N2)


def setup_seconds(N1: int, N2: int, scheme: str) -> float:
    """One-off set-up: the light-particle-exact scheme diagonalises an N2 x N2 matrix per row."""
    return _by_N2(EIGH_PRICE, N2) * float(N1) * float(N2) ** 3 if scheme == "light_exact" else 0.0


def seconds_per_kick(N1: int, N2: int, scheme: str, substeps: int, order: int = 2) -> float:
    """One period on one core (set-up excluded)."""
    if scheme == "free":
        return kick_seconds(N1, N2)
    return kick_seconds(N1, N2) + substeps * STAGES[order] * substep_seconds(N1, N2, scheme)


def run_seconds(r: ResolvedNumerics, n_kicks: int) -> float:
    """A whole run on one core: set-up and ``n_kicks`` periods."""
    return setup_seconds(r.N1, r.N2, r.scheme) + n_kicks * seconds_per_kick(r.N1, r.N2, r.scheme, r.substeps, r.order)


def estimate_cost(config: RunConfig) -> CellCost:
    r = resolve(config)
    points = float(r.N1) * r.N2
    blocks = points * r.N2 * BYTES_BLOCK_ENTRY if r.scheme == "light_exact" else 0.0
    memory = (points * BYTES_STATE_ARRAYS + blocks) / 2**20
    return CellCost(numerics=r, memory_mb=memory,
                    seconds_per_kick=seconds_per_kick(r.N1, r.N2, r.scheme, r.substeps, r.order),
                    setup_seconds=setup_seconds(r.N1, r.N2, r.scheme),
                    n_kicks=config.quantum.n_kicks, n_snapshots=len(set(config.quantum.snapshot_times)))


# --------------------------------------------------------------------------- job requests
#: a job asks for the engine's own estimate of its busiest rank (what kickedpair.limits checks
#: against the allocation) times this, so that a job sized here is never refused by that check
ENGINE_MARGIN = 1.1


def request_mb(config: RunConfig, ranks: int) -> float:
    """Memory (MB) a quantum job on ``ranks`` ranks asks for: ``ranks`` times the busiest rank's
    peak (:func:`memory_parts`, interpreter and libraries included) times :data:`ENGINE_MARGIN`."""
    return ENGINE_MARGIN * ranks * estimate_cost(config).memory_mb_per_rank(ranks)


def request_minutes(config: RunConfig, ranks: int, safety: float = 4.0, minimum: int = 10) -> int:
    """Wall time (minutes) a quantum job on ``ranks`` ranks asks for: the time model (one core
    per rank, set-up included, no communication) times ``safety``, at least ``minimum``."""
    minutes = safety * estimate_cost(config).core_hours * 60.0 / max(ranks, 1)
    return max(minimum, int(math.ceil(minutes)))
