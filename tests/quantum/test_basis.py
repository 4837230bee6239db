"""Grid, orthonormal DST-I conventions, mode energies, FFT-friendly sizes."""

import math

import numpy as np
import pytest

from kickedpair.quantum import basis

L = math.pi


@pytest.mark.parametrize("N", [1, 7, 31, 100])
def test_dst_round_trip_and_parseval(N):
    rng = np.random.default_rng(N)
    c = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    g = basis.dst(c)
    assert np.allclose(basis.dst(g), c, atol=1e-14, rtol=0)
    assert np.sum(np.abs(g) ** 2) == pytest.approx(np.sum(np.abs(c) ** 2), rel=1e-14)


def test_dst_along_each_axis_of_a_2d_array():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9, 5)) + 1j * rng.standard_normal((9, 5))
    for axis in (0, 1):
        b = basis.dst(a, axis=axis)
        assert np.allclose(basis.dst(b, axis=axis), a, atol=1e-14)
    # the 2-D transform is the matrix sandwich S1 a S2
    S1 = basis.dst(np.eye(9), axis=0)
    S2 = basis.dst(np.eye(5), axis=0)
    assert np.allclose(basis.dst(basis.dst(a, axis=0), axis=1), S1 @ a @ S2, atol=1e-13)
    assert np.allclose(S1, S1.T) and np.allclose(S1 @ S1, np.eye(9), atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_coefficients_map_to_scaled_eigenfunction_values(n):
    """The stated convention: grid values are sqrt(dx) psi(x_j) with psi = sum c_n phi_n."""
    N = 16
    c = np.zeros(N)
    c[n - 1] = 1.0
    x = basis.grid(N, L)
    phi = math.sqrt(2 / L) * np.sin(n * math.pi * x / L)
    assert np.allclose(basis.dst(c), math.sqrt(basis.spacing(N, L)) * phi, atol=1e-14)
    assert np.allclose(basis.eigenfunction_grid_values(n, N, L), basis.dst(c), atol=1e-14)


def test_grid_and_modes():
    N = 7
    x = basis.grid(N, 2.0)
    assert np.allclose(x, np.arange(1, 8) * 2.0 / 8)
    p = basis.momenta(N, 2.0, 0.1)
    assert np.allclose(p, 0.1 * np.arange(1, 8) * math.pi / 2.0)
    E = basis.mode_energies(N, 2.0, 0.1, mass=0.01)
    assert np.allclose(E, p**2 / 0.02)


def test_free_phase_matches_direct_exponential_and_keeps_digits():
    N, hbar, m, dt = 63, 0.05, 1e-3, 1.0
    E = basis.mode_energies(N, L, hbar, m)
    ph = basis.free_phase(N, L, hbar, m, dt)
    assert np.allclose(ph, np.exp(-1j * E * dt / hbar), atol=1e-10)
    assert np.allclose(np.abs(ph), 1.0, atol=1e-15)
    # huge phases: the n^2 structure is exact, e.g. phase(2n) = phase(n)^4
    ph = basis.free_phase(4000, L, 1.0, 1e-4, 1.0)
    assert np.allclose(ph[2 * 1000 - 1], ph[1000 - 1] ** 4, atol=1e-8)


def test_good_sizes():
    assert basis.good_size(1000) == 1023
    assert basis.good_size(1023) == 1023
    assert basis.good_size(1024) == 2047
    assert basis.good_size(1) == 1
    assert basis.good_size(999, "smooth") == 999  # 1000 = 2^3 5^3
    assert basis.good_size(1000, "smooth") == 1023
    assert basis.is_power_of_two_size(8191) and not basis.is_power_of_two_size(8192)
    assert basis.is_smooth_size(1199) and not basis.is_smooth_size(4096)  # 1200; 4097 = 17 * 241
    with pytest.raises(ValueError):
        basis.good_size(10, "prime")


def test_unscaled_pair_is_exact_inverse_without_norm_drift():
    """dst_down(dst_up(c)) = c; 2000 pairs keep the norm (the orthonormal pair drifts ~2.6e-13
    at N = 63, measured, from its rounded normalisation constant)."""
    N = 63
    rng = np.random.default_rng(5)
    c = rng.standard_normal((20, N)) + 1j * rng.standard_normal((20, N))
    c /= np.linalg.norm(c, axis=1)[:, None]
    assert np.allclose(basis.dst_up(c, axis=1), math.sqrt(2 * (N + 1)) * basis.dst(c, axis=1), atol=1e-13)
    d = c.copy()
    for _ in range(2000):
        d = basis.dst_down(basis.dst_up(d, axis=1), axis=1)
    assert np.abs(np.linalg.norm(d, axis=1) ** 2 - 1).max() < 2e-14
