"""Resource estimates of a sweep cell: the memory of a quantum run from its grid.

A quantum cell holds the ``N1 x N2`` complex state and a few work arrays of that size;
smaller ``hbar`` needs more modes to reach the same momentum (``p_n = hbar n pi / L``).
With the light-particle-exact splitting (the engine's default when the particles interact)
it also holds, for every grid row of particle 1, the ``N2 x N2`` eigenvectors of particle
2's Hamiltonian: ``N1 * N2^2`` real numbers, twice during the set-up (the Hamiltonians and
their eigenvectors).  That term dominates once ``N2`` is large (``m`` near 1).

The grid and scheme come from the engine's own choice, ``kickedpair.quantum.resolution.resolve``
(which honours ``quantum.N1/N2/scheme`` set by hand).  The request is::

    ranks * overhead_mb_per_rank + N1 * N2 * bytes_per_point
          + N1 * N2^2 * bytes_per_block_entry        (light-particle-exact scheme only)

and never below the engine's own estimate of its busiest rank (:mod:`kickedpair.limits`)
times the ranks and :data:`ENGINE_MARGIN`, so that the engine's check against its allocation
passes for every job sized here; clipped to ``[min_mb, max_mb]``; :func:`over_limit` names the cells whose estimate exceeds
``max_mb``, and :func:`cells_over_limit` / :func:`over_limit_message` give the workflow its
plan-time refusal of such cells (``max_mb`` there being the memory of one node: ``node_mem_mb``
when a cluster profile sets it), unless ``allow_over_limit`` is set.
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
    from ..quantum.resolution import resolve

    config = parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})
    resolved = resolve(config)
    return GridEstimate(int(resolved.N1), int(resolved.N2), str(resolved.scheme))


def quantum_mem_estimate_mb(cell_config: Mapping[str, Any], ranks: int,
                            settings: Mapping[str, Any] | None = None) -> float:
    """Unclipped memory estimate (MB) of a quantum cell on ``ranks`` ranks."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    grid = estimate_grid(cell_config)
    request = (ranks * float(s["overhead_mb_per_rank"])
               + grid.points * float(s["bytes_per_point"]) / 2 ** 20
               + grid.block_entries * float(s["bytes_per_block_entry"]) / 2 ** 20)
    return max(request, ENGINE_MARGIN * ranks * engine_peak_mb(cell_config, ranks))


#: the request covers the engine's own per-rank peak (kickedpair.limits) by this factor, so
#: that a job sized here is never refused by the engine's check against its allocation
ENGINE_MARGIN = 1.1


def engine_peak_mb(cell_config: Mapping[str, Any], ranks: int) -> float:
    """The engine's estimate of the busiest rank's peak (MB) on ``ranks`` ranks (its own check)."""
    from ..limits import quantum_estimate

    config = parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})
    return quantum_estimate(config, ranks).mb


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
    minutes = safety * cost.core_hours * 60.0 / max(ranks, 1)  # set-up included
    return max(minimum, int(math.ceil(minutes)))


@dataclass(frozen=True)
class OverLimit:
    """A quantum job whose memory estimate exceeds what one node has."""

    name: str
    grid: GridEstimate
    estimate_mb: float

    def describe(self) -> str:
        g = self.grid
        return f"{self.name} (N1 x N2 = {g.N1} x {g.N2}, {g.scheme}: ~{self.estimate_mb:.0f} MB)"


def cells_over_limit(cells: Mapping[str, tuple[Mapping[str, Any], int]], limit_mb: float,
                     settings: Mapping[str, Any] | None = None, factor: float = 1.0) -> list[OverLimit]:
    """The jobs of ``cells`` (``{name: (run config, ranks)}``) whose memory estimate, times
    ``factor``, exceeds ``limit_mb``, in the order given."""
    out = []
    for name, (cfg, ranks) in cells.items():
        mb = factor * quantum_mem_estimate_mb(cfg, ranks, settings)
        if mb > float(limit_mb):
            out.append(OverLimit(name, estimate_grid(cfg), mb))
    return out


def over_limit_message(over: list[OverLimit], limit_mb: int, limit_key: str, where: str) -> str:
    """One line naming every job of ``over``, its grid, its estimate and the limit."""
    return (f"{len(over)} quantum job(s) of {where} need more memory than one node has "
            f"({limit_key} = {limit_mb} MB): " + "; ".join(o.describe() for o in over))
