"""Resource estimates of a sweep cell: the memory of a quantum run from its grid.

A quantum cell holds the ``N1 x N2`` complex state and a few work arrays of that size;
smaller ``hbar`` needs more modes to reach the same momentum (``p_n = hbar n pi / L``).
With the light-particle-exact splitting (the engine's default when the particles interact)
it also holds, for every grid row of particle 1, the ``N2 x N2`` eigenvectors of particle
2's Hamiltonian: ``N1 * N2^2`` real numbers, twice during the set-up (the Hamiltonians and
their eigenvectors).  That term dominates once ``N2`` is large (``m`` near 1).

The grid and scheme come from the engine's own choice, ``kickedpair.quantum.evolution.resolve``
(which honours ``quantum.N1/N2/scheme`` set by hand).  The request is::

    ranks * overhead_mb_per_rank + N1 * N2 * bytes_per_point
          + N1 * N2^2 * bytes_per_block_entry        (light-particle-exact scheme only)

clipped to ``[min_mb, max_mb]``; :func:`over_limit` names the cells whose estimate exceeds
``max_mb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..params import parse_config

MEMORY_DEFAULTS = {
    "overhead_mb_per_rank": 400.0,
    "bytes_per_point": 128.0,
    "bytes_per_block_entry": 16.0,
    "min_mb": 1000,
    "max_mb": 1_000_000,
}


@dataclass(frozen=True)
class GridEstimate:
    N1: int
    N2: int
    scheme: str   # 'light_exact', 'strang', 'free'

    @property
    def points(self) -> int:
        return self.N1 * self.N2

    @property
    def block_entries(self) -> int:
        """Numbers held by the per-row particle-2 propagators (0 unless light_exact)."""
        return self.N1 * self.N2 * self.N2 if self.scheme == "light_exact" else 0


def estimate_grid(cell_config: Mapping[str, Any]) -> GridEstimate:
    """Grid size and scheme of a quantum cell from its run config (sections physics, quantum):
    the engine's own choice, which honours ``quantum.N1/N2/scheme`` set by hand.

    A ConfigError (no hbar, a grid too small for it) is the user's to fix before any job runs.
    """
    from ..quantum.evolution import resolve

    config = parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})
    resolved = resolve(config)
    return GridEstimate(int(resolved.N1), int(resolved.N2), str(resolved.scheme))


def quantum_mem_estimate_mb(cell_config: Mapping[str, Any], ranks: int,
                            settings: Mapping[str, Any] | None = None) -> float:
    """Unclipped memory estimate (MB) of a quantum cell on ``ranks`` ranks."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    grid = estimate_grid(cell_config)
    return (ranks * float(s["overhead_mb_per_rank"])
            + grid.points * float(s["bytes_per_point"]) / 2 ** 20
            + grid.block_entries * float(s["bytes_per_block_entry"]) / 2 ** 20)


def quantum_mem_mb(cell_config: Mapping[str, Any], ranks: int, settings: Mapping[str, Any] | None = None) -> int:
    """Memory request (MB) of a quantum cell run on ``ranks`` ranks, clipped to [min_mb, max_mb]."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    mb = quantum_mem_estimate_mb(cell_config, ranks, s)
    return int(min(max(math.ceil(mb), int(s["min_mb"])), int(s["max_mb"])))


def over_limit(cells: Mapping[str, Mapping[str, Any]], ranks: int,
               settings: Mapping[str, Any] | None = None) -> dict[str, float]:
    """``{cell name: estimate in MB}`` for the cells whose estimate exceeds ``max_mb``."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    out = {}
    for name, cfg in cells.items():
        mb = quantum_mem_estimate_mb(cfg, ranks, s)
        if mb > float(s["max_mb"]):
            out[name] = mb
    return out


def quantum_runtime_min(cell_config: Mapping[str, Any], ranks: int, safety: float = 4.0,
                        minimum: int = 10) -> int:
    """Wall-time request (minutes) of a quantum cell on ``ranks`` ranks: the engine's cost
    model (:mod:`kickedpair.quantum.cost`, one core per rank) times ``safety``."""
    from ..quantum.cost import estimate_cost

    config = parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})
    cost = estimate_cost(config)
    minutes = safety * cost.seconds_per_kick * cost.n_kicks / max(ranks, 1) / 60.0
    return max(minimum, int(math.ceil(minutes)))
