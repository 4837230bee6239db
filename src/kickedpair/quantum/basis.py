"""The basis of the hard-wall well and the orthonormal DST-I (MODEL.md section 3).

Conventions (used by every quantum module)
-----------------------------------------
* Eigenfunctions ``phi_n(x) = sqrt(2/L) sin(n pi x / L)``, ``n = 1..N``.
* Grid ``x_j = j L / (N + 1)``, ``j = 1..N``, spacing ``dx = L / (N + 1)``.
* A state is stored as its sine coefficients ``c_n`` (``psi = sum_n c_n phi_n``), so that
  ``sum_n |c_n|^2 = 1``.  Index ``n - 1`` of an array holds mode ``n``.
* Its *grid values* are ``g_j = sqrt(dx) psi(x_j)``.  With this scaling the orthonormal
  DST-I maps ``c -> g`` and ``g -> c`` (it is real, symmetric and its own inverse), and
  ``sum_j |g_j|^2 = sum_n |c_n|^2`` exactly.  Potentials and kicks multiply ``g``.
* Mode ``n`` of a particle of mass ``mu``: momentum magnitude ``p_n = hbar n pi / L``,
  energy ``E_n = p_n^2 / (2 mu)``.

DST-I of length ``N`` runs as a real FFT of length ``2 (N + 1)``: choose ``N + 1`` a power
of two (or at least 5-smooth), see :func:`good_size`.

Norm drift and the unscaled pair
--------------------------------
scipy's orthonormal DST-I multiplies by a rounded ``1/sqrt(2 (N + 1))``: measured, the norm
then drifts *systematically* by ~5e-17 per transform (N = 63, 1023), i.e. ~1e-10 after the
10^6 transforms of a plain-Strang run (1000 substeps, 500 kicks) -- the size of the norm
guard.  Propagators therefore use the pair :func:`dst_up` (unscaled, coefficients -> grid
values times ``sqrt(2 (N + 1))``) and :func:`dst_down` (its exact inverse, scaled by
``1/(2 (N + 1))``, a power of two when ``N + 1`` is): the pair is orthonormal with no
rounded constant, and the remaining drift (from the FFT itself) is ~2-5x smaller.  Grid
values inside a period then carry the constant factor ``sqrt(2 (N + 1))`` per axis, which
diagonal multipliers (kicks, potentials) do not notice.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

__all__ = [
    "grid",
    "spacing",
    "dst",
    "dst_up",
    "dst_down",
    "mode_numbers",
    "momenta",
    "mode_energies",
    "free_phase",
    "eigenfunction_grid_values",
    "ground_state",
    "is_power_of_two_size",
    "is_smooth_size",
    "good_size",
]


def grid(N: int, L: float) -> np.ndarray:
    """Interior grid points ``x_j = j L / (N + 1)``, ``j = 1..N``."""
    return np.arange(1, N + 1, dtype=np.float64) * (L / (N + 1))


def spacing(N: int, L: float) -> float:
    """Grid spacing ``dx = L / (N + 1)``; grid values are ``sqrt(dx) psi(x_j)``."""
    return L / (N + 1)


def dst(a: np.ndarray, axis: int = -1, workers: int | None = None, overwrite_x: bool = False) -> np.ndarray:
    """Orthonormal DST-I along ``axis``: sine coefficients <-> grid values (its own inverse).

    Works on real and complex arrays.  ``overwrite_x=True`` lets scipy reuse ``a``.
    """
    return scipy.fft.dst(a, type=1, norm="ortho", axis=axis, workers=workers, overwrite_x=overwrite_x)


def dst_up(a: np.ndarray, axis: int = -1, workers: int | None = None, overwrite_x: bool = False) -> np.ndarray:
    """Unscaled DST-I: ``sqrt(2 (N + 1))`` times the orthonormal one (coefficients -> grid)."""
    return scipy.fft.dst(a, type=1, norm="backward", axis=axis, workers=workers, overwrite_x=overwrite_x)


def dst_down(a: np.ndarray, axis: int = -1, workers: int | None = None, overwrite_x: bool = False) -> np.ndarray:
    """Exact inverse of :func:`dst_up`: DST-I scaled by ``1/(2 (N + 1))`` (grid -> coefficients)."""
    return scipy.fft.dst(a, type=1, norm="forward", axis=axis, workers=workers, overwrite_x=overwrite_x)


def mode_numbers(N: int) -> np.ndarray:
    """``n = 1..N`` as floats (array index ``n - 1``)."""
    return np.arange(1, N + 1, dtype=np.float64)


def momenta(N: int, L: float, hbar: float) -> np.ndarray:
    """Momentum magnitude of each mode, ``p_n = hbar n pi / L``."""
    return hbar * math.pi / L * mode_numbers(N)


def mode_energies(N: int, L: float, hbar: float, mass: float = 1.0) -> np.ndarray:
    """Kinetic energy of each mode, ``E_n = (hbar n pi / L)^2 / (2 mass)``."""
    return momenta(N, L, hbar) ** 2 / (2.0 * mass)


def free_phase(N: int, L: float, hbar: float, mass: float, dt: float) -> np.ndarray:
    """``exp(-i E_n dt / hbar)`` for each mode, computed without losing the phase's digits.

    ``E_n dt / hbar = hbar n^2 pi^2 dt / (2 mass L^2)`` can be huge for a light particle; the
    integer ``n^2`` is kept exact and the phase reduced modulo ``2 pi`` before ``exp``.
    """
    n = np.arange(1, N + 1, dtype=np.int64)
    omega = hbar * math.pi**2 * dt / (2.0 * mass * L * L)  # phase per unit n^2
    theta = np.mod((n * n).astype(np.float64) * omega, 2.0 * math.pi)
    return np.exp(-1j * theta)


def eigenfunction_grid_values(n: int, N: int, L: float) -> np.ndarray:
    """Grid values ``sqrt(dx) phi_n(x_j)`` of eigenfunction ``n`` (= the DST-I of a unit vector)."""
    x = grid(N, L)
    return math.sqrt(spacing(N, L)) * math.sqrt(2.0 / L) * np.sin(n * math.pi * x / L)


def ground_state(N: int, dtype=np.complex128) -> np.ndarray:
    """Sine coefficients of the ground state ``phi_1``."""
    c = np.zeros(N, dtype=dtype)
    c[0] = 1.0
    return c


def is_power_of_two_size(N: int) -> bool:
    """True when ``N + 1`` is a power of two (the fastest DST-I lengths)."""
    m = N + 1
    return N >= 1 and (m & (m - 1)) == 0


def is_smooth_size(N: int) -> bool:
    """True when ``N + 1`` has no prime factor above 5 (fast DST-I lengths)."""
    if N < 1:
        return False
    m = N + 1
    for p in (2, 3, 5):
        while m % p == 0:
            m //= p
    return m == 1


def good_size(n_min: int, kind: str = "pow2") -> int:
    """Smallest ``N >= n_min`` with ``N + 1`` a power of two (``kind='pow2'``) or 5-smooth
    (``kind='smooth'``)."""
    n_min = max(1, int(n_min))
    if kind == "pow2":
        return (1 << (n_min).bit_length()) - 1 if not is_power_of_two_size(n_min) else n_min
    if kind == "smooth":
        N = n_min
        while not is_smooth_size(N):
            N += 1
        return N
    raise ValueError(f"good_size: kind must be 'pow2' or 'smooth', got {kind!r}")
