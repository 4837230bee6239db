"""Resource estimates of a sweep cell: the memory of a quantum run from its grid.

A quantum cell holds the ``N1 x N2`` complex state and a few work arrays of that size;
smaller ``hbar`` needs more modes to reach the same momentum (``p_n = hbar n pi / L``).
With the light-particle-exact splitting (the engine's default when the particles interact)
it also holds, for every grid row of particle 1, the ``N2 x N2`` eigenvectors of particle
2's Hamiltonian: ``N1 * N2^2`` real numbers, twice during the set-up (the Hamiltonians and
their eigenvectors).  That term dominates once ``N2`` is large (``m`` near 1).

The grid and scheme come from the engine's own choice, ``kickedpair.quantum.evolution.resolve``
(which honours ``quantum.N1/N2/scheme`` set by hand), when the engine is installed; else from
a momentum estimate (:func:`heuristic_grid`).  The request is::

    ranks * overhead_mb_per_rank + N1 * N2 * bytes_per_point
          + N1 * N2^2 * bytes_per_block_entry        (light-particle-exact scheme only)

clipped to ``[min_mb, max_mb]``; :func:`over_limit` names the cells whose estimate exceeds
``max_mb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..params import ConfigError, parse_config

MEMORY_DEFAULTS = {
    "overhead_mb_per_rank": 400.0,
    "bytes_per_point": 128.0,
    "bytes_per_block_entry": 16.0,
    "momentum_safety": 2.5,
    "min_mb": 1000,
    "max_mb": 1_000_000,
}


@dataclass(frozen=True)
class GridEstimate:
    N1: int
    N2: int
    scheme: str   # 'light_exact', 'strang', 'free'
    source: str   # 'engine', 'config' or 'estimate'

    @property
    def points(self) -> int:
        return self.N1 * self.N2

    @property
    def block_entries(self) -> int:
        """Numbers held by the per-row particle-2 propagators (0 unless light_exact)."""
        return self.N1 * self.N2 * self.N2 if self.scheme == "light_exact" else 0


def _pow2_minus_one(n: float, floor: int) -> int:
    """Smallest ``2^k - 1 >= max(n, floor)`` (the fast DST-I lengths, MODEL.md section 6)."""
    n = max(int(math.ceil(n)), floor, 1)
    return (1 << n.bit_length()) - 1


def heuristic_grid(physics, n_kicks: int, momentum_safety: float = 2.5) -> tuple[int, int]:
    """Mode counts reaching ``momentum_safety`` times the momenta expected by ``t_f``.

    Particle 1: quasi-linear diffusion ``<p1^2> ~ K1^2 t / 2`` plus one kick.  Particle 2:
    its momentum off the interaction bump, ``sqrt(2 U0 m)``, plus what particle 1 can hand
    over, ``min(2 m, sqrt(m)) p1`` (elastic bounce off a heavy partner; equipartition for
    comparable masses), plus its own kicks.  ``physics``: a :class:`kickedpair.params.Physics`
    with ``hbar`` set.
    """
    hbar, m, L = physics.hbar, physics.mass_ratio, physics.L
    U0 = abs(physics.interaction_strength)
    p1 = momentum_safety * (math.sqrt(physics.K1 ** 2 * n_kicks / 2.0) + abs(physics.K1))
    p2 = (momentum_safety * (math.sqrt(2.0 * U0 * m) + math.sqrt(physics.K2 ** 2 * n_kicks / 2.0)
                             + abs(physics.K2))
          + min(2.0 * m, math.sqrt(m)) * p1)
    modes = lambda p: p * L / (math.pi * hbar)  # noqa: E731  (p_n = hbar n pi / L)
    return _pow2_minus_one(modes(p1), 63), _pow2_minus_one(modes(p2), 31)


def _engine_resolve(config):
    """The engine's resolved numerics, or None when no engine is installed."""
    try:
        from ..quantum.evolution import resolve
    except Exception:  # engine not installed (or broken): fall back to the estimate
        return None
    return resolve(config)  # a ConfigError here (grid too small for hbar) is the user's to fix


def estimate_grid(cell_config: Mapping[str, Any], momentum_safety: float = 2.5) -> GridEstimate:
    """Grid size and scheme of a quantum cell from its run config (sections physics, quantum)."""
    config = parse_config({k: v for k, v in cell_config.items() if k in ("physics", "quantum")})
    physics = config.physics
    if physics.hbar is None:
        raise ConfigError("physics.hbar: required for a quantum cell, got None")
    resolved = _engine_resolve(config)
    if resolved is not None:
        return GridEstimate(int(resolved.N1), int(resolved.N2), str(resolved.scheme), "engine")
    quantum = cell_config.get("quantum") or {}
    N1, N2 = heuristic_grid(physics, int(quantum.get("n_kicks", 500)), momentum_safety)
    source = "estimate"
    if isinstance(quantum.get("N1"), int):
        N1, source = quantum["N1"], "config"
    if isinstance(quantum.get("N2"), int):
        N2, source = quantum["N2"], "config"
    scheme = quantum.get("scheme", "auto")
    if scheme == "auto":
        scheme = "free" if physics.interaction_strength == 0.0 else "light_exact"
    return GridEstimate(int(N1), int(N2), scheme, source)


def quantum_mem_estimate_mb(cell_config: Mapping[str, Any], ranks: int,
                            settings: Mapping[str, Any] | None = None) -> float:
    """Unclipped memory estimate (MB) of a quantum cell on ``ranks`` ranks."""
    s = {**MEMORY_DEFAULTS, **(settings or {})}
    grid = estimate_grid(cell_config, float(s["momentum_safety"]))
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
