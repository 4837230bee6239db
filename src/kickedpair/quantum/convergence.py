"""Convergence check of a quantum cell: two stretches of the run, each evolved at the run's own
resolution, at twice its substeps and on doubled grids.

* ``start``: ``t = 0..convergence_kicks`` from the initial state (capped at ``n_kicks``);
* ``end`` (when the run's final checkpoint is given and the start stretch does not already
  cover the whole run, ``convergence_kicks < n_kicks``): ``convergence_kicks`` kicks onward from
  the checkpoint's state at ``t = n_kicks``.  On the doubled grids the state is embedded by
  zero-padding its sine coefficients, which is exact in the sine basis (the modes
  ``phi_n`` do not depend on ``N``): norm, ``<p1^2>`` and purity are unchanged.

The run's resolution is the one its pilot self-check accepted (:mod:`.selfcheck`): read from
the checkpoint's record, or found by running the same pilot when no checkpoint is given.
Reported per stretch and variant: the largest pointwise relative change over the stretch
(``t >= 1`` of it) of ``<p1^2>(t)``, ``<p2^2>(t)`` and the purity, and the largest absolute
change of the purity.  The verdict is ``'converged'`` when every relative change of
``<p1^2>`` is below ``quantum.convergence_tol_p1`` and every absolute change of the purity
below ``quantum.convergence_tol_purity``, else ``'not converged'``.  Doubling a grid keeps
``N + 1`` a power of two when it was one: ``N -> 2 (N + 1) - 1``.

The norm guard is checked at every step; the tail guard is not (a grid too small shows up as
a change on the doubled grid, and the largest tail of each variant is reported).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .. import checkpoint, limits, parallel
from ..driver import Observer, evolve
from ..errors import ConfigError
from ..params import RunConfig
from .evolution import (ResolvedNumerics, _config_for_checkpoint, _mismatch, accepted_resolution,
                        make_transforms, propagator_for, resolve, saved_self_check, self_check)
from .observables import check_guards, two_particle_observables
from .selfcheck import SelfCheck
from .sine_transforms import release_plans
from .two_particle import TwoParticleSystem, initial_state

OBSERVABLES = ("p1_sq", "p2_sq", "purity")
#: what each stretch reports per variant: relative changes of OBSERVABLES, absolute of the purity
CHANGES = OBSERVABLES + ("purity_abs",)
VERDICTS = ("converged", "not converged")


def double_size(N: int) -> int:
    return 2 * (N + 1) - 1


def _with(config: RunConfig, res: ResolvedNumerics, n_kicks: int, **changes) -> RunConfig:
    """The config of a variant: sizes and substeps explicit, no pilot of its own."""
    quantum = dataclasses.replace(
        config.quantum, n_kicks=n_kicks, N1=changes.get("N1", res.N1), N2=changes.get("N2", res.N2),
        substeps=changes.get("substeps", res.substeps), scheme=res.scheme, snapshot_times=(),
        self_check_kicks=0)
    return dataclasses.replace(config, quantum=quantum)


def max_rel_change(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|b - a| / |a|`` over ``t >= 1`` of two series on the same times."""
    scale = np.maximum(np.abs(a[1:]), 1e-300)
    return float(np.max(np.abs(b[1:] - a[1:]) / scale))


