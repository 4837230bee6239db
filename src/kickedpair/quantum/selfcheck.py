"""The pilot self-check of a quantum run's step (docs/numerics.md, "Self-check and end-of-run
convergence").

Before the first kick of a fresh run, ``k = min(quantum.self_check_kicks, n_kicks)`` kicks are
evolved from the initial state at ``S`` and at ``2 S`` substeps.  When the largest relative
change of ``<p1^2>(t)`` or of the purity over ``t = 1..k`` exceeds ``quantum.self_check_tol``,
``S`` is doubled and ``2 S`` is compared with ``4 S`` (the ``2 S`` pilot, already done, is the
base of that comparison), at most :data:`MAX_DOUBLINGS` times; a step still failing then stops
the cell with a :class:`GuardError`.  The accepted ``S`` is the coarser of the first pair that
agrees.

* substeps from the rules (``quantum.substeps: auto``): ``mode = 'adjust'``, as above;
* substeps set by hand: ``mode = 'report'``: one comparison ``S`` against ``2 S``, reported
  (a warning when it fails), ``S`` kept -- the user's choice is not overridden;
* ``scheme = 'free'`` (exact in time) or ``self_check_kicks = 0``: ``mode = 'off'``.

Only one propagator is held at a time (the blocks of the light-particle-exact scheme are the
largest arrays of a run), so the accepted ``S`` is built once more for the run itself.  The
changes are taken on rank 0 and broadcast: every rank takes the same decision.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import stopping
from ..driver import Observer, evolve
from ..errors import GuardError, guard_message
from .observables import two_particle_observables
from .sine_transforms import release_plans
from .two_particle import initial_state

__all__ = ["MAX_DOUBLINGS", "SelfCheck", "run_self_check", "pilot_changes"]

#: doublings of the substeps the pilot may make (8x the rule's S): the automatic rules are off
#: by 2-6x at most where they were measured (docs/numerics.md)
MAX_DOUBLINGS = 3


@dataclass
class SelfCheck:
    """What the pilot did.  ``compared[i] = (S_i, 2 S_i)`` with the changes measured there."""

    mode: str                 # 'adjust', 'report' or 'off'
    kicks: int
    tol: float
    substeps_start: int       # S before the pilot (the rule's or the user's)
    substeps: int             # the S the run uses
    compared: list = field(default_factory=list)
    change_p1_sq: list = field(default_factory=list)
    change_purity: list = field(default_factory=list)
    passed: bool = True
    seconds: float = 0.0
    reason: str = ""          # mode 'off': why
    from_checkpoint: bool = False  # a resumed run: the record of the run that wrote the checkpoint

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SelfCheck":
        data = json.loads(text)
        data["compared"] = [tuple(int(s) for s in pair) for pair in data.get("compared", [])]
        return cls(**data)

    def text(self) -> str:
        if self.mode == "off":
            return f"self-check off ({self.reason}), {self.substeps} substeps"
        steps = "; ".join(f"{a} vs {b}: <p1^2> {p:.2e}, purity {q:.2e}"
                          for (a, b), p, q in zip(self.compared, self.change_p1_sq, self.change_purity))
        if self.mode == "report":
            outcome = "passes" if self.passed else f"FAILS (> {self.tol:g}), kept as set"
        else:
            outcome = (f"-> {self.substeps} substeps" + (f" (raised from {self.substeps_start})"
                                                         if self.substeps != self.substeps_start else ""))
        where = ", from the checkpoint" if self.from_checkpoint else f", {self.seconds:.1f} s"
        return (f"self-check over {self.kicks} kicks, largest relative change (tol {self.tol:g}): "
                f"{steps} {outcome}{where}")


def pilot_changes(base: dict, fine: dict) -> tuple[float, float, int]:
    """``(change of <p1^2>, change of purity, t of the larger)``: largest ``|fine - base| / |base|``
    over ``t >= 1``; NaN counts as an infinite change."""
    out, worst_t, worst = [], 1, -1.0
    for key in ("p1_sq", "purity"):
        a, b = np.asarray(base[key][1:]), np.asarray(fine[key][1:])
        rel = np.abs(b - a) / np.maximum(np.abs(a), 1e-300)
        rel = np.where(np.isfinite(rel), rel, np.inf)
        i = int(np.argmax(rel))
        out.append(float(rel[i]))
        if rel[i] > worst:
            worst, worst_t = float(rel[i]), i + 1
    return out[0], out[1], worst_t


def _pilot_series(prop, system, tr, kicks: int, comm) -> dict:
    """``<p1^2>(t)`` and the purity over ``t = 0..kicks`` from the initial state.

    Collective; like the run's loop it reads the stop flag after every kick, so that a signal
    reaching one rank during the pilot stops every rank after the same kick.  The FFTW plans
    are dropped at the end, and with them this propagator's arrays."""
    try:
        return _pilot_loop(prop, system, tr, kicks, comm)
    finally:
        release_plans()


