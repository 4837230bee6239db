"""The two-particle quantum run: resolution, MPI slabs, observables, guards, checkpoints.

Drives the propagators of :mod:`.two_particle` over ``n_kicks`` periods on the
state split into row slabs along ``x1`` (one slab per rank), records the
observables at every integer ``t``, stops with a :class:`GuardError` naming the
cell when a guard trips, and checkpoints every ``checkpoint_every`` kicks.  A
run resumed from its checkpoint continues bit for bit as if never stopped.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import checkpoint, limits, parallel, stopping
from ..analysis import diffusion_estimates
from ..driver import Observer, Stopwatch, evolve
from ..errors import GuardError
from ..params import ConfigError, RunConfig
from ..progress import Progress
from .resolution import ResolvedNumerics, resolve
from .observables import check_guards, two_particle_observables
from .selfcheck import SelfCheck, run_self_check
from .two_particle import SerialTransforms, TwoParticleSystem, initial_state, make_propagator

#: the series recorded at every integer t (and kept in checkpoints)
SERIES = ("p1_sq", "p2_sq", "E2", "purity", "norm", "tail1", "tail2")


def make_transforms(lay: parallel.Layout, N1: int, N2: int, workers: int, fft: str = "auto"):
    if lay.size == 1:
        return SerialTransforms(N1, N2, workers=workers, fft=fft)
    from .slab import SlabTransforms

    return SlabTransforms(N1, N2, comm=lay.comm, workers=workers, fft=fft)


@dataclass
class QuantumRun:
    """What a quantum run produced (series on every rank; distributions on rank 0)."""

    config: RunConfig
    label: str
    resolution: ResolvedNumerics
    t: np.ndarray
    series: dict
    momenta1: np.ndarray
    distributions: dict = field(default_factory=dict)
    n_ranks: int = 1
    n_threads: int = 1
    wall_time_s: float = 0.0
    seconds_per_kick: float = 0.0
    resumed_from: int = -1
    estimates: dict = field(default_factory=dict)
    self_check: SelfCheck | None = None

    @property
    def Dq(self) -> float:
        return self.estimates["D"]


#: quantum keys a checkpoint may be continued under with other values (they change no state)
_FREE_KEYS = ("n_kicks", "checkpoint_every", "snapshot_times", "fit_window", "error_window",
              "convergence_kicks", "convergence_tol_p1", "convergence_tol_purity")


def _config_for_checkpoint(config: RunConfig, res: ResolvedNumerics) -> dict:
    """What must match for a checkpoint to be continued (n_kicks may grow).  ``res`` is the
    resolution the run uses: its substeps are the ones the pilot self-check accepted."""
    quantum = {k: v for k, v in config.as_dict()["quantum"].items() if k not in _FREE_KEYS}
    return {"physics": config.as_dict()["physics"], "quantum": quantum, "resolution": res.as_dict()}


def _mismatch(saved: dict, wanted: dict, prefix: str = "") -> str | None:
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _mismatch(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}: checkpoint has {a!r}, this run {b!r}"
    return None


def propagator_for(system: TwoParticleSystem, tr, res: ResolvedNumerics):
    """The propagator of a run at the resolution ``res`` (the run, its pilot, its convergence check)."""
    return make_propagator(system, tr, res.scheme, res.substeps, order=res.order)


def saved_self_check(path: str | Path | None, comm) -> SelfCheck | None:
    """Collective: the pilot record of the checkpoint at ``path`` (None if absent or unreadable)."""
    text = None
    if comm.rank == 0 and path is not None and Path(path).exists() and checkpoint.inspect(path) is None:
        try:
            text = checkpoint.load(path, 0, 0)[4].get("self_check_json")
        except (OSError, KeyError, ValueError):
            text = None
    text = comm.bcast(text, root=0)
    try:
        return SelfCheck.from_json(text) if text else None
    except (ValueError, TypeError):
        return None


def accepted_resolution(config: RunConfig, res: ResolvedNumerics, record: SelfCheck | None) -> ResolvedNumerics:
    """``res`` with the substeps of a pilot ``record`` that started from ``res``'s substeps."""
    if record is None or record.mode == "off" or record.substeps_start != res.substeps:
        return res
    return dataclasses.replace(res, substeps=int(record.substeps))


def self_check(config: RunConfig, res: ResolvedNumerics, system, tr, lay: parallel.Layout,
               label: str) -> tuple[ResolvedNumerics, SelfCheck]:
    """Collective: the pilot of a fresh run; ``(resolution the run uses, its record)``."""
    record = run_self_check(
        config.quantum, res.substeps, res.scheme, config.quantum.substeps is not None, system, tr, lay.comm,
        label, lambda S: propagator_for(system, tr, dataclasses.replace(res, substeps=S)))
    return accepted_resolution(config, res, record), record


