"""Exact Floquet map of one kicked particle in the well, and the random-kick model.

One period (MODEL.md sections 1 and 3): the kick ``exp(-i K_t cos x / hbar)`` multiplies
the grid values, then free evolution over unit time multiplies each sine coefficient by
``exp(-i E_n / hbar)``.  With the state held as sine coefficients this is one DST pair per
kick.  Several states (realisations) are evolved together as the rows of a 2-D array.

Random kicks: ``K_t = K + dK_t`` with ``dK_t`` uniform in ``[-W, W]``, independent for every
kick and realisation.  Realisation ``r`` draws from ``numpy.random.SeedSequence(seed,
spawn_key=(r,))`` -- the ``r``-th child of ``SeedSequence(seed).spawn(...)`` -- so its kicks
depend only on ``(seed, r)``, never on how realisations are split among ranks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import basis
from .observables import tail_start

__all__ = [
    "realisation_rng",
    "kick_offsets",
    "OneParticleRun",
    "floquet_step",
    "run_one_particle",
]


def realisation_rng(seed: int, r: int) -> np.random.Generator:
    """Generator of realisation ``r``: child ``r`` of ``SeedSequence(seed)``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(r),)))


def kick_offsets(seed: int, realisations: Sequence[int], n_kicks: int, W: float) -> np.ndarray:
    """``dK[i, t-1]``: offset of kick ``t = 1..n_kicks`` in realisation ``realisations[i]``.

    Uniform in ``[-W, W]``; all zeros when ``W == 0`` (the deterministic map).
    """
    out = np.zeros((len(realisations), n_kicks))
    if W != 0.0:
        for i, r in enumerate(realisations):
            out[i] = realisation_rng(seed, r).uniform(-W, W, size=n_kicks)
    return out


def floquet_step(c: np.ndarray, kick: np.ndarray, free: np.ndarray, workers: int | None = None) -> np.ndarray:
    """One period on sine coefficients ``c`` (last axis): kick on the grid, then free phases.

    ``kick`` is ``exp(-i K cos x / hbar)`` on the grid (broadcast against ``c``), ``free`` is
    ``exp(-i E_n / hbar)``.  Returns the new coefficients (``c`` may be overwritten).
    """
    g = basis.dst_up(c, axis=-1, workers=workers)
    g *= kick
    c = basis.dst_down(g, axis=-1, workers=workers, overwrite_x=True)
    c *= free
    return c


@dataclass
class OneParticleRun:
    """Results of :func:`run_one_particle`, one row per realisation.

    ``p2[i, t]``: ``<p^2>`` after ``t`` kicks (``t = 0..n_kicks``); ``norm[i, t]``: ``sum |c|^2``;
    ``tail[i, t]``: probability in the top 5% of modes; ``distributions[t][i]``: ``P(n)``
    at each requested time; ``momenta``: ``p_n``; ``state``: final coefficients.
    """

    realisations: tuple
    p2: np.ndarray
    norm: np.ndarray
    tail: np.ndarray
    momenta: np.ndarray
    distributions: dict = field(default_factory=dict)
    state: np.ndarray | None = None


def run_one_particle(
    N: int,
    *,
    K: float,
    hbar: float,
    n_kicks: int,
    L: float = np.pi,
    mass: float = 1.0,
    W: float = 0.0,
    seed: int = 0,
    realisations: Sequence[int] = (0,),
    record_times: Sequence[int] = (),
    c0: np.ndarray | None = None,
    workers: int | None = None,
) -> OneParticleRun:
    """Evolve the given realisations over ``n_kicks`` periods of the (random-)kick map.

    The initial state is the ground state unless ``c0`` (sine coefficients, length ``N``)
    is given.  Observables are recorded at every integer ``t``; ``P(n)`` at ``record_times``.
    """
    realisations = tuple(int(r) for r in realisations)
    R = len(realisations)
    x = basis.grid(N, L)
    cosx = np.cos(x)
    p = basis.momenta(N, L, hbar)
    psq = p * p
    free = basis.free_phase(N, L, hbar, mass, 1.0)
    base_kick = np.exp(-1j * (K / hbar) * cosx)
    dK = kick_offsets(seed, realisations, n_kicks, W)
    random = W != 0.0
    c = np.empty((R, N), dtype=np.complex128)
    c[:] = basis.ground_state(N) if c0 is None else np.asarray(c0, dtype=np.complex128)
    record = set(int(t) for t in record_times)
    for t in record:
        if not 0 <= t <= n_kicks:
            raise ValueError(f"record time {t} outside 0..{n_kicks}")
    i_tail = tail_start(N)
    p2 = np.empty((R, n_kicks + 1))
    norm = np.empty((R, n_kicks + 1))
    tail = np.empty((R, n_kicks + 1))
    dists: dict[int, np.ndarray] = {}

    def observe(t: int) -> None:
        P = c.real**2 + c.imag**2
        p2[:, t] = P @ psq
        norm[:, t] = P.sum(axis=1)
        tail[:, t] = P[:, i_tail:].sum(axis=1)
        if t in record:
            dists[t] = P.copy()

    observe(0)
    for t in range(1, n_kicks + 1):
        if random:
            kick = base_kick * np.exp(-1j / hbar * dK[:, t - 1, None] * cosx)
        else:
            kick = base_kick
        c = floquet_step(c, kick, free, workers)
        observe(t)
    return OneParticleRun(realisations, p2, norm, tail, p, dists, c)
