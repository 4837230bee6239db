"""Grid sizes and substeps from physical estimates (all sizes have ``N + 1`` a power of two).

Rules (``L`` the well width, ``dp = hbar pi / L`` the momentum step of the sine basis):

1. Particle 1 -- momentum reach, the larger of two estimates.  (a) Classical quasi-linear
   diffusion bounds the spread: ``<p1^2>(t) <= D t`` with ``D = K1^2 / 2``, and the basis must
   reach ``p1_max = safety * sqrt(D n_kicks) + |K1| + sqrt(2 U0)`` (``safety = 2``: the momentum
   distribution has exponential, not Gaussian, tails -- kurtosis ~7 in the classical ensemble at
   t = 300 -- and with 1.5 one particle at hbar = 0.02 tripped the tail guard at t ~ 204 on the
   N = 2047 chosen for 300 kicks; ``|K1|``: one kick's reach; ``sqrt(2 U0)``: the push of the interaction bump of height ``U0``, without
   which a short two-particle run at hbar = 0.1 tripped the tail guard at t = 24).  At
   ``K1 = 1.8`` the real spread is far below that bound (``D ~ 0.1`` against 1.62: the motion
   sticks near islands), which is what makes ``safety = 2`` enough there.  (b) In strong chaos
   the bound is tight (``K1 = 5``: ``D = 12.5`` measured) and the distribution is close to
   Gaussian (kurtosis 3.2), so two of its own standard deviations leave a few per cent of the
   probability outside (the rule (a) alone gave ``N1 = 1023`` for ``K1 = 5, hbar = 0.1``, 60
   kicks, and the tail guard tripped at t = 29): the basis must also reach
   ``p_cl(n_kicks) + |K1| + sqrt(2 U0)``, the Gaussian reach of the classical kicked particle
   itself (:func:`kicked_reach`): ``z`` times the rms momentum of its ensemble, with ``z = 5.73``
   the two-sided quantile that leaves the tail guard's probability ``1e-8`` outside, but no
   further than ``n_kicks |K1|``, where the classical distribution ends.  At ``K1 = 1.8`` it
   exceeds (a) only over the first dozen kicks (by up to 1.5x), while the motion is still
   quasi-linear.
   So ``N1 >= p1_max / (0.95 dp)``: the reach must stay below the top 5% of the modes, which the
   tail guard watches (with ``N1 >= p1_max / dp`` a cell whose reach fell just inside them,
   m = 0.01, hbar = 0.09, 100 kicks, N1 = 255, tripped the guard at t = 68).  For ``K = 1.8``
   and 500 kicks: ``hbar = 0.05`` -> 2047 and ``hbar = 0.01`` -> 8191 (MODEL.md section 6: a
   localised hbar = 0.05 run needs 1023; the rule cannot know in advance that it localises).
2. Both particles -- the interaction width ``1/sqrt(a)``.  The Gaussian's spectrum
   ``exp(-k^2 / (4 a))`` falls below ``tol = 1e-8`` at ``k_int = sqrt(4 a ln(1/tol))``; each
   basis must reach it: ``N >= k_int L / pi`` (27 modes for ``a = 10``, ``L = pi``).
3. Particle 2 -- energy.  Its basis holds twice its own energy (the bump height and its own
   kicks' ``(1.5 sqrt(K2^2 n_kicks / 2) + K2)^2 / (2 m)``) or the share of the heavy particle's
   bulk energy it takes, ``0.4 E1_max`` (``E1_max = p1_bulk^2 / 2``, ``p1_bulk`` as ``p1_max``
   with safety 1.5; the classical ensembles give ``<p2^2>/(2m) = 0.07..0.37 <p1^2>/2`` for
   m = 1e-3..1; without the share m = 0.01, hbar = 0.04, 100 kicks tripped particle 2's tail
   guard at t = 58 with N2 = 31), whichever is larger:
   ``N2 >= sqrt(2 m max(2 E2_own, 0.4 E1_max)) / (0.95 dp)``.  For ``m = 1e-3, eps = 2,
   lam = 10`` rule 2 dominates (``N2 = 31``); at m = 1, ``N2 ~ N1 / 2``.  ``E2_max`` (with one
   collision's ``4 m / (1 + m)^2`` of E1) is kept in the record only.
4. Substeps of both splittings: :func:`substeps_rule`, the calibrated need by scheme, mass
   ratio and hbar, grown with the run's length (docs/numerics.md has the calibration).

Counts are computed in floating point and saturate at ``2**62`` (``COUNT_LIMIT``, the largest
count a config may hold), also where the float arithmetic overflows (``hbar`` near the
smallest float, say): such a grid or substep count is refused before a run by
:mod:`kickedpair.limits`, never turned into an exception halfway.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..params import ConfigError, RunConfig
from . import basis

__all__ = ["Resolution", "ResolvedNumerics", "choose_resolution", "resolve", "minimum_sizes"]

SAFETY_P1 = 2.0   # tails (N1), rule 1(a)
#: rule 1(b): the classical ensemble that is followed (evenly spaced positions, p = 0:
#: deterministic), the kicks followed before its spread is grown as sqrt(n), and the two-sided
#: Gaussian quantile that leaves the tail guard's probability (quantum.tail_tol's default) outside
MAP_TRAJECTORIES = 4096
MAP_KICKS_MAX = 2000
GUARD_TAIL = 1e-8
Z_GUARD = NormalDist().inv_cdf(1.0 - GUARD_TAIL / 2.0)
SAFETY_E1 = 1.5   # bulk (energies of rules 3-4)
TAIL_TOL = 1e-8
SAFETY_E2 = 2.0
MIN_SUBSTEPS = 10
# Substeps per kick that meet a relative error of 1e-3 and 1e-2 in <p1^2>(t) and the purity
# over T_CALIBRATION kicks at the calibration physics (K1 = 1.8, eps = 2, lam = 10, L = pi)
# (benchmarks/calibrate_substeps.py; docs/numerics.md).  Light-particle-exact: the need at
# m = 1e-3 by hbar, made monotone (it never falls as hbar falls: below hbar = 0.02 it is flat,
# the splitting error's semiclassical limit), times a factor by mass ratio.
LIGHT_BY_HBAR = {0.1: (41.0, 9.0), 0.05: (34.0, 23.0), 0.02: (109.0, 62.0), 0.01: (105.0, 58.0),
                 0.005: (105.0, 53.0)}
# measured at hbar = 0.05 (m = 1: 0.1) against m = 1e-3 there, the larger of the two tolerances'
# ratios; m = 1 taken as m = 0.1 (its own ratio, 0.78, rests on one case)
LIGHT_BY_MASS = {1e-3: 1.0, 1e-2: 1.44, 0.1: 1.53, 1.0: 1.53}
# Plain Strang: by mass ratio at hbar = 0.05 (lighter partners need more: particle 2's kinetic
# commutator), times a factor by hbar measured at m = 1 (42, 43, 58 at hbar = 0.1, 0.05, 0.02).
STRANG_BY_MASS = {1e-3: (636.0, 406.0), 1e-2: (311.0, 104.0), 0.1: (154.0, 50.0), 1.0: (43.0, 15.0)}
STRANG_BY_HBAR = {0.1: (0.98, 1.0), 0.05: (1.0, 1.0), 0.02: (1.35, 1.27)}
T_CALIBRATION = 10
#: growth of the need with the run's length, S ~ (n_kicks / T_CALIBRATION)^power, by scheme and
#: mass ratio.  Measured over 500 kicks at m = 1e-3, hbar = 0.1 (light-particle-exact), the count
#: that meets 1e-2 over the first T kicks is 9, 13, 33, 43, 53, 118 for T = 10, 20, 50, 100, 200,
#: 500 (power 0.66; the error at a fixed count grows as T^1.8 there); over 200 kicks at m = 1,
#: hbar = 0.1 (plain Strang) 14, 18, 28, 33, 43 for T = 10, 20, 50, 100, 200 (power 0.37).
#: Plain Strang at m < 1 is taken between the two (log m), light-particle-exact at 0.66 for all m.
LENGTH_POWER = {"light_exact": {1e-3: (0.66,), 1.0: (0.66,)}, "strang": {1e-3: (0.66,), 1.0: (0.37,)}}
#: the rule's margin over the calibrated need
SAFETY_SUBSTEPS = 1.25
#: a 4th-order composition (the triple jump, 3x the work per substep) needs this fraction of the
#: 2nd-order substeps: measured (benchmarks/splitting_order.py, T = 10) about half at m >= 0.1
#: and the same count at m = 1e-3, so the rule keeps the 2nd-order count: order 4 is an option,
#: never cheaper at the rule (docs/numerics.md)
ORDER4_FRACTION = 1.0
SHARE_E2 = 0.4
COLLISION = 4.0
#: counts at or beyond this are "beyond any machine" (kickedpair.params.INT_LIMIT)
COUNT_LIMIT = 2**62
#: the schemes with substeps, among which 'auto' chooses by cost
SPLITTING_SCHEMES = ("light_exact", "strang")
# The tail guard watches the top 5% of the modes: the estimated reach must lie below them.
GUARD_SPAN = 0.95


def _count(x: float) -> int:
    """``ceil(x)`` for a mode or substep count, saturated at :data:`COUNT_LIMIT` (also inf, NaN)."""
    if not x < COUNT_LIMIT:
        return COUNT_LIMIT
    return math.ceil(x)


def _ratio(a: float, b: float) -> float:
    """``a / b`` for ``a >= 0, b >= 0``; inf where ``b`` has underflowed to 0."""
    return a / b if b > 0 else (0.0 if a == 0 else math.inf)


@dataclass(frozen=True)
class Resolution:
    """Chosen sizes and substeps, with the estimates that produced them."""

    N1: int
    N2: int
    substeps_light_exact: int
    substeps_strang: int
    p1_max: float
    E2_max: float
    k_interaction: float

    def substeps(self, scheme: str) -> int | None:
        return {"light_exact": self.substeps_light_exact, "strang": self.substeps_strang}.get(scheme)


def choose_resolution(
    hbar: float,
    mass2: float,
    K1: float,
    K2: float,
    strength: float,
    a: float,
    n_kicks: int,
    L: float = math.pi,
    tol: float = 1e-2,
    order: int = 2,
) -> Resolution:
    """Pick ``N1, N2`` (``N + 1`` powers of two) and substeps for both splittings.

    ``strength`` is the interaction prefactor actually used (``physics.interaction_strength``)
    and ``a`` its exponent (``physics.interaction_exponent``).  See the module docstring.
    """
    if hbar <= 0 or mass2 <= 0 or a <= 0 or n_kicks < 0:
        raise ValueError("choose_resolution: need hbar, mass2, a > 0 and n_kicks >= 0")
    dp = hbar * math.pi / L
    D = 0.5 * K1 * K1
    spread1 = math.sqrt(D * n_kicks)
    push = abs(K1) + math.sqrt(2.0 * abs(strength))
    # the reach of the tails, sizes N1: rule 1(a) and (b)
    p1_max = max(SAFETY_P1 * spread1, kicked_reach(K1, n_kicks, L)) + push
    k_int = math.sqrt(4.0 * a * math.log(1.0 / TAIL_TOL))
    n_int = _count(k_int * L / math.pi)
    N1 = basis.good_size(max(_count(_ratio(p1_max, GUARD_SPAN * dp)), n_int))
    # energies (particle 2's share, resonances, crossing times) from the bulk of the distribution
    p1_bulk = SAFETY_E1 * spread1 + push
    E1_max = 0.5 * p1_bulk * p1_bulk
    p2_kick = SAFETY_E1 * math.sqrt(0.5 * K2 * K2 * n_kicks) + abs(K2)
    E2_own = abs(strength) + _ratio(p2_kick * p2_kick, 2.0 * mass2)
    # one collision with the bump moving at v1 hands particle 2 at most 4 m / (1 + m)^2 of E1
    # (2 m v1^2 = 4 m E1 for a light partner, all of it for equal masses)
    E2_max = SAFETY_E2 * (E2_own + COLLISION * mass2 / (1.0 + mass2) ** 2 * E1_max)
    # the basis of particle 2 holds its own energy and the share it takes from the heavy particle
    # (classically <E2> <= 0.4 <E1> measured, m = 1e-3..1), not a multiple of particle 1's reach:
    # at m = 1 this gives N2 ~ N1 / 2 (N2 = N1 = 127 already leaves a tail of 2e-14, hbar = 0.1)
    E2_reach = max(SAFETY_E2 * E2_own, SHARE_E2 * E1_max)
    N2 = basis.good_size(max(_count(_ratio(math.sqrt(2.0 * mass2 * E2_reach), GUARD_SPAN * dp)), n_int))
    if strength == 0.0:
        s_light = s_strang = 1  # exact: both reduce to the free map
    else:
        s_light = substeps_rule("light_exact", mass2, n_kicks, tol, order, K1, strength, a, hbar)
        s_strang = substeps_rule("strang", mass2, n_kicks, tol, order, K1, strength, a, hbar)
    return Resolution(N1, N2, int(s_light), int(s_strang), p1_max, E2_max, k_int)


@functools.lru_cache(maxsize=256)
def kicked_reach(K: float, n_kicks: int, L: float = math.pi) -> float:
    """Rule 1(b): ``min(Z_GUARD sigma, n_kicks |K|)``, ``sigma`` the rms momentum after
    ``n_kicks`` of the classical kicked particle alone in the well (``p += K sin x``, free flight
    with specular walls) from :data:`MAP_TRAJECTORIES` evenly spaced positions at ``p = 0``;
    beyond :data:`MAP_KICKS_MAX` kicks ``sigma`` is grown as ``sqrt(n)``."""
    n = min(int(n_kicks), MAP_KICKS_MAX)
    if n <= 0 or K == 0.0 or not (math.isfinite(K) and math.isfinite(L) and L > 0):
        return 0.0 if math.isfinite(K) else math.inf
    x = (np.arange(MAP_TRAJECTORIES) + 0.5) * (L / MAP_TRAJECTORIES)
    p = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for _ in range(n):
            p += K * np.sin(x)
            y = np.mod(x + p, 2.0 * L)   # unfolded onto the period 2L of the reflections
            back = y > L
            x = np.where(back, 2.0 * L - y, y)
            p = np.where(back, -p, p)
        sigma = math.sqrt(float(np.mean(p * p)) * n_kicks / n)
    return min(Z_GUARD * sigma, n_kicks * abs(K)) if math.isfinite(sigma) else math.inf


def interpolate_log(table: dict, x: float, extrapolate_low: bool = False) -> tuple:
    """Entries of ``table`` (keyed by x) interpolated linearly in log x and log value; constant
    beyond the keys, or (``extrapolate_low``) below the smallest key along the slope of the two
    smallest."""
    keys = sorted(table)
    if x < keys[0] and extrapolate_low and len(keys) > 1:
        lo, hi = keys[0], keys[1]
        return tuple(a * (x / lo) ** (math.log(a / b) / math.log(lo / hi)) for a, b in zip(table[lo], table[hi]))
    if x <= keys[0]:
        return table[keys[0]]
    if x >= keys[-1]:
        return table[keys[-1]]
    for lo, hi in zip(keys, keys[1:]):
        if lo <= x <= hi:
            w = math.log(x / lo) / math.log(hi / lo)
            return tuple(math.exp((1 - w) * math.log(a) + w * math.log(b)) for a, b in zip(table[lo], table[hi]))
    raise AssertionError("unreachable")


def _at_tolerance(needs: tuple[float, float], tol: float) -> float:
    """The need at ``tol`` from the needs at 1e-3 and 1e-2: log-log between them, second order
    (S ~ tol^-1/2) below 1e-3, and never below the 1e-2 need: coarser steps are not calibrated,
    and there plain Strang meets particle 2's resonances (m = 0.01, hbar = 0.03 aimed at 3e-2
    tripped the tail guard at t = 7)."""
    n3, n2 = needs
    if tol <= 1e-3:
        return n3 * math.sqrt(1e-3 / tol)
    if tol >= 1e-2:
        return n2
    w = math.log10(tol / 1e-3)
    return math.exp((1 - w) * math.log(n3) + w * math.log(n2))


def _monotone_in_hbar(table: dict, hbar: float) -> tuple:
    """The largest need over the calibrated ``hbar' >= hbar`` (log-log between them); below the
    smallest calibrated hbar, growing along the slope of the two smallest when it grows there."""
    keys = sorted(table)
    envelope = {h: tuple(max(table[k][j] for k in keys[i:]) for j in range(len(table[h])))
                for i, h in enumerate(keys)}
    return interpolate_log(envelope, hbar, extrapolate_low=True)


def substeps_rule(scheme: str, mass2: float, n_kicks: int, tol: float, order: int, K1: float,
                  strength: float, a: float, hbar: float) -> int:
    """Substeps per kick for ``scheme`` to reach relative error ``tol`` over ``n_kicks`` kicks.

    The calibrated need (light-particle-exact: by hbar, flat below 0.02; plain Strang:
    hbar-independent), scaled to the run's length, and to
    other physics by the splitting's commutator estimate ``sqrt(U0 a (K1^2 + U0))`` relative
    to the calibration physics, with the margin ``SAFETY_SUBSTEPS``.
    """
    if scheme == "light_exact":
        by_hbar = _monotone_in_hbar(LIGHT_BY_HBAR, hbar)
        factor = interpolate_log({m: (f,) for m, f in LIGHT_BY_MASS.items()}, mass2)[0]
        needs = tuple(n * factor for n in by_hbar)
    elif scheme == "strang":
        by_mass = interpolate_log(STRANG_BY_MASS, mass2, extrapolate_low=True)
        needs = tuple(n * f for n, f in zip(by_mass, _monotone_in_hbar(STRANG_BY_HBAR, hbar)))
    else:
        raise ValueError(f"no substep rule for scheme {scheme!r}")
    physics = math.sqrt(_ratio(abs(strength) * a * (K1 * K1 + abs(strength)), 2.0 * 10.0 * (1.8**2 + 2.0)))
    power = interpolate_log(LENGTH_POWER[scheme], mass2)[0]
    length = max(1.0, n_kicks / T_CALIBRATION) ** power
    s = SAFETY_SUBSTEPS * _at_tolerance(needs, tol) * physics * length
    if order == 4:
        s *= ORDER4_FRACTION
    return max(MIN_SUBSTEPS, _count(s))


def one_particle_size(K: float, hbar: float, n_kicks: int, L: float = math.pi) -> int:
    """Rule 1 alone, for one kicked particle (the random-kick model): ``N + 1`` a power of two.

    The reach is ``max(2 sqrt(K^2 n_kicks / 2), p_cl) + 2 |K|`` (rule 1(a) and (b)):
    without the bump's push (rule 1's ``sqrt(2 U0)``) one kick's ``|K|`` did not cover the
    exponential tails of a short run (the tail guard tripped at t = 26, hbar = 0.1, with ``+ |K|``).
    """
    p_max = max(SAFETY_P1 * math.sqrt(0.5 * K * K * n_kicks), kicked_reach(K, n_kicks, L)) + 2.0 * abs(K)
    return basis.good_size(max(3, _count(_ratio(p_max, GUARD_SPAN * hbar * math.pi / L))))


def minimum_sizes(hbar: float, mass2: float, K1: float, K2: float, strength: float, a: float,
                  L: float = math.pi) -> tuple[int, int, dict[str, str]]:
    """The smallest grids that can hold the first period at all, with the reason for each.

    Particle 1 must reach one kick's momentum plus the push of the bump, ``|K1| + sqrt(2 U0)``;
    particle 2 likewise ``|K2| + sqrt(2 m U0)``; both grids must resolve the interaction
    width, ``dx = L/(N+1) <= 1/sqrt(a)``.  A grid below these is rejected before a run;
    one above them may still be too small later, which the tail guard reports.
    """
    dp = hbar * math.pi / L
    n_width = _count(L * math.sqrt(a)) - 1 if strength != 0.0 else 1
    p1 = abs(K1) + math.sqrt(2.0 * abs(strength))
    p2 = abs(K2) + math.sqrt(2.0 * mass2 * abs(strength))
    n1, n2 = _count(_ratio(p1, dp)), _count(_ratio(p2, dp))
    why = {
        "N1": f"reach p = |K1| + sqrt(2 U0) = {p1:.3g} in steps of hbar pi/L, and resolve the interaction width",
        "N2": f"reach p = |K2| + sqrt(2 m U0) = {p2:.3g} in steps of hbar pi/L, and resolve the interaction width",
    }
    return max(3, n1, n_width), max(3, n2, n_width), why


@dataclass(frozen=True)
class ResolvedNumerics:
    """Grid sizes, substeps and scheme of a run, after 'auto' has been resolved."""

    N1: int
    N2: int
    substeps: int
    scheme: str
    order: int = 2

    def as_dict(self) -> dict:
        return {"N1": self.N1, "N2": self.N2, "substeps": self.substeps, "scheme": self.scheme,
                "order": self.order}


def resolve(config: RunConfig) -> ResolvedNumerics:
    """Fill in the 'auto' sizes, substeps and scheme; check explicit sizes are sane.

    ``scheme: auto`` is the free map without interaction; otherwise every splitting scheme is
    sized by its own rules and priced by :mod:`.cost` (substeps, transforms, blocks, set-up
    shared out over the kicks), and the cheapest is taken.  Substeps set by hand replace the
    chosen scheme's count; they do not take part in the choice (the same count means very
    different accuracies in the two schemes).  Raises ConfigError for a missing
    ``hbar`` or a grid too small for it.
    """
    from .cost import run_seconds

    ph, qn = config.physics, config.quantum
    if ph.hbar is None:
        raise ConfigError("physics.hbar: required for a quantum run, got None")
    if qn.scheme == "free" and ph.interaction_strength != 0.0:
        raise ConfigError("quantum.scheme: 'free' is exact only without interaction (eps = 0), got 'free'")
    system = dict(hbar=ph.hbar, mass2=ph.mass_ratio, K1=ph.K1, K2=ph.K2,
                  strength=ph.interaction_strength, a=ph.interaction_exponent, L=ph.L)
    est = choose_resolution(n_kicks=qn.n_kicks, tol=qn.substep_tol, order=qn.splitting_order, **system)
    N1 = qn.N1 if qn.N1 is not None else est.N1
    N2 = qn.N2 if qn.N2 is not None else est.N2
    N1_min, N2_min, why = minimum_sizes(**system)
    for key, n, minimum in (("N1", N1, N1_min), ("N2", N2, N2_min)):
        if n < minimum:
            raise ConfigError(
                f"quantum.{key}: {n} modes are too few for hbar = {ph.hbar:g}: at least {minimum} "
                f"needed to {why[key]}; got {n}")
    if qn.scheme != "auto":
        candidates = [qn.scheme]
    else:
        candidates = ["free"] if ph.interaction_strength == 0.0 else list(SPLITTING_SCHEMES)
    options = []
    for scheme in candidates:  # each priced at its own rule's substeps, whatever is set by hand
        order = qn.splitting_order if scheme in SPLITTING_SCHEMES else 2
        option = ResolvedNumerics(N1=int(N1), N2=int(N2), substeps=int(est.substeps(scheme) or 1),
                                  scheme=scheme, order=order)
        options.append((run_seconds(option, qn.n_kicks), len(options), option))
    chosen = min(options)[2]
    if qn.substeps is not None:
        chosen = dataclasses.replace(chosen, substeps=int(qn.substeps))
    return chosen
