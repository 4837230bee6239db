"""The classical ensemble run: initial conditions, kicks, records, MPI reduction.

The global ensemble is drawn from the seed on every rank and each rank keeps
its contiguous block of trajectories, so the trajectories, and the results up
to the rounding of the final sums, do not depend on the number of ranks.

Besides the ensemble sums, the run records the mean ``p1^2`` of fixed blocks of
trajectories at every integer t (trajectory ``i`` of ``n`` is in block ``i * B // n``,
whichever rank holds it): the spread of the slope over the blocks is the error of the
fitted slopes (:func:`kickedpair.analysis.block_slope_error`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import limits, parallel, stopping
from ..analysis import diffusion_estimates
from ..errors import GuardError, guard_message
from ..params import ClassicalNumerics, Physics, RunConfig
from ..driver import Observer, evolve
from ..progress import Progress
from .kernels import PERIOD_INTEGRATORS, energy, kick


def reference_speed(physics: Physics, numerics: ClassicalNumerics) -> float:
    """A generous bound on the fastest speed met in the run.

    Particle 2 slides off the bump at ``sqrt(2 U0 / m)`` and is thrown by the
    heavy particle at about twice the heavy particle's speed; both particles'
    kicks add ``K_j / m_j`` per period, spread as ``sqrt(n_kicks)``.
    """
    u0 = physics.interaction_strength
    m = physics.mass_ratio
    kicks = (abs(physics.K1) + abs(physics.K2) / m) * math.sqrt(numerics.n_kicks) / 2.0
    # the quantum initial ensemble starts particle 2 at speed pi hbar / (L m)
    start = math.pi * physics.hbar / (physics.L * m) if numerics.initial == "quantum" else 0.0
    return math.sqrt(2.0 * u0 / m) + math.sqrt(2.0 * u0) + kicks + start


def steps_per_kick(physics: Physics, numerics: ClassicalNumerics) -> int:
    """Integration steps per period: configured, or from the Courant-like rule.

    With no interaction the drift between walls is exact in one step.
    """
    if numerics.steps_per_kick is not None:
        return numerics.steps_per_kick
    if physics.interaction_strength == 0.0:
        return 1
    dt = numerics.courant * physics.interaction_width / reference_speed(physics, numerics)
    return max(1, math.ceil(1.0 / dt))


def error_block_starts(n: int, n_blocks: int) -> np.ndarray:
    """First trajectory of every block and, last, ``n``: block ``b`` is ``[starts[b], starts[b+1])``,
    the trajectories ``i`` with ``i * n_blocks // n == b`` (exact integer arithmetic, no overflow)."""
    return np.array([-(-b * n // n_blocks) for b in range(n_blocks + 1)], dtype=np.int64)


def ground_state_positions(u: np.ndarray, L: float) -> np.ndarray:
    """Positions of density ``(2/L) sin^2(pi x / L)`` (the ground state of the well) from uniform
    numbers ``u`` in [0, 1): the inverse of ``F(x) = x/L - sin(2 pi x/L) / (2 pi)`` by bisection
    (monotone, to the last bit of ``L`` after 60 halvings).  The same ``u`` gives the uniform
    ensemble as ``L u``, so the two ensembles differ only by this map."""
    lo, hi = np.zeros_like(u), np.ones_like(u)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = mid - np.sin(2.0 * math.pi * mid) / (2.0 * math.pi) < u
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return L * 0.5 * (lo + hi)


def initial_ensemble(n: int, seed: int, L: float, initial: str = "uniform",
                     hbar: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Global initial positions and momenta ``x1, x2, p1, p2`` of both particles.

    ``uniform`` (the paper's): ``x`` uniform on the well, ``p = 0``.  ``quantum``: the product of
    ground states the quantum runs start from, ``x`` of density ``(2/L) sin^2(pi x/L)`` (from the
    same uniform numbers, :func:`ground_state_positions`) and ``p = +-pi hbar / L`` with random
    signs (the momentum ``p_1`` of the sine mode the state occupies, so ``<p^2>(0)`` equals the
    quantum ``<p^2>(0) = sum_n P(n) p_n^2``; independent signs drawn after the positions).
    """
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, size=(n, 2))
    if initial == "uniform":
        x1, x2 = L * u[:, 0], L * u[:, 1]
        return x1, x2, np.zeros(n), np.zeros(n)
    if initial != "quantum":
        raise ValueError(f"unknown initial ensemble {initial!r}")
    if hbar is None:
        raise ValueError("initial ensemble 'quantum' needs hbar")
    x1, x2 = ground_state_positions(u[:, 0], L), ground_state_positions(u[:, 1], L)
    del u
    signs = rng.integers(0, 2, size=(n, 2)).astype(bool)
    p_start = math.pi * hbar / L
    p1, p2 = np.where(signs[:, 0], p_start, -p_start), np.where(signs[:, 1], p_start, -p_start)
    return x1, x2, p1, p2


@dataclass
class ClassicalRun:
    """What a classical run produced (reduced over all ranks)."""

    config: RunConfig
    label: str
    t: np.ndarray
    p1_sq: np.ndarray
    p1_sq_sem: np.ndarray
    p2_sq: np.ndarray
    p2_sq_sem: np.ndarray
    p1_sq_blocks: np.ndarray  # (n_kicks + 1, B): mean p1^2 of each trajectory block
    block_counts: np.ndarray  # (B,): trajectories in each block
    energy_drift_max: np.ndarray
    energy_drift_mean: np.ndarray
    steps_per_kick: int
    force_evals_per_period: int
    n_ranks: int
    n_threads: int
    wall_time_s: float
    estimates: dict = field(default_factory=dict)
    snapshots: dict = field(default_factory=dict)  # t -> (p1, p2), on rank 0 only

    @property
    def Dc(self) -> float:
        return self.estimates["D"]

    @property
    def Dc_err(self) -> float:
        return self.estimates["D_err"]


class _Ensemble:
    """This rank's block of trajectories and the sums over it at every integer t:
    ``sums[t] = (sum p1^2, sum p1^4, sum p2^2, sum p2^4, sum |dE|/E)``, and
    ``block_sums[t, b]`` = sum of p1^2 over this rank's trajectories of error block ``b``
    (a rank's contiguous range meets a few consecutive blocks: ``np.add.reduceat`` over
    its pieces of them)."""

    def __init__(self, config: RunConfig, lo: int, hi: int, n_steps: int):
        ph, nu = config.physics, config.classical
        x1_all, x2_all, p1_all, p2_all = initial_ensemble(nu.n_trajectories, nu.seed, ph.L, nu.initial, ph.hbar)
        self.x1, self.x2 = x1_all[lo:hi].copy(), x2_all[lo:hi].copy()
        self.p1, self.p2 = p1_all[lo:hi].copy(), p2_all[lo:hi].copy()
        self.d_energy = np.empty_like(self.x1)
        self.rel = np.zeros(0)
        self.sums = np.zeros((nu.n_kicks + 1, 5))
        self.block_starts = starts = error_block_starts(nu.n_trajectories, nu.n_error_blocks)
        self.block_sums = np.zeros((nu.n_kicks + 1, nu.n_error_blocks))
        if hi > lo:  # the blocks that meet [lo, hi) and where they begin in the local arrays
            first, last = np.searchsorted(starts, [lo, hi - 1], side="right") - 1
            self.block_slice = slice(int(first), int(last) + 1)
            self.block_offsets = np.maximum(starts[first:last + 1], lo) - lo
        else:  # a rank with no trajectories (more ranks than trajectories)
            self.block_slice, self.block_offsets = slice(0, 0), None
        self.ph, self.n_steps, self.integrate = ph, n_steps, PERIOD_INTEGRATORS[nu.scheme]
        self.record(0)

    def period(self, t: int, state: "_Ensemble") -> "_Ensemble":
        """Kick ``t``: both kicks, the integration over one period, the sums."""
        ph, x1, p1, x2, p2 = self.ph, self.x1, self.p1, self.x2, self.p2
        strength, a, m = ph.interaction_strength, ph.interaction_exponent, ph.mass_ratio
        kick(x1, p1, ph.K1)
        kick(x2, p2, ph.K2)
        e_start = energy(x1, p1, x2, p2, m, strength, a)
        self.integrate(x1, p1, x2, p2, self.n_steps, m, strength, a, ph.L, self.d_energy)
        self.rel = np.abs(self.d_energy) / np.maximum(e_start + strength, 1e-300)
        self.record(t)
        return self

    def record(self, t: int) -> None:
        """The sums at time ``t`` (t = 0: the initial ensemble, whose momenta may be non-zero)."""
        q1, q2 = self.p1 * self.p1, self.p2 * self.p2
        self.sums[t] = (q1.sum(), (q1 * q1).sum(), q2.sum(), (q2 * q2).sum(), self.rel.sum())
        if self.block_offsets is not None:
            self.block_sums[t, self.block_slice] = np.add.reduceat(q1, self.block_offsets)


class _Guards(Observer):
    """Finite momenta and the energy drift, in one small collective per kick that also carries
    the stop flag (``signal``: every rank stops after the same kick, before any guard)."""

    def __init__(self, label: str, nu: ClassicalNumerics, lay: parallel.Layout, drift_max: np.ndarray):
        self.label, self.nu, self.lay, self.drift_max = label, nu, lay, drift_max
        self.signal = 0

    def after_kick(self, t: int, ens: _Ensemble) -> None:
        checks = parallel.sum_to_all(np.array([
            ens.sums[t, 4],
            float(np.count_nonzero(~(np.isfinite(ens.p1) & np.isfinite(ens.p2)))),
        ]), self.lay.comm)
        largest = parallel.max_to_all(np.array([ens.rel.max(initial=0.0), stopping.pending_signal()]),
                                      self.lay.comm)
        self.drift_max[t] = largest[0]
        self.signal = int(largest[1])
        if self.signal:  # evolve() stops the run after this kick
            return
        if checks[1] > 0:
            raise GuardError(guard_message(
                self.label, "finite momenta", t, f"{checks[1]:.0f} trajectories with non-finite momenta"))
        drift_mean = checks[0] / self.nu.n_trajectories
        if not drift_mean <= self.nu.max_energy_drift:
            raise GuardError(guard_message(
                self.label, "energy drift", t,
                f"{drift_mean:.3e} > limit {self.nu.max_energy_drift:.3e} (classical.max_energy_drift)",
                "reduce classical.courant or raise classical.steps_per_kick"))


class _Snapshots(Observer):
    """Every momentum at the snapshot times, gathered on rank 0 (``snapshots[t] = (p1, p2)``)."""

    def __init__(self, times, lay: parallel.Layout):
        self.times, self.lay, self.snapshots = times, lay, {}

    def start(self, t0: int, ens: _Ensemble) -> None:
        self.after_kick(t0, ens)

    def after_kick(self, t: int, ens: _Ensemble) -> None:
        if t in self.times:
            self.snapshots[t] = (parallel.gather_blocks(ens.p1, self.lay.comm),
                                 parallel.gather_blocks(ens.p2, self.lay.comm))


def run_classical(config: RunConfig, label: str = "classical", progress: str = "auto",
                  lay: parallel.Layout | None = None, n_threads: int | None = None) -> ClassicalRun:
    """Evolve the ensemble of ``config`` for ``n_kicks`` periods across all ranks."""
    lay = lay or parallel.layout()
    ph, nu = config.physics, config.classical
    limits.check_classical(config, label, lay)  # before anything of the run's size is allocated
    n_threads = parallel.set_threads(n_threads or parallel.default_threads(lay))
    start_clock = time.perf_counter()

    n_steps = steps_per_kick(ph, nu)
    lo, hi = parallel.block_range(nu.n_trajectories, lay.size, lay.rank)
    ens = _Ensemble(config, lo, hi, n_steps)
    n_t = nu.n_kicks + 1
    drift_max = np.zeros(n_t)
    guards, snaps = _Guards(label, nu, lay, drift_max), _Snapshots(nu.snapshot_times, lay)
    progress_bar = Progress(nu.n_kicks, label, mode=progress, enabled=lay.is_root)
    evolve(ens.period, ens, 0, nu.n_kicks, [guards, snaps, progress_bar], stop=lambda t: guards.signal)

    total = parallel.sum_to_all(ens.sums, lay.comm)
    block_total = parallel.sum_to_all(ens.block_sums, lay.comm)
    block_counts = np.diff(ens.block_starts)
    n = nu.n_trajectories
    mean = total[:, [0, 2]] / n
    var = np.maximum(total[:, [1, 3]] / n - mean**2, 0.0)
    sem = np.sqrt(var / max(n - 1, 1))
    t_axis = np.arange(n_t, dtype=float)
    per_step = 4 if nu.scheme == "rk4" else 1
    run = ClassicalRun(
        config=config,
        label=label,
        t=t_axis,
        p1_sq=mean[:, 0],
        p1_sq_sem=sem[:, 0],
        p2_sq=mean[:, 1],
        p2_sq_sem=sem[:, 1],
        p1_sq_blocks=block_total / block_counts,
        block_counts=block_counts,
        energy_drift_max=drift_max,
        energy_drift_mean=total[:, 4] / n,
        steps_per_kick=n_steps,
        force_evals_per_period=per_step * n_steps + (1 if nu.scheme == "strang" else 0),
        n_ranks=lay.size,
        n_threads=n_threads,
        wall_time_s=time.perf_counter() - start_clock,
        snapshots={k: v for k, v in snaps.snapshots.items() if lay.is_root},
    )
    run.estimates = diffusion_estimates(t_axis, run.p1_sq, run.p1_sq_sem, nu.fit_window,
                                        run.p1_sq_blocks, block_counts)
    # the slowest rank's clock is the run's wall time
    run.wall_time_s = float(parallel.max_to_all(np.array([run.wall_time_s]), lay.comm)[0])
    return run
