"""classical.initial: the paper's ensemble (x uniform, p = 0) or the quantum initial state's
(x from the ground-state densities, p = +-pi hbar / L).

Checked against what is known independently: the ground state's position distribution
(a Kolmogorov-Smirnov test against F(x) = x/L - sin(2 pi x/L)/(2 pi), which the uniform ensemble
fails), the quantum engine's <p1^2>(0) and <p2^2>(0), and the uniform ensemble of old runs, bit
for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kickedpair.classical.ensemble import (ground_state_positions, initial_ensemble, run_classical,
                                           steps_per_kick)
from kickedpair.errors import ConfigError
from kickedpair.params import parse_config
from kickedpair.quantum.evolution import run_quantum

L = math.pi
N = 100_000


def ground_state_cdf(x):
    return x / L - np.sin(2 * np.pi * x / L) / (2 * np.pi)


def test_quantum_positions_follow_the_ground_state_density_and_uniform_ones_do_not():
    x1, x2, _, _ = initial_ensemble(N, 11, L, "quantum", 0.1)
    for x in (x1, x2):
        assert np.all((x > 0) & (x < L))
        assert stats.kstest(x, ground_state_cdf).pvalue > 1e-3
    u1, _, _, _ = initial_ensemble(N, 11, L)
    assert stats.kstest(u1, ground_state_cdf).pvalue < 1e-10  # the test tells the two apart
    # <sin^2> weighting: <(x - L/2)^2> = L^2 (1/12 - 1/(2 pi^2)) for the ground state
    assert np.mean((x1 - L / 2) ** 2) == pytest.approx(L**2 * (1 / 12 - 1 / (2 * np.pi**2)), rel=0.01)


def test_inverse_cdf_is_exact_and_monotone():
    u = np.linspace(0.0, 1.0, 1001)[:-1]
    x = ground_state_positions(u, L)
    np.testing.assert_allclose(ground_state_cdf(x), u, atol=1e-13)
    assert np.all(np.diff(x) > 0)


def test_quantum_momenta_are_the_sine_mode_momentum_with_random_signs():
    hbar = 0.07
    _, _, p1, p2 = initial_ensemble(N, 3, L, "quantum", hbar)
    for p in (p1, p2):
        np.testing.assert_allclose(np.abs(p), np.pi * hbar / L, rtol=1e-15)
        assert abs(np.mean(p > 0) - 0.5) < 4 * 0.5 / math.sqrt(N)
    assert abs(np.corrcoef(np.sign(p1), np.sign(p2))[0, 1]) < 4 / math.sqrt(N)


def test_uniform_ensemble_is_the_one_runs_always_drew():
    x1, x2, p1, p2 = initial_ensemble(1000, 20200101, L)
    old = np.random.default_rng(20200101).uniform(0.0, L, size=(1000, 2))
    np.testing.assert_array_equal(x1, old[:, 0])
    np.testing.assert_array_equal(x2, old[:, 1])
    assert not p1.any() and not p2.any()


def test_classical_and_quantum_runs_start_from_the_same_mean_square_momenta():
    hbar, m = 0.1, 0.01
    physics = {"hbar": hbar, "mass_ratio": m, "eps": 2.0}
    classical = run_classical(parse_config({"physics": physics, "classical": {
        "n_trajectories": 2000, "n_kicks": 1, "initial": "quantum"}}), progress="none")
    quantum = run_quantum(parse_config({"physics": physics, "quantum": {
        "n_kicks": 1, "N1": 63, "N2": 31, "substeps": 8, "self_check_kicks": 0}}), progress="none")
    for key in ("p1_sq", "p2_sq"):
        assert classical.__dict__[key][0] == pytest.approx(quantum.series[key][0], rel=1e-12)
    assert classical.p1_sq[0] == pytest.approx((np.pi * hbar / L) ** 2, rel=1e-12)


def test_the_quantum_ensemble_needs_hbar_and_a_step_for_the_fast_light_particle():
    with pytest.raises(ConfigError, match=r"classical.initial: 'quantum' .* needs physics.hbar"):
        parse_config({"classical": {"initial": "quantum"}})
    with pytest.raises(ConfigError, match="classical.initial"):
        parse_config({"classical": {"initial": "sin2"}})
    physics = {"hbar": 0.2, "mass_ratio": 1e-3, "eps": 2.0}
    uniform = parse_config({"physics": physics})
    quantum = parse_config({"physics": physics, "classical": {"initial": "quantum"}})
    # particle 2 starts at pi hbar / (L m) = 200: the automatic step shrinks with it
    assert steps_per_kick(quantum.physics, quantum.classical) > 1.5 * steps_per_kick(uniform.physics,
                                                                                    uniform.classical)