def _resume(path: str | Path, tr, lay: parallel.Layout, identity: dict, qn, label: str):
    """``(state rows, t, series)`` from a sound checkpoint at ``path``; None to start afresh.

    Collective.  A checkpoint of other parameters is refused (ConfigError); one that cannot be
    read back, or whose state is not normalised, is moved aside with a warning and the run
    starts from t = 0.
    """
    problem = None
    if lay.is_root and Path(path).exists():
        problem = checkpoint.inspect(path, SERIES) or ""
    problem = lay.comm.bcast(problem, root=0)
    if problem is None:
        return None  # no checkpoint: a fresh start
    loaded = None
    if not problem:
        try:
            loaded = checkpoint.load(path, tr.row_start, tr.row_stop)
        except (OSError, KeyError, ValueError) as exc:
            problem = f"rank {lay.rank} cannot read its rows: {str(exc).splitlines()[0][:200]}"
        problem = next((p for p in lay.comm.allgather(problem) if p), "")
    if not problem:
        state, t0, saved, saved_series, _ = loaded
        mismatch = _mismatch(saved, identity)  # the same file on every rank: the same answer
        if mismatch:
            raise ConfigError(f"cannot resume from {path}: {mismatch}")
        if t0 > qn.n_kicks:
            raise ConfigError(f"quantum.n_kicks: checkpoint {path} is at t={t0}, beyond n_kicks = {qn.n_kicks}")
        rows_ok = state.shape == (tr.row_stop - tr.row_start, tr.N2)
        total = tr.allreduce(np.array([np.vdot(state, state).real if rows_ok else np.nan, float(rows_ok)]))
        if total[1] != lay.size:
            problem = "its state is not of the grid its parameters name"
        elif not abs(total[0] - 1.0) <= max(100 * qn.norm_tol, 1e-9):
            problem = f"its state is not normalised (norm {total[0]:.6g})"
    if problem:
        if lay.is_root:
            aside = checkpoint.move_aside(path)
            print(f"[{label}] warning: checkpoint {path} is unusable ({problem}); moved aside to "
                  f"{aside.name}; starting from t = 0", file=sys.stderr, flush=True)
        lay.comm.Barrier()
        return None
    if lay.is_root:
        print(f"[{label}] resuming from {path} at t = {t0}", flush=True)
    return np.ascontiguousarray(state), t0, saved_series


class _Observables(Observer):
    """The series at every integer t (``series[name][t]``), the guards, and P1 at the
    snapshot times (``distributions``, on rank 0)."""

    def __init__(self, series: dict, distributions: dict, system: TwoParticleSystem, tr,
                 lay: parallel.Layout, label: str, qn, scheme: str):
        self.series, self.distributions = series, distributions
        self.system, self.tr, self.lay, self.label, self.qn, self.scheme = system, tr, lay, label, qn, scheme
        self.p1, self.p2 = system.p1(), system.p2()

    def start(self, t0: int, c: np.ndarray) -> None:
        if t0 == 0:
            self.after_kick(0, c)

    def after_kick(self, t: int, c: np.ndarray) -> None:
        qn, tr = self.qn, self.tr
        obs = two_particle_observables(c, self.p1, self.p2, self.system.mass1, self.system.mass2,
                                       row_start=tr.row_start, reduce=tr.allreduce)
        for name, key in (("p1_sq", "p1sq"), ("p2_sq", "p2sq"), ("E2", "E2"), ("purity", "purity"),
                          ("norm", "norm"), ("tail1", "tail1"), ("tail2", "tail2")):
            self.series[name][t] = obs[key]
        check_guards(self.label, t, obs["norm"], {"particle 1": obs["tail1"], "particle 2": obs["tail2"]},
                     norm_tol=qn.norm_tol, tail_tol=qn.tail_tol, scheme=self.scheme)
        if t in qn.snapshot_times:
            P1 = parallel.gather_blocks(obs["P1_local"], self.lay.comm)
            if self.lay.is_root:
                self.distributions[t] = P1


class _Checkpoints(Observer):
    """``save(t, state)`` every ``checkpoint_every`` kicks and after the last one (a failure
    while writing the result loses nothing), and when the run stops on a signal."""

    def __init__(self, path: str | Path, every: int, n_kicks: int, save):
        self.path, self.every, self.n_kicks, self.save = path, every, n_kicks, save
        self.saved_at = 0

    def start(self, t0: int, c: np.ndarray) -> None:
        self.saved_at = t0

    def after_kick(self, t: int, c: np.ndarray) -> None:
        if t % self.every == 0 or t == self.n_kicks:
            self.save(t, c)
            self.saved_at = t

    def on_stop(self, t: int, c: np.ndarray) -> str:
        if self.saved_at != t:
            self.save(t, c)
        return f", checkpoint {self.path} written"


