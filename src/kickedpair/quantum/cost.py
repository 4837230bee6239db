"""What a quantum cell will cost: memory and time per kick from its resolved grid.

The time model counts the two kinds of work in a substep and prices them with
constants measured by ``benchmarks/quantum_bench.py`` on the 2-core reference machine
(one thread, 1023 x 31 modes, ``hbar = 0.05``): a DST pair along ``x1`` with its phase
multiply, ``0.67 ms`` for ``N1 N2 log2(2 (N1 + 1))`` points -> ``T_TRANSFORM`` s per
point-log; the light-particle-exact block product ``V diag(phase) V^T`` on every row,
``0.56 ms`` for ``N1 N2^2`` entries -> ``T_BLOCK`` s per entry.  Plain Strang does about
twice the transforms (both axes) and no blocks.  Estimates, good to a factor ~2 on
other machines; the benchmark measures the real thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import RunConfig
from .evolution import ResolvedNumerics, resolve

T_TRANSFORM = 0.67e-3 / (1023 * 31 * math.log2(2 * 1024))
T_BLOCK = 0.56e-3 / (1023 * 31 * 31)
BYTES_STATE_ARRAYS = 8 * 16        # the complex128 state and ~7 work arrays of its size
BYTES_BLOCK_ENTRY = 16             # float64 Hamiltonians and eigenvectors during the set-up


@dataclass(frozen=True)
class CellCost:
    numerics: ResolvedNumerics
    memory_mb: float          # whole run, all ranks together
    seconds_per_kick: float   # on one core
    n_kicks: int

    @property
    def core_hours(self) -> float:
        return self.seconds_per_kick * self.n_kicks / 3600.0

    def text(self, ranks: int = 1) -> str:
        r = self.numerics
        wall = self.seconds_per_kick * self.n_kicks / max(ranks, 1) / 3600.0
        return (f"N1 x N2 = {r.N1} x {r.N2}, scheme {r.scheme}, {r.substeps} substeps/kick, {self.n_kicks} kicks\n"
                f"memory: {self.memory_mb:.0f} MB in all ({self.memory_mb / max(ranks, 1):.0f} MB per rank on {ranks})\n"
                f"time: {self.seconds_per_kick:.3g} s/kick on one core, {self.core_hours:.3g} core-hours in all, "
                f"about {wall:.3g} h on {ranks} rank(s) at full efficiency")


def estimate_cost(config: RunConfig) -> CellCost:
    r = resolve(config)
    points = r.N1 * r.N2
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
                    n_kicks=config.quantum.n_kicks)
