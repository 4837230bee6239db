"""The one-particle random-kick model (paper Fig. 3) as a run: realisations over MPI ranks.

Kick ``t`` of realisation ``r`` has strength ``K1 + dK``, ``dK`` uniform in ``[-W, W]``
drawn from a generator that depends on ``(seed, r)`` alone
(:func:`.one_particle.realisation_rng`), so realisations, and their average, do not
depend on how they are split among ranks.  Rank 0 gathers every realisation's
``<p^2>(t)`` and averages them in realisation order.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import h5py
import numpy as np

from .. import limits, parallel
from ..analysis import diffusion_estimates
from ..errors import GuardError
from ..io import write_atomic, write_run_header, write_snapshots
from ..params import ConfigError, RunConfig
from . import resolution
from .observables import check_guards
from .one_particle import run_one_particle


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


def run_noise(config: RunConfig, label: str = "noise", progress: str = "auto",
              lay: parallel.Layout | None = None, n_threads: int | None = None) -> NoiseRun:
    lay = lay or parallel.layout()
    ph, nz = config.physics, config.noise
    N = grid_size(config)
    limits.check_noise(config, label, lay, N)  # before anything of the run's size is allocated
    n_threads = parallel.set_threads(n_threads or parallel.default_threads(lay, share_cores=False))
    start = time.perf_counter()
    lo, hi = parallel.block_range(nz.realisations, lay.size, lay.rank)
    run = run_one_particle(N, K=ph.K1, hbar=ph.hbar, n_kicks=nz.n_kicks, L=ph.L, W=nz.W, seed=nz.seed,
                           realisations=range(lo, hi), record_times=nz.snapshot_times, workers=n_threads)
    found = _first_violation(run.norm, run.tail, nz.norm_tol, nz.tail_tol) if hi > lo else None
    everywhere = [f for f in lay.comm.allgather(found) if f is not None]
    if everywhere:
        t, _, norm, tail = min(everywhere)
        check_guards(label, t, norm, {"particle 1": tail}, norm_tol=nz.norm_tol, tail_tol=nz.tail_tol)
        raise GuardError(f"cell {label}: guard tripped at t={t}")  # pragma: no cover - check_guards raised

    n_t = nz.n_kicks + 1
    rows = parallel.gather_blocks(run.p2.ravel(), lay.comm)
    dists = {}
    for t in sorted(nz.snapshot_times):
        local = run.distributions[t].sum(axis=0) if hi > lo else np.zeros(N)
        total = parallel.sum_to_all(local, lay.comm)
        dists[t] = total / nz.realisations
    out = NoiseRun(config=config, label=label, N=N, t=np.arange(n_t, dtype=float),
                   p_sq=np.zeros(n_t), p_sq_sem=np.zeros(n_t), p_sq_realisations=np.zeros((0, n_t)),
                   momenta=run.momenta, distributions=dists, n_ranks=lay.size, n_threads=n_threads)
    if lay.is_root:
        per = rows.reshape(nz.realisations, n_t)
        out.p_sq_realisations = per
        out.p_sq = per.mean(axis=0)
        if nz.realisations > 1:
            out.p_sq_sem = per.std(axis=0, ddof=1) / np.sqrt(nz.realisations)
    out.p_sq = lay.comm.bcast(out.p_sq, root=0)
    out.p_sq_sem = lay.comm.bcast(out.p_sq_sem, root=0)
    out.estimates = diffusion_estimates(out.t, out.p_sq, out.p_sq_sem, nz.fit_window)
    out.wall_time_s = float(parallel.max_to_all(np.array([time.perf_counter() - start]), lay.comm)[0])
    return out


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


def write_noise(path: str | os.PathLike, run: NoiseRun) -> None:
    """Layout: root attrs (kind='noise', label, D, D_err, N, provenance...), /params,
    /series/t, p_sq, p_sq_sem, p_sq_realisations, /estimates, /momenta, /distributions/t<T>/P."""

    def build(f: h5py.File) -> None:
        write_run_header(
            f, "noise", run.label, run.config.as_dict(), run.estimates,
            D=run.estimates["D"], D_err=run.estimates["D_err"], N=run.N,
            n_ranks=run.n_ranks, n_threads=run.n_threads, wall_time_s=run.wall_time_s)
        series = f.create_group("series")
        for name in ("t", "p_sq", "p_sq_sem", "p_sq_realisations"):
            series.create_dataset(name, data=getattr(run, name))
        f.create_dataset("momenta", data=run.momenta)
        write_snapshots(f.create_group("distributions"), {t: {"P": P} for t, P in run.distributions.items()})

    write_atomic(path, build)
