"""Compiled kernels of the classical two-particle map (MODEL.md section 2).

Plain functions of arrays.  The interaction is ``U(d) = strength * exp(-a d^2)``
with ``d = x1 - x2``; the walls at 0 and L reflect specularly.

Two integrators of the kick-free motion over one period:

* ``strang_period``: velocity-Verlet (half interaction kick, exact drift with wall
  reflections, half kick), one force evaluation per step.  A wall bounce inside
  a drift while the force is non-zero would make plain Strang first order; each
  bounce gets an impulse correction (below) that restores second order.
* ``rk4_period``: the paper's reference, classical RK4 on the unfolded motion
  with reflection after each step.  Four force evaluations per step.

Kicks ``p_j += K_j sin(x_j)`` are applied by :func:`kick` at integer times.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def interaction_force(d, strength, a):
    """Force on particle 1, ``-dU/dx1``; particle 2 feels its negative."""
    return 2.0 * a * d * strength * math.exp(-a * d * d)


@njit(cache=True, inline="always")
def interaction_energy(d, strength, a):
    return strength * math.exp(-a * d * d)


@njit(cache=True)
def drift_in_well(x, v, dt, L):
    """Free flight of length ``dt`` at speed ``v`` between hard walls at 0 and L.

    Returns ``(x_new, sign, impulse_time)``: the new position (the unfolded
    flight ``x + v dt`` folded back into the well), the sign by which the
    velocity was flipped (+1 or -1: an even or odd number of bounces), and
    ``sum_k s_k dt_k`` over the flight segments, where ``s_k`` is the sign
    that segment's velocity has relative to the final one.  A constant force
    ``F`` acting through the flight changes the final momentum by
    ``F * impulse_time``; with no bounce ``impulse_time == dt``.
    """
    y = x + v * dt
    if y >= 0.0 and y <= L:
        return y, 1.0, dt
    bounces = math.floor(y / L)
    r = y % (2.0 * L)
    x_new = r if r <= L else 2.0 * L - r
    sign = 1.0 if bounces % 2 == 0 else -1.0
    # walk through the bounces: the first wall is met after t_hit, then one
    # every L/|v|; each bounce flips the frame of what was accumulated so far
    speed = abs(v)
    t_hit = (L - x) / speed if v > 0.0 else x / speed
    period = L / speed
    remaining = dt
    impulse_time = 0.0
    while t_hit < remaining:
        impulse_time = -(impulse_time + t_hit)
        remaining -= t_hit
        t_hit = period
    return x_new, sign, impulse_time + remaining


@njit(cache=True)
def _strang_one(x1, p1, x2, p2, n_steps, dt, inv_m, strength, a, L):
    """One trajectory over ``n_steps`` steps; returns the new state."""
    half = 0.5 * dt
    f = interaction_force(x1 - x2, strength, a)
    for _ in range(n_steps):
        p1 += f * half
        p2 -= f * half
        x1, s1, w1 = drift_in_well(x1, p1, dt, L)
        x2, s2, w2 = drift_in_well(x2, p2 * inv_m, dt, L)
        p1 *= s1
        p2 *= s2
        f = interaction_force(x1 - x2, strength, a)
        p1 += f * half
        p2 -= f * half
        # bounce correction: the exact impulse of a (locally constant) force
        # through a reflected flight is f * w, Strang gave f * (s*dt/2 + dt/2);
        # the difference is exactly zero for a flight without bounce.
        p1 += f * (w1 - s1 * half - half)
        p2 -= f * (w2 - s2 * half - half)
    return x1, p1, x2, p2


@njit(cache=True, inline="always")
def _energy(x1, p1, x2, p2, inv_m, strength, a):
    return 0.5 * p1 * p1 + 0.5 * p2 * p2 * inv_m + interaction_energy(x1 - x2, strength, a)


@njit(parallel=True, cache=True)
def strang_period(x1, p1, x2, p2, n_steps, mass_ratio, strength, a, L, energy_change):
    """Advance every trajectory in place by one period of ``n_steps`` Strang steps.

    ``energy_change[i]`` receives ``E_end - E_start`` of trajectory ``i``
    (the motion between kicks conserves energy exactly).
    """
    dt = 1.0 / n_steps
    inv_m = 1.0 / mass_ratio
    for i in prange(x1.shape[0]):
        e0 = _energy(x1[i], p1[i], x2[i], p2[i], inv_m, strength, a)
        a1, b1, a2, b2 = _strang_one(x1[i], p1[i], x2[i], p2[i], n_steps, dt, inv_m, strength, a, L)
        x1[i] = a1
        p1[i] = b1
        x2[i] = a2
        p2[i] = b2
        energy_change[i] = _energy(a1, b1, a2, b2, inv_m, strength, a) - e0


@njit(cache=True, inline="always")
def _reflect(x, p, L):
    while x < 0.0 or x > L:
        if x < 0.0:
            x = -x
        else:
            x = 2.0 * L - x
        p = -p
    return x, p


@njit(cache=True)
def _rk4_one(x1, p1, x2, p2, n_steps, dt, inv_m, strength, a, L):
    h = dt
    for _ in range(n_steps):
        k1x1 = p1
        k1x2 = p2 * inv_m
        f = interaction_force(x1 - x2, strength, a)
        k1p1 = f
        k1p2 = -f
        f = interaction_force((x1 + 0.5 * h * k1x1) - (x2 + 0.5 * h * k1x2), strength, a)
        k2x1 = p1 + 0.5 * h * k1p1
        k2x2 = (p2 + 0.5 * h * k1p2) * inv_m
        k2p1 = f
        k2p2 = -f
        f = interaction_force((x1 + 0.5 * h * k2x1) - (x2 + 0.5 * h * k2x2), strength, a)
        k3x1 = p1 + 0.5 * h * k2p1
        k3x2 = (p2 + 0.5 * h * k2p2) * inv_m
        k3p1 = f
        k3p2 = -f
        f = interaction_force((x1 + h * k3x1) - (x2 + h * k3x2), strength, a)
        k4x1 = p1 + h * k3p1
        k4x2 = (p2 + h * k3p2) * inv_m
        k4p1 = f
        k4p2 = -f
        x1 = x1 + h / 6.0 * (k1x1 + 2.0 * k2x1 + 2.0 * k3x1 + k4x1)
        x2 = x2 + h / 6.0 * (k1x2 + 2.0 * k2x2 + 2.0 * k3x2 + k4x2)
        p1 = p1 + h / 6.0 * (k1p1 + 2.0 * k2p1 + 2.0 * k3p1 + k4p1)
        p2 = p2 + h / 6.0 * (k1p2 + 2.0 * k2p2 + 2.0 * k3p2 + k4p2)
        x1, p1 = _reflect(x1, p1, L)
        x2, p2 = _reflect(x2, p2, L)
    return x1, p1, x2, p2


@njit(parallel=True, cache=True)
def rk4_period(x1, p1, x2, p2, n_steps, mass_ratio, strength, a, L, energy_change):
    """Reference integrator: RK4 with reflection after each step (the paper's method)."""
    dt = 1.0 / n_steps
    inv_m = 1.0 / mass_ratio
    for i in prange(x1.shape[0]):
        e0 = _energy(x1[i], p1[i], x2[i], p2[i], inv_m, strength, a)
        a1, b1, a2, b2 = _rk4_one(x1[i], p1[i], x2[i], p2[i], n_steps, dt, inv_m, strength, a, L)
        x1[i] = a1
        p1[i] = b1
        x2[i] = a2
        p2[i] = b2
        energy_change[i] = _energy(a1, b1, a2, b2, inv_m, strength, a) - e0


def kick(x: np.ndarray, p: np.ndarray, K: float) -> None:
    """The delta kick ``p += K sin(x)``, in place."""
    if K != 0.0:
        p += K * np.sin(x)


def energy(x1, p1, x2, p2, mass_ratio, strength, a):
    """Total kick-free energy of each trajectory (numpy, for checks and guards)."""
    d = x1 - x2
    return 0.5 * p1**2 + 0.5 * p2**2 / mass_ratio + strength * np.exp(-a * d * d)


PERIOD_INTEGRATORS = {"strang": strang_period, "rk4": rk4_period}
