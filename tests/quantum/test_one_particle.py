"""The exact one-particle Floquet map and the random-kick model."""

import math

import numpy as np
import pytest

from kickedpair.quantum import basis
from kickedpair.quantum.one_particle import (
    floquet_step,
    kick_offsets,
    realisation_rng,
    run_one_particle,
)

L = math.pi


def test_free_evolution_of_eigenstate_superposition_has_exact_phases():
    N, hbar, mass, t = 63, 0.3, 0.7, 9
    rng = np.random.default_rng(3)
    c0 = np.zeros(N, complex)
    c0[:6] = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    c0 /= np.linalg.norm(c0)
    run = run_one_particle(N, K=0.0, hbar=hbar, mass=mass, n_kicks=t, c0=c0)
    E = (hbar * np.arange(1, N + 1) * math.pi / L) ** 2 / (2 * mass)
    assert np.allclose(run.state[0], c0 * np.exp(-1j * E * t / hbar), atol=1e-12)
    # and the wave function itself, evaluated on the grid from the eigenfunctions
    x = basis.grid(N, L)
    psi = sum(
        c0[n - 1] * np.exp(-1j * E[n - 1] * t / hbar) * math.sqrt(2 / L) * np.sin(n * math.pi * x / L)
        for n in range(1, 7)
    )
    assert np.allclose(basis.dst(run.state[0]), math.sqrt(L / (N + 1)) * psi, atol=1e-12)


def test_kick_is_unitary_and_commutes_with_position():
    N, K, hbar = 40, 1.8, 0.1
    x = basis.grid(N, L)
    kick = np.exp(-1j * K / hbar * np.cos(x))
    M = floquet_step(np.eye(N, dtype=complex), kick[None, :], np.ones(N))  # rows: images of e_n
    assert np.allclose(M @ M.conj().T, np.eye(N), atol=1e-13)
    # the kicked grid values are the grid values times the kick factor
    rng = np.random.default_rng(0)
    c = rng.standard_normal(N) + 0j
    out = floquet_step(c.copy(), kick, np.ones(N))
    assert np.allclose(basis.dst(out), kick * basis.dst(c), atol=1e-13)


def test_norm_conserved_over_many_kicks():
    run = run_one_particle(255, K=1.8, hbar=0.1, n_kicks=2000)
    assert np.abs(run.norm - 1).max() < 1e-12


def test_zero_width_random_kicks_equal_deterministic_map():
    det = run_one_particle(127, K=1.8, hbar=0.1, n_kicks=100)
    rnd = run_one_particle(127, K=1.8, hbar=0.1, n_kicks=100, W=0.0, seed=5, realisations=range(3))
    for i in range(3):
        assert np.allclose(rnd.p2[i], det.p2[0], rtol=1e-12, atol=0)


def test_random_kicks_reproducible_and_independent_of_split():
    kw = dict(K=1.8, hbar=0.1, n_kicks=60, W=0.05, seed=2024, record_times=(30, 60))
    whole = run_one_particle(127, realisations=range(6), **kw)
    again = run_one_particle(127, realisations=range(6), **kw)
    assert np.array_equal(whole.p2, again.p2)
    part_a = run_one_particle(127, realisations=[0, 1, 2], **kw)
    part_b = run_one_particle(127, realisations=[5, 3, 4], **kw)
    assert np.allclose(np.vstack([part_a.p2, part_b.p2[[1, 2, 0]]]), whole.p2, rtol=1e-13, atol=0)
    assert np.allclose(part_b.distributions[60][0], whole.distributions[60][5], rtol=1e-12, atol=1e-300)
    # realisations are distinct, and the random kicks change the dynamics
    det = run_one_particle(127, **{**kw, "W": 0.0})
    assert not np.allclose(whole.p2[0], whole.p2[1])
    assert not np.allclose(whole.p2[0], det.p2[0])


def test_offsets_come_from_spawned_seed_sequences():
    dk = kick_offsets(7, range(4), 10, 0.01)
    child = np.random.SeedSequence(7).spawn(4)[2]
    assert np.array_equal(dk[2], np.random.default_rng(child).uniform(-0.01, 0.01, 10))
    assert np.array_equal(kick_offsets(7, [2], 10, 0.01)[0], dk[2])
    assert np.abs(dk).max() <= 0.01
    assert realisation_rng(7, 2).random() == np.random.default_rng(child).random()
    assert not np.any(kick_offsets(7, range(4), 10, 0.0))


def test_record_times_and_bounds():
    run = run_one_particle(63, K=1.0, hbar=0.2, n_kicks=5, record_times=(0, 5))
    assert set(run.distributions) == {0, 5}
    assert run.distributions[0][0, 0] == 1.0
    assert run.distributions[5][0] @ run.momenta**2 == pytest.approx(run.p2[0, 5], rel=1e-14)
    with pytest.raises(ValueError):
        run_one_particle(63, K=1.0, hbar=0.2, n_kicks=5, record_times=(6,))


def test_dynamical_localisation_at_hbar_005():
    """K = 1.8, hbar = 0.05 localises: <p^2> grows much less over [100, 200] than over [0, 100].

    MODEL.md section 6 measured the plateau <p^2> ~ 5.2 from t ~ 200 with N = 1023."""
    run = run_one_particle(1023, K=1.8, hbar=0.05, n_kicks=200)
    p2 = run.p2[0]
    assert np.abs(run.norm - 1).max() < 1e-12
    assert run.tail.max() < 1e-8
    early = p2[90:111].mean() - p2[0]
    late = p2[190:].mean() - p2[90:111].mean()
    assert early > 1.0
    assert late < 0.35 * early
    assert 2.0 < p2[150:].mean() < 9.0


def test_quantum_saturates_where_the_classical_ensemble_keeps_growing():
    """Same K = 1.8 map: quantum (hbar = 0.05) localises, the classical ensemble diffuses."""
    from kickedpair.classical.ensemble import run_classical
    from kickedpair.params import parse_config

    quantum = run_one_particle(1023, K=1.8, hbar=0.05, n_kicks=200).p2[0]
    classical = run_classical(parse_config({"physics": {"eps": 0.0},
                                            "classical": {"n_trajectories": 3000, "n_kicks": 200}}),
                              progress="none").p1_sq
    q_early, q_late = quantum[100] - quantum[0], quantum[200] - quantum[100]
    c_early, c_late = classical[100] - classical[0], classical[200] - classical[100]
    assert c_late > 0.6 * c_early  # classical: still linear growth
    assert q_late < 0.3 * q_early  # quantum: saturated
    assert classical[200] > 2.5 * quantum[200]