def _starting_point(config: RunConfig, res: ResolvedNumerics, system, tr, lay: parallel.Layout,
                    label: str, checkpoint_path, resume: bool, series: dict, distributions: dict):
    """Collective: ``(state, t0, resolution, pilot record)`` -- from the checkpoint when
    resuming from a sound one (its series copied into ``series`` and ``distributions``), else
    the initial state at t = 0 after the pilot self-check."""
    qn = config.quantum
    if resume and checkpoint_path is not None:
        # a resumed run continues at the substeps its pilot accepted, without a second pilot
        record = saved_self_check(checkpoint_path, lay.comm)
        resumed_res = accepted_resolution(config, res, record)
        found = _resume(checkpoint_path, tr, lay, _config_for_checkpoint(config, resumed_res), qn, label)
        if found is not None:
            c, t0, saved_series = found
            if record is not None:
                record.from_checkpoint = True
            for name in SERIES:
                series[name][: t0 + 1] = saved_series[name][: t0 + 1]
            for name, values in saved_series.items():
                if name.startswith("P1_t"):
                    distributions[int(name[4:])] = values
            return c, t0, resumed_res, record
    c = initial_state(tr)
    with stopping.deferred_signals():  # the pilot polls the stop flag like the run's loop
        res, record = self_check(config, res, system, tr, lay, label)
    if lay.is_root and not record.passed:  # mode 'report' (substeps set by hand): S is kept
        print(f"[{label}] warning: {record.text()}", file=sys.stderr, flush=True)
    elif lay.is_root and record.substeps != record.substeps_start:
        print(f"[{label}] self-check raised the substeps from {record.substeps_start} to {record.substeps}",
              flush=True)
    return c, 0, res, record


def run_quantum(config: RunConfig, label: str = "quantum", progress: str = "auto",
                lay: parallel.Layout | None = None, n_threads: int | None = None,
                checkpoint_path: str | Path | None = None, resume: bool = False) -> QuantumRun:
    """Evolve the two-particle state of ``config`` for ``quantum.n_kicks`` periods."""
    lay = lay or parallel.layout()
    ph, qn = config.physics, config.quantum
    res = resolve(config)
    limits.check_quantum(config, label, lay)  # before anything of the run's size is allocated
    n_threads = parallel.set_threads(n_threads or parallel.default_threads(lay, share_cores=False))
    start_clock = time.perf_counter()

    system = TwoParticleSystem.from_physics(ph, res.N1, res.N2)
    tr = make_transforms(lay, res.N1, res.N2, n_threads, fft=qn.fft)
    n_t = qn.n_kicks + 1
    series = {name: np.full(n_t, np.nan) for name in SERIES}
    distributions: dict[int, np.ndarray] = {}
    c, t0, res, record = _starting_point(config, res, system, tr, lay, label, checkpoint_path, resume,
                                         series, distributions)
    prop = propagator_for(system, tr, res)
    identity = _config_for_checkpoint(config, res)
    ckpt_attrs = {"label": label, **({"self_check_json": record.as_json()} if record is not None else {})}

    def save_checkpoint(t: int, c: np.ndarray) -> None:
        saved = {name: values[: t + 1] for name, values in series.items()}
        saved.update({f"P1_t{k}": v for k, v in distributions.items()})
        checkpoint.save(checkpoint_path, lay.comm, c, tr.row_start, (res.N1, res.N2), t,
                        identity, saved if lay.is_root else None, ckpt_attrs)

    observers: list[Observer] = [_Observables(series, distributions, system, tr, lay, label, qn, res.scheme)]
    if checkpoint_path is not None:
        observers.append(_Checkpoints(checkpoint_path, qn.checkpoint_every, qn.n_kicks, save_checkpoint))
    clock = Stopwatch()
    observers += [Progress(qn.n_kicks, label, mode=progress, enabled=lay.is_root), clock]
    # every rank stops after the same kick
    evolve(lambda t, c: prop.period(c), c, t0, qn.n_kicks, observers,
           stop=lambda t: stopping.stop_requested(lay.comm))

    t_axis = np.arange(n_t, dtype=float)
    run = QuantumRun(
        config=config, label=label, resolution=res, t=t_axis, series=series, momenta1=system.p1(),
        distributions=distributions if lay.is_root else {}, n_ranks=lay.size, n_threads=n_threads,
        wall_time_s=time.perf_counter() - start_clock, seconds_per_kick=clock.seconds_per_kick(qn.n_kicks),
        resumed_from=t0 or -1, self_check=record,
    )
    run.estimates = diffusion_estimates(t_axis, series["p1_sq"], None, qn.fit_window,
                                        error_window=qn.error_window)
    run.wall_time_s = float(parallel.max_to_all(np.array([run.wall_time_s]), lay.comm)[0])
    return run


__all__ = ["ResolvedNumerics", "resolve", "QuantumRun", "run_quantum", "GuardError", "SERIES"]