def max_abs_change(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|b - a|`` over ``t >= 1``."""
    return float(np.max(np.abs(b[1:] - a[1:])))


@dataclass
class Stretch:
    """One stretch: ``t = t0..t0 + n_kicks`` evolved at each variant's resolution."""

    name: str
    t0: int
    n_kicks: int
    variants: dict          # name -> ResolvedNumerics ('base' first)
    changes: dict           # name (not base) -> {CHANGES key: value}
    seconds: dict           # name -> wall time
    max_tail: dict          # name -> largest probability in the top 5% of either particle's modes


@dataclass
class ConvergenceReport:
    label: str
    n_kicks: int
    base: ResolvedNumerics
    variants: dict          # name -> ResolvedNumerics (the start stretch)
    changes: dict           # name -> {observable: max relative change} (the start stretch)
    seconds: dict           # name -> wall time
    stretches: dict = field(default_factory=dict)   # 'start', 'end' -> Stretch (quantum)
    tol_p1: float | None = None
    tol_purity: float | None = None
    self_check: SelfCheck | None = None
    run_n_kicks: int | None = None  # the run's length: the start stretch covers it all when n_kicks >= it

    @property
    def whole_run(self) -> bool:
        return self.run_n_kicks is not None and self.n_kicks >= self.run_n_kicks

    def failures(self) -> list[str]:
        """Every change above its tolerance (NaN counts as above), worst first per stretch."""
        out = []
        for s in self.stretches.values():
            for name, ch in s.changes.items():
                if not ch["p1_sq"] <= self.tol_p1:
                    out.append(f"{s.name} {name}: <p1^2> {ch['p1_sq']:.2e} > {self.tol_p1:g}")
                if not ch["purity_abs"] <= self.tol_purity:
                    out.append(f"{s.name} {name}: purity {ch['purity_abs']:.2e} > {self.tol_purity:g}")
        return out

    @property
    def verdict(self) -> str:
        return "not converged" if self.failures() else "converged"

    def text(self) -> str:
        lines = [f"[{self.label}] convergence over t = 1..{self.n_kicks}: largest relative change vs "
                 f"N1 x N2 = {self.base.N1} x {self.base.N2}, {self.base.substeps} substeps ({self.base.scheme})"]
        if not self.stretches:
            for name, res in self.variants.items():
                ch = self.changes[name]
                lines.append(f"  {name:<12} N1 x N2 = {res.N1} x {res.N2}, {res.substeps} substeps: "
                             + "  ".join(f"{k} {v:.2e}" for k, v in ch.items())
                             + f"   ({self.seconds[name]:.1f} s)")
            return "\n".join(lines)
        if self.self_check is not None and self.self_check.mode != "off":
            lines[0] += f" (self-check: {self.self_check.substeps_start} -> {self.self_check.substeps})"
        for s in self.stretches.values():
            lines.append(f"  {s.name} stretch, t = {s.t0}..{s.t0 + s.n_kicks} (largest tail of the base "
                         f"{s.max_tail['base']:.1e}, {s.seconds['base']:.1f} s):")
            for name, ch in s.changes.items():
                res = s.variants[name]
                lines.append(f"    {name:<12} N1 x N2 = {res.N1} x {res.N2}, {res.substeps} substeps: "
                             + "  ".join(f"{k} {ch[k]:.2e}" for k in OBSERVABLES)
                             + f"  purity (absolute) {ch['purity_abs']:.2e}   ({s.seconds[name]:.1f} s)")
        if self.whole_run:
            lines.append(f"  the start stretch covers the whole run (t = 0..{self.run_n_kicks}): no end stretch")
        elif "end" not in self.stretches:
            lines.append("  end stretch not checked (give the run's final checkpoint with --checkpoint)")
        bad = self.failures()
        lines.append(f"[{self.label}] verdict: {self.verdict} (tolerances: <p1^2> {self.tol_p1:g} relative, "
                     f"purity {self.tol_purity:g} absolute, over the {' and '.join(self.stretches)} "
                     f"stretch{'es' if len(self.stretches) > 1 else ''})" + (": " + "; ".join(bad) if bad else ""))
        return "\n".join(lines)

    def as_dict(self) -> dict:
        out = {"n_kicks": self.n_kicks, **{f"base_{k}": v for k, v in self.base.as_dict().items()}}
        for name, ch in self.changes.items():
            for k in OBSERVABLES:
                out[f"{name}_{k}"] = ch[k]
        if not self.stretches:
            return out
        out.update(stretches=",".join(self.stretches), whole_run=self.whole_run, tol_p1=self.tol_p1,
                   tol_purity=self.tol_purity,
                   verdict=self.verdict, verdict_reason="; ".join(self.failures()))
        for s in self.stretches.values():
            out[f"{s.name}_t0"], out[f"{s.name}_n_kicks"] = s.t0, s.n_kicks
            for name, seconds in s.seconds.items():
                out[f"{s.name}_{name}_seconds"] = seconds
                out[f"{s.name}_{name}_max_tail"] = s.max_tail[name]
            for name, ch in s.changes.items():
                for k, v in ch.items():
                    out[f"{s.name}_{name}_{k}"] = v
        if self.self_check is not None:
            out.update(self_check_mode=self.self_check.mode, self_check_substeps_start=self.self_check.substeps_start,
                       self_check_substeps=self.self_check.substeps)
        return out


# --------------------------------------------------------------------------- states
def padded_rows(path, tr) -> tuple[np.ndarray, int]:
    """This rank's rows of the checkpoint's state embedded in the ``tr.N1 x tr.N2`` sine basis
    (rows and columns beyond the saved grid are zeros), and the checkpoint's ``t``."""
    with h5py.File(path, "r", locking=False) as f:
        N1s, N2s = f["state"].shape
    if N1s > tr.N1 or N2s > tr.N2:
        raise ConfigError(f"checkpoint {path}: its grid {N1s} x {N2s} is larger than {tr.N1} x {tr.N2}")
    a, b = min(tr.row_start, N1s), min(tr.row_stop, N1s)
    state, t, *_ = checkpoint.load(path, a, b)
    rows = np.zeros((tr.row_stop - tr.row_start, tr.N2), dtype=np.complex128)
    rows[: b - a, :N2s] = state
    return rows, t


def _final_checkpoint(path, config: RunConfig, res: ResolvedNumerics, lay: parallel.Layout) -> None:
    """Collective: refuse (ConfigError) a checkpoint that is not this run's at ``t = n_kicks``."""
    problem = None
    if lay.is_root:
        if not Path(path).exists():
            problem = (f"--checkpoint {path}: no checkpoint there; the end stretch needs the run's final "
                       f"checkpoint (run it with --keep-checkpoint)")
        else:
            why = checkpoint.inspect(path)
            if why:
                problem = f"--checkpoint {path}: cannot be read ({why})"
            else:
                _, t, saved, _, _ = checkpoint.load(path, 0, 0)
                mismatch = _mismatch(saved, _config_for_checkpoint(config, res))
                if mismatch:
                    problem = f"--checkpoint {path}: not this run's: {mismatch}"
                elif t != config.quantum.n_kicks:
                    problem = (f"--checkpoint {path}: at t = {t}, not at the end of the run "
                               f"(quantum.n_kicks = {config.quantum.n_kicks}); finish the run first")
    problem = lay.comm.bcast(problem, root=0)
    if problem:
        raise ConfigError(problem)


# --------------------------------------------------------------------------- stretches
def _evolve(config: RunConfig, res: ResolvedNumerics, kicks: int, start, lay, n_threads: int, label: str):
    """Collective: ``kicks`` periods from ``start(tr)`` at ``res``; ``(series, seconds, max tail)``."""
    limits.check_quantum(_with(config, res, kicks), label, lay)
    clock = time.perf_counter()
    system = TwoParticleSystem.from_physics(config.physics, res.N1, res.N2)
    tr = make_transforms(lay, res.N1, res.N2, n_threads, fft=config.quantum.fft)
    prop = propagator_for(system, tr, res)
    record = _StretchSeries(system, tr, kicks, label, config.quantum.norm_tol)
    evolve(lambda t, c: prop.period(c), start(tr), 0, kicks, [record])
    series = record.series
    seconds = float(parallel.max_to_all(np.array([time.perf_counter() - clock]), lay.comm)[0])
    release_plans()  # and with them this variant's arrays, before the next variant allocates
    return series, seconds, float(np.max(series["tail"]))


class _StretchSeries(Observer):
    """``<p1^2>``, ``<p2^2>``, the purity and the larger tail at every integer t of a stretch;
    the norm guard."""

    def __init__(self, system, tr, kicks: int, label: str, norm_tol: float):
        self.system, self.tr, self.label, self.norm_tol = system, tr, label, norm_tol
        self.p1, self.p2 = system.p1(), system.p2()
        self.series = {k: np.empty(kicks + 1) for k in OBSERVABLES + ("tail",)}

    def start(self, t0: int, c: np.ndarray) -> None:
        self.after_kick(t0, c)

    def after_kick(self, t: int, c: np.ndarray) -> None:
        obs = two_particle_observables(c, self.p1, self.p2, self.system.mass1, self.system.mass2,
                                       row_start=self.tr.row_start, reduce=self.tr.allreduce)
        check_guards(self.label, t, obs["norm"], norm_tol=self.norm_tol)
        for k, key in (("p1_sq", "p1sq"), ("p2_sq", "p2sq"), ("purity", "purity")):
            self.series[k][t] = obs[key]
        self.series["tail"][t] = max(obs["tail1"], obs["tail2"])


def _stretch(name: str, t0: int, kicks: int, variants: dict, config, start, lay, n_threads, label) -> Stretch:
    series, seconds, tails = {}, {}, {}
    for v, res in variants.items():
        series[v], seconds[v], tails[v] = _evolve(config, res, kicks, start, lay, n_threads, f"{label}:{name}:{v}")
    base = series["base"]
    changes = {v: {**{k: max_rel_change(base[k], s[k]) for k in OBSERVABLES},
                   "purity_abs": max_abs_change(base["purity"], s["purity"])}
               for v, s in series.items() if v != "base"}
    return Stretch(name, t0, kicks, dict(variants), changes, seconds, tails)


def check_convergence(config: RunConfig, label: str = "quantum", lay: parallel.Layout | None = None,
                      n_threads: int | None = None, checkpoint_path=None) -> ConvergenceReport:
    """Collective: the start stretch, and the end stretch when ``checkpoint_path`` (the run's
    final checkpoint, at ``t = n_kicks``) is given and the start stretch is shorter than the run;
    see the module docstring."""
    lay = lay or parallel.layout()
    qn = config.quantum
    res = resolve(config)
    n_threads = parallel.set_threads(n_threads or parallel.default_threads(lay, share_cores=False))
    if checkpoint_path is not None:
        record = saved_self_check(checkpoint_path, lay.comm)
        res = accepted_resolution(config, res, record)
        _final_checkpoint(checkpoint_path, config, res, lay)
    else:  # the same pilot as the run's: the substeps it would use
        limits.check_quantum(config, label, lay)
        system = TwoParticleSystem.from_physics(config.physics, res.N1, res.N2)
        res, record = self_check(config, res, system, make_transforms(lay, res.N1, res.N2, n_threads, fft=config.quantum.fft), lay,
                                 label)
    variants = {"base": res}
    if res.scheme != "free":
        variants["half_step"] = dataclasses.replace(res, substeps=2 * res.substeps)
    variants["double_grid"] = dataclasses.replace(res, N1=double_size(res.N1), N2=double_size(res.N2))

    n = min(qn.n_kicks, qn.convergence_kicks)
    stretches = {"start": _stretch("start", 0, n, variants, config, initial_state, lay, n_threads, label)}
    if checkpoint_path is not None and n < qn.n_kicks:  # else the start stretch is the whole run
        stretches["end"] = _stretch("end", qn.n_kicks, qn.convergence_kicks, variants, config,
                                    lambda tr: padded_rows(checkpoint_path, tr)[0], lay, n_threads, label)
    start = stretches["start"]
    return ConvergenceReport(
        label=label, n_kicks=n, base=res, variants={k: v for k, v in variants.items() if k != "base"},
        changes={k: {q: ch[q] for q in OBSERVABLES} for k, ch in start.changes.items()},
        seconds={k: v for k, v in start.seconds.items() if k != "base"}, stretches=stretches,
        tol_p1=qn.convergence_tol_p1, tol_purity=qn.convergence_tol_purity, self_check=record,
        run_n_kicks=qn.n_kicks)


def write_report(path, report: ConvergenceReport, config: RunConfig) -> None:
    """HDF5 with kind='convergence', the changes, the verdict and its tolerances as root
    attributes (``start_half_step_p1_sq``, ``end_double_grid_purity_abs``, ``verdict``, ...;
    the unprefixed ``half_step_p1_sq`` ... are the start stretch's), provenance and params."""
    from ..io import write_atomic, write_run_header

    def build(f):
        write_run_header(f, "convergence", report.label, config.as_dict(), **report.as_dict())

    write_atomic(path, build)
