"""The one-particle random-kick model (paper Fig. 3) as a run: realisations over MPI ranks.

Kick ``t`` of realisation ``r`` has strength ``K1 + dK``, ``dK`` uniform in ``[-W, W]``
drawn from a generator that depends on ``(seed, r)`` alone
(:func:`.one_particle.realisation_rng`), so realisations, and their average, do not
depend on how they are split among ranks.  Rank 0 gathers every realisation's
``<p^2>(t)`` and averages them in realisation order.  The kicks are driven by
:func:`kickedpair.driver.evolve`; the result file is written by :mod:`.noise_output`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import limits, parallel
from ..analysis import diffusion_estimates
from ..driver import Observer, evolve
from ..errors import GuardError
from ..params import ConfigError, RunConfig
from ..progress import Progress
from . import basis, resolution
from .observables import check_guards, tail_start
from .one_particle import floquet_step, kick_offsets


@dataclass
class NoiseRun:
    config: RunConfig
    label: str
    N: int
    t: np.ndarray
    p_sq: np.ndarray            # mean over realisations
    p_sq_sem: np.ndarray        # standard error of that mean
    p_sq_realisations: np.ndarray
    momenta: np.ndarray
    distributions: dict = field(default_factory=dict)  # t -> mean P(n)
    n_ranks: int = 1
    n_threads: int = 1
    wall_time_s: float = 0.0
    estimates: dict = field(default_factory=dict)


def _first_violation(norm, tail, norm_tol, tail_tol):
    """(t, realisation row, norm, tail) of the earliest guard violation on this rank, or None."""
    bad = ~(np.abs(norm - 1.0) <= norm_tol) | ~(tail <= tail_tol)
    if not bad.any():
        return None
    t = int(np.argmax(bad.any(axis=0)))
    i = int(np.argmax(bad[:, t]))
    return t, i, float(norm[i, t]), float(tail[i, t])


def grid_size(config: RunConfig) -> int:
    """The run's ``N``: ``noise.N``, or the one-particle reach rule for ``K1 + W``."""
    ph, nz = config.physics, config.noise
    if ph.hbar is None:
        raise ConfigError("physics.hbar: required for a quantum run, got None")
    return nz.N if nz.N is not None else resolution.one_particle_size(abs(ph.K1) + nz.W, ph.hbar, nz.n_kicks, ph.L)


class _Realisations:
    """Realisations ``lo..hi-1`` of the random-kick map, evolved together as the rows of one
    array (the arithmetic of :func:`.one_particle.run_one_particle`, one kick per call)."""

    def __init__(self, N: int, config: RunConfig, lo: int, hi: int, workers: int):
        ph, nz = config.physics, config.noise
        self.hbar, self.workers, self.random = ph.hbar, workers, nz.W != 0.0
        self.cosx = np.cos(basis.grid(N, ph.L))
        self.momenta = basis.momenta(N, ph.L, ph.hbar)
        self.free = basis.free_phase(N, ph.L, ph.hbar, 1.0, 1.0)
        self.base_kick = np.exp(-1j * (ph.K1 / ph.hbar) * self.cosx)
        self.dK = kick_offsets(nz.seed, range(lo, hi), nz.n_kicks, nz.W)
        self.state = np.empty((hi - lo, N), dtype=np.complex128)
        self.state[:] = basis.ground_state(N)

    def period(self, t: int, c: np.ndarray) -> np.ndarray:
        kick = self.base_kick
        if self.random:
            kick = self.base_kick * np.exp(-1j / self.hbar * self.dK[:, t - 1, None] * self.cosx)
        return floquet_step(c, kick, self.free, self.workers)


class _Series(Observer):
    """Per realisation at every integer t: ``p2`` (``<p^2>``), ``norm``, ``tail``; the summed
    ``P(n)`` over this rank's realisations at the snapshot times (``distributions``)."""

    def __init__(self, n_rows: int, N: int, n_kicks: int, momenta: np.ndarray, times):
        self.psq, self.i_tail, self.times = momenta * momenta, tail_start(N), set(times)
        self.p2, self.norm, self.tail = (np.empty((n_rows, n_kicks + 1)) for _ in range(3))
        self.distributions: dict[int, np.ndarray] = {}

    def start(self, t0: int, c: np.ndarray) -> None:
        self.after_kick(t0, c)

    def after_kick(self, t: int, c: np.ndarray) -> None:
        P = c.real**2 + c.imag**2
        self.p2[:, t] = P @ self.psq
        self.norm[:, t] = P.sum(axis=1)
        self.tail[:, t] = P[:, self.i_tail:].sum(axis=1)
        if t in self.times:
            self.distributions[t] = P.sum(axis=0)


