"""The two-particle quantum run: resolution, MPI slabs, observables, guards, checkpoints.

Drives the propagators of :mod:`.two_particle` over ``n_kicks`` periods on the
state split into row slabs along ``x1`` (one slab per rank), records the
observables at every integer ``t``, stops with a :class:`GuardError` naming the
cell when a guard trips, and checkpoints every ``checkpoint_every`` kicks.  A
run resumed from its checkpoint continues bit for bit as if never stopped.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import checkpoint, limits, parallel, stopping
from ..analysis import diffusion_estimates
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
_FREE_KEYS = ("n_kicks", "checkpoint_every", "snapshot_times", "fit_window",
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
    p1, p2 = system.p1(), system.p2()

    n_t = qn.n_kicks + 1
    series = {name: np.full(n_t, np.nan) for name in SERIES}
    distributions: dict[int, np.ndarray] = {}
    t0 = 0
    c = initial_state(tr)
    found, record = None, None
    if resume and checkpoint_path is not None:
        # a resumed run continues at the substeps its pilot accepted, without a second pilot
        record = saved_self_check(checkpoint_path, lay.comm)
        resumed_res = accepted_resolution(config, res, record)
        found = _resume(checkpoint_path, tr, lay, _config_for_checkpoint(config, resumed_res), qn, label)
        if found is not None:
            c, t0, saved_series = found
            res = resumed_res
            if record is not None:
                record.from_checkpoint = True
            for name in SERIES:
                series[name][: t0 + 1] = saved_series[name][: t0 + 1]
            for name, values in saved_series.items():
                if name.startswith("P1_t"):
                    distributions[int(name[4:])] = values
    if found is None:
        with stopping.deferred_signals():  # the pilot polls the stop flag like the run's loop
            res, record = self_check(config, res, system, tr, lay, label)
        if lay.is_root and not record.passed:  # mode 'report' (substeps set by hand): S is kept
            print(f"[{label}] warning: {record.text()}", file=sys.stderr, flush=True)
        elif lay.is_root and record.substeps != record.substeps_start:
            print(f"[{label}] self-check raised the substeps from {record.substeps_start} to {record.substeps}",
                  flush=True)
    prop = propagator_for(system, tr, res)
    identity = _config_for_checkpoint(config, res)
    ckpt_attrs = {"label": label, **({"self_check_json": record.as_json()} if record is not None else {})}

    def observe(t: int, c: np.ndarray) -> None:
        obs = two_particle_observables(c, p1, p2, system.mass1, system.mass2,
                                       row_start=tr.row_start, reduce=tr.allreduce)
        for name, key in (("p1_sq", "p1sq"), ("p2_sq", "p2sq"), ("E2", "E2"), ("purity", "purity"),
                          ("norm", "norm"), ("tail1", "tail1"), ("tail2", "tail2")):
            series[name][t] = obs[key]
        check_guards(label, t, obs["norm"], {"particle 1": obs["tail1"], "particle 2": obs["tail2"]},
                     norm_tol=qn.norm_tol, tail_tol=qn.tail_tol, scheme=res.scheme)
        if t in qn.snapshot_times:
            P1 = parallel.gather_blocks(obs["P1_local"], lay.comm)
            if lay.is_root:
                distributions[t] = P1

    def save_checkpoint(t: int, c: np.ndarray) -> None:
        saved = {name: values[: t + 1] for name, values in series.items()}
        saved.update({f"P1_t{k}": v for k, v in distributions.items()})
        checkpoint.save(checkpoint_path, lay.comm, c, tr.row_start, (res.N1, res.N2), t,
                        identity, saved if lay.is_root else None, ckpt_attrs)

    if t0 == 0:
        observe(0, c)
    kick_clock = time.perf_counter()
    saved_at = t0
    with Progress(qn.n_kicks, label, mode=progress, enabled=lay.is_root) as bar, stopping.deferred_signals():
        bar.update(t0)
        for t in range(t0 + 1, n_t):
            c = prop.period(c)
            observe(t, c)
            # the last kick is checkpointed too: a failure while writing the result loses nothing
            if checkpoint_path is not None and (t % qn.checkpoint_every == 0 or t == qn.n_kicks):
                save_checkpoint(t, c)
                saved_at = t
            bar.update()
            signum = stopping.stop_requested(lay.comm)  # every rank stops after the same kick
            if signum:
                if checkpoint_path is not None and saved_at != t:
                    save_checkpoint(t, c)
                where = f"at t={t}" + (f", checkpoint {checkpoint_path} written" if checkpoint_path else "")
                raise stopping.Interrupted(signum, where)
    kicks_done = qn.n_kicks - t0
    per_kick = (time.perf_counter() - kick_clock) / kicks_done if kicks_done else math.nan

    t_axis = np.arange(n_t, dtype=float)
    run = QuantumRun(
        config=config, label=label, resolution=res, t=t_axis, series=series, momenta1=p1,
        distributions=distributions if lay.is_root else {}, n_ranks=lay.size, n_threads=n_threads,
        wall_time_s=time.perf_counter() - start_clock, seconds_per_kick=per_kick, resumed_from=t0 or -1,
        self_check=record,
    )
    run.estimates = diffusion_estimates(t_axis, series["p1_sq"], np.zeros(n_t), qn.fit_window)
    run.wall_time_s = float(parallel.max_to_all(np.array([run.wall_time_s]), lay.comm)[0])
    return run


__all__ = ["ResolvedNumerics", "resolve", "QuantumRun", "run_quantum", "GuardError", "SERIES"]