class _PilotSeries(Observer):
    """``<p1^2>(t)`` and the purity at every integer t of the pilot."""

    def __init__(self, system, tr, kicks: int):
        self.system, self.tr = system, tr
        self.p1, self.p2 = system.p1(), system.p2()
        self.series = {"p1_sq": np.empty(kicks + 1), "purity": np.empty(kicks + 1)}

    def start(self, t0: int, c: np.ndarray) -> None:
        self.after_kick(t0, c)

    def after_kick(self, t: int, c: np.ndarray) -> None:
        obs = two_particle_observables(c, self.p1, self.p2, self.system.mass1, self.system.mass2,
                                       row_start=self.tr.row_start, reduce=self.tr.allreduce)
        self.series["p1_sq"][t], self.series["purity"][t] = obs["p1sq"], obs["purity"]


def _pilot_loop(prop, system, tr, kicks: int, comm) -> dict:
    record = _PilotSeries(system, tr, kicks)
    evolve(lambda t, c: prop.period(c), initial_state(tr), 0, kicks, [record],
           stop=lambda t: stopping.stop_requested(comm), where="in the self-check pilot at t={t}, before the run")
    return record.series


def run_self_check(qn, substeps: int, scheme: str, explicit: bool, system, tr, comm, label: str,
                   build) -> SelfCheck:
    """Collective: the pilot of a fresh run (see the module docstring).

    ``qn``: the run's QuantumNumerics; ``substeps``, ``scheme``: the resolved ones;
    ``explicit``: the user set ``quantum.substeps``; ``build(substeps)``: a propagator on
    ``system`` and ``tr``.  Raises :class:`GuardError` when the step still fails after
    :data:`MAX_DOUBLINGS` doublings (mode 'adjust').
    """
    kicks = min(qn.self_check_kicks, qn.n_kicks)
    record = SelfCheck(mode="report" if explicit else "adjust", kicks=kicks, tol=qn.self_check_tol,
                       substeps_start=substeps, substeps=substeps)
    if scheme == "free" or kicks == 0:
        record.mode, record.kicks = "off", 0
        record.reason = "scheme 'free' is exact in time" if scheme == "free" else "quantum.self_check_kicks = 0"
        return record
    clock = time.perf_counter()
    S = substeps
    base = _pilot_series(build(S), system, tr, kicks, comm)
    doublings = 0 if explicit else MAX_DOUBLINGS
    while True:
        fine = _pilot_series(build(2 * S), system, tr, kicks, comm)
        dp1, dpur, t_worst = comm.bcast(pilot_changes(base, fine) if comm.rank == 0 else None, root=0)
        record.compared.append((S, 2 * S))
        record.change_p1_sq.append(dp1)
        record.change_purity.append(dpur)
        record.passed = dp1 <= qn.self_check_tol and dpur <= qn.self_check_tol
        if record.passed or doublings == 0:
            break
        S, base, doublings = 2 * S, fine, doublings - 1  # the finer pilot is the next base
    record.seconds = float(comm.allreduce(time.perf_counter() - clock, op=_max_op()))
    if record.mode == "adjust":
        if not record.passed:
            raise GuardError(guard_message(
                label, "self-check of the step", t_worst,
                f"<p1^2> changes by {dp1:.3e}, the purity by {dpur:.3e} between {S} and {2 * S} substeps "
                f"(> quantum.self_check_tol = {qn.self_check_tol:g}) after {MAX_DOUBLINGS} doublings of "
                f"{substeps} substeps, over the first {kicks} kicks",
                "set quantum.substeps (or a finer scheme) by hand, or review the grid"))
        record.substeps = S
    return record


def _max_op():
    from mpi4py import MPI

    return MPI.MAX
