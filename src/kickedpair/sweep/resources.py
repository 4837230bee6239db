"""What a quantum job of the workflow asks for, from the engine's cost model.

Memory and wall time are :mod:`kickedpair.quantum.cost`'s estimates (the per-rank memory that
:mod:`kickedpair.limits` checks, with a margin) for the grid and scheme the engine will choose
(``kickedpair.quantum.resolution.resolve``, which honours ``quantum.N1/N2/scheme`` set by hand).
Jobs whose memory exceeds one node's are named by :func:`cells_over_limit` and refused by the
workflow before any job runs unless ``allow_over_limit`` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..params import RunConfig, parse_config

MEMORY_DEFAULTS = {"min_mb": 1000, "max_mb": 1_000_000}


def _engine_config(cell_config: Mapping[str, Any]) -> RunConfig:
    return parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})


def estimate_grid(cell_config: Mapping[str, Any]):
    """The engine's resolved numerics (N1, N2, scheme, substeps) of a quantum run config."""
    from ..quantum.resolution import resolve

    return resolve(_engine_config(cell_config))


def quantum_mem_estimate_mb(cell_config: Mapping[str, Any], ranks: int) -> float:
    """Unclipped memory estimate (MB) of a quantum run on ``ranks`` ranks."""
    from ..quantum.cost import request_mb

    return request_mb(_engine_config(cell_config), ranks)


def quantum_mem_mb(cell_config: Mapping[str, Any], ranks: int, settings: Mapping[str, Any] | None = None) -> int:
    """Memory request (MB) of a quantum run on ``ranks`` ranks, clipped to [min_mb, max_mb]."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    return int(min(max(math.ceil(quantum_mem_estimate_mb(cell_config, ranks)), int(s["min_mb"])), int(s["max_mb"])))


def quantum_runtime_min(cell_config: Mapping[str, Any], ranks: int, safety: float = 4.0) -> int:
    """Wall-time request (minutes) of a quantum run on ``ranks`` ranks."""
    from ..quantum.cost import request_minutes

    return request_minutes(_engine_config(cell_config), ranks, safety)


@dataclass(frozen=True)
class OverLimit:
    """A quantum job whose memory estimate exceeds what one node has."""

    name: str
    grid: Any            # the resolved numerics
    estimate_mb: float

    def describe(self) -> str:
        g = self.grid
        return f"{self.name} (N1 x N2 = {g.N1} x {g.N2}, {g.scheme}: ~{self.estimate_mb:.0f} MB)"


def cells_over_limit(cells: Mapping[str, tuple[Mapping[str, Any], int]], limit_mb: float,
                     factor: float = 1.0) -> list[OverLimit]:
    """The jobs of ``cells`` (``{name: (run config, ranks)}``) whose memory estimate, times
    ``factor``, exceeds ``limit_mb``, in the order given."""
    out = []
    for name, (cfg, ranks) in cells.items():
        if (mb := factor * quantum_mem_estimate_mb(cfg, ranks)) > float(limit_mb):
            out.append(OverLimit(name, estimate_grid(cfg), mb))
    return out


def over_limit_message(over: list[OverLimit], limit_mb: int, limit_key: str, where: str) -> str:
    """One line naming every job of ``over``, its grid, its estimate and the limit."""
    return (f"{len(over)} quantum job(s) of {where} need more memory than one node has "
            f"({limit_key} = {limit_mb} MB): " + "; ".join(o.describe() for o in over))