def run_noise(config: RunConfig, label: str = "noise", progress: str = "auto",
              lay: parallel.Layout | None = None, n_threads: int | None = None) -> NoiseRun:
    lay = lay or parallel.layout()
    nz = config.noise
    N = grid_size(config)
    limits.check_noise(config, label, lay, N)  # before anything of the run's size is allocated
    n_threads = parallel.set_threads(n_threads or parallel.default_threads(lay, share_cores=False))
    start = time.perf_counter()
    lo, hi = parallel.block_range(nz.realisations, lay.size, lay.rank)
    for t in nz.snapshot_times:
        if not 0 <= t <= nz.n_kicks:
            raise ValueError(f"record time {t} outside 0..{nz.n_kicks}")
    kicks = _Realisations(N, config, lo, hi, n_threads)
    run = _Series(hi - lo, N, nz.n_kicks, kicks.momenta, nz.snapshot_times)
    # no per-kick collective: a signal ends each rank where it is (kickedpair.stopping)
    evolve(kicks.period, kicks.state, 0, nz.n_kicks,
           [run, Progress(nz.n_kicks, label, mode=progress, enabled=lay.is_root)])
    _check_guards(run, label, nz, lay, hi > lo)
    out = NoiseRun(config=config, label=label, N=N, t=np.arange(nz.n_kicks + 1, dtype=float),
                   p_sq=np.zeros(0), p_sq_sem=np.zeros(0), p_sq_realisations=np.zeros((0, nz.n_kicks + 1)),
                   momenta=kicks.momenta, n_ranks=lay.size, n_threads=n_threads)
    _gather(out, run, lay, hi > lo)
    out.estimates = diffusion_estimates(out.t, out.p_sq, out.p_sq_sem, nz.fit_window)
    out.wall_time_s = float(parallel.max_to_all(np.array([time.perf_counter() - start]), lay.comm)[0])
    return out


def _check_guards(run: _Series, label: str, nz, lay: parallel.Layout, any_rows: bool) -> None:
    """Collective: the earliest guard violation of any realisation on any rank ends the run."""
    found = _first_violation(run.norm, run.tail, nz.norm_tol, nz.tail_tol) if any_rows else None
    everywhere = [f for f in lay.comm.allgather(found) if f is not None]
    if everywhere:
        t, _, norm, tail = min(everywhere)
        check_guards(label, t, norm, {"particle 1": tail}, norm_tol=nz.norm_tol, tail_tol=nz.tail_tol)
        raise GuardError(f"cell {label}: guard tripped at t={t}")  # pragma: no cover - check_guards raised


def _gather(out: NoiseRun, run: _Series, lay: parallel.Layout, any_rows: bool) -> None:
    """Collective: the mean ``<p^2>`` over realisations (in realisation order, on rank 0, then
    on every rank), its standard error, and the mean ``P(n)`` at the snapshot times."""
    nz = out.config.noise
    n_t = nz.n_kicks + 1
    rows = parallel.gather_blocks(run.p2.ravel(), lay.comm)
    for t in sorted(nz.snapshot_times):
        local = run.distributions[t] if any_rows else np.zeros(out.N)
        out.distributions[t] = parallel.sum_to_all(local, lay.comm) / nz.realisations
    p_sq, p_sq_sem = np.zeros(n_t), np.zeros(n_t)
    if lay.is_root:
        per = rows.reshape(nz.realisations, n_t)
        out.p_sq_realisations = per
        p_sq = per.mean(axis=0)
        if nz.realisations > 1:
            p_sq_sem = per.std(axis=0, ddof=1) / np.sqrt(nz.realisations)
    out.p_sq = lay.comm.bcast(p_sq, root=0)
    out.p_sq_sem = lay.comm.bcast(p_sq_sem, root=0)


def check_noise_convergence(config: RunConfig, label: str = "noise", lay: parallel.Layout | None = None,
                            n_threads: int | None = None):
    """The random-kick run's grid check: every realisation over the first
    ``noise.convergence_kicks`` kicks on the run's grid and on the doubled one
    (``N -> 2 (N + 1) - 1``); the map is exact in time, so the grid is the only numerical
    parameter.  Returns a :class:`~.convergence.ConvergenceReport` whose ``p1_sq`` is the
    particle's ``<p^2>`` (``p2_sq`` and ``purity`` do not apply: NaN)."""
    import dataclasses

    from .convergence import ConvergenceReport, max_rel_change
    from .resolution import ResolvedNumerics

    nz = config.noise
    N = grid_size(config)
    n = min(nz.n_kicks, nz.convergence_kicks)

    def run(size: int) -> NoiseRun:
        short = dataclasses.replace(nz, N=size, n_kicks=n, snapshot_times=())
        return run_noise(dataclasses.replace(config, noise=short), label=label, progress="none",
                         lay=lay, n_threads=n_threads)

    base, double = run(N), run(2 * (N + 1) - 1)
    change = max_rel_change(base.p_sq, double.p_sq)
    nan = float("nan")
    return ConvergenceReport(
        label=label, n_kicks=n, base=ResolvedNumerics(N, 1, 1, "exact map"),
        variants={"double_grid": ResolvedNumerics(double.N, 1, 1, "exact map")},
        changes={"double_grid": {"p1_sq": change, "p2_sq": nan, "purity": nan}},
        seconds={"double_grid": double.wall_time_s})
