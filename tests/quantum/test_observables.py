"""Observables of the two-particle state, their slab reduction, and the guards."""

import math

import numpy as np
import pytest

from kickedpair.errors import GuardError
from kickedpair.quantum import basis
from kickedpair.quantum import two_particle as tp
from kickedpair.quantum.observables import check_guards, tail_start, two_particle_observables
from kickedpair.quantum.one_particle import run_one_particle

L = math.pi


def random_state(N1, N2, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((N1, N2)) + 1j * rng.standard_normal((N1, N2))
    return c / np.linalg.norm(c)


def test_product_and_maximally_entangled_states():
    N1, N2, hbar = 20, 8, 0.3
    p1, p2 = basis.momenta(N1, L, hbar), basis.momenta(N2, L, hbar)
    a = np.zeros(N1, complex)
    a[[2, 5]] = [0.6, 0.8j]
    b = np.zeros(N2, complex)
    b[[0, 3]] = [0.8, -0.6]
    o = two_particle_observables(np.outer(a, b), p1, p2, mass2=0.1)
    assert o["purity"] == pytest.approx(1.0, abs=1e-14)
    assert o["norm"] == pytest.approx(1.0, abs=1e-14)
    assert o["p1sq"] == pytest.approx(0.36 * p1[2] ** 2 + 0.64 * p1[5] ** 2, rel=1e-14)
    assert o["p2sq"] == pytest.approx(0.64 * p2[0] ** 2 + 0.36 * p2[3] ** 2, rel=1e-14)
    assert o["E2"] == pytest.approx(o["p2sq"] / 0.2) and o["E1"] == pytest.approx(o["p1sq"] / 2)
    assert np.allclose(o["P1_local"], np.abs(a) ** 2) and np.allclose(o["P2"], np.abs(b) ** 2)
    c = np.zeros((N1, N2))
    c[np.arange(N2), np.arange(N2)] = 1 / math.sqrt(N2)
    assert two_particle_observables(c, p1, p2)["purity"] == pytest.approx(1 / N2, rel=1e-13)


def test_purity_equals_trace_rho1_squared():
    c = random_state(12, 5)
    rho1 = c @ c.conj().T
    o = two_particle_observables(c, np.ones(12), np.ones(5))
    assert o["purity"] == pytest.approx(np.trace(rho1 @ rho1).real, rel=1e-13)


def test_tails_count_the_top_five_percent_of_modes():
    assert tail_start(100) == 95 and tail_start(15) == 14 and tail_start(1023) == 971
    N1, N2 = 100, 15
    c = np.zeros((N1, N2), complex)
    c[0, 0] = math.sqrt(0.5)
    c[96, 0] = math.sqrt(0.3)
    c[1, 14] = math.sqrt(0.2)
    o = two_particle_observables(c, np.ones(N1), np.ones(N2))
    assert o["tail1"] == pytest.approx(0.3) and o["tail2"] == pytest.approx(0.2)


def test_slab_partial_sums_add_up_to_the_whole():
    N1, N2 = 37, 9
    c = random_state(N1, N2, 3)
    p1, p2 = basis.momenta(N1, L, 0.1), basis.momenta(N2, L, 0.1)
    whole = two_particle_observables(c, p1, p2, mass2=0.01)
    bounds = [0, 5, 17, 35, 37]  # includes a slab holding only tail rows
    packed = []
    for lo, hi in zip(bounds, bounds[1:]):
        two_particle_observables(c[lo:hi], p1, p2, row_start=lo, reduce=lambda v: packed.append(v) or v)
    total = np.sum(packed, axis=0)
    for lo, hi in zip(bounds, bounds[1:]):
        o = two_particle_observables(c[lo:hi], p1, p2, mass2=0.01, row_start=lo, reduce=lambda v: total)
        assert np.allclose(o["P1_local"], whole["P1_local"][lo:hi])
        for key in ("norm", "p1sq", "p2sq", "E2", "purity", "tail1", "tail2"):
            assert o[key] == pytest.approx(whole[key], rel=1e-13, abs=1e-16), key


def test_guards_pass_and_trip_with_named_messages():
    check_guards("m=1e-3,hbar=0.05", 7, 1.0 + 5e-11, {"particle 1": 1e-9, "particle 2": 0.0})
    with pytest.raises(GuardError) as e:
        check_guards("m=1e-3,hbar=0.05", 7, 1.0 + 2e-10)
    msg = str(e.value)
    assert "cell m=1e-3,hbar=0.05" in msg and "'norm'" in msg and "t=7" in msg and "2.000e-10" in msg
    with pytest.raises(GuardError, match="norm"):
        check_guards("c", 1, float("nan"))
    with pytest.raises(GuardError) as e:
        check_guards("c", 3, 1.0, {"particle 1": 0.0, "particle 2": 3e-6})
    msg = str(e.value)
    assert "top-5% modes of particle 2" in msg and "3.000e-06" in msg and "t=3" in msg
    check_guards("c", 3, 1.0, {"particle 2": 3e-6}, tail_tol=1e-5)


def test_one_particle_guard_trips_on_too_small_grid():
    run = run_one_particle(63, K=1.8, hbar=0.05, n_kicks=40)
    t = int(np.argmax(run.tail[0] > 1e-8))
    assert t > 0
    with pytest.raises(GuardError) as e:
        for s in range(run.tail.shape[1]):
            check_guards("one K=1.8 hbar=0.05 N=63", s, run.norm[0, s], {"particle 1": run.tail[0, s]})
    assert "cell one K=1.8 hbar=0.05 N=63" in str(e.value) and f"t={t}" in str(e.value)
    assert "top-5% modes of particle 1" in str(e.value)
    # a large enough grid passes over the same time
    big = run_one_particle(1023, K=1.8, hbar=0.05, n_kicks=40)
    assert big.tail.max() < 1e-8


def test_two_particle_guard_trips_on_too_small_grid_of_particle2():
    sys = tp.TwoParticleSystem(N1=255, N2=3, hbar=0.05, mass2=1e-3, K1=1.8, K2=0.0, strength=2.0, a=10.0)
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    prop = tp.LightExactPropagator(sys, tr, 10)

    def observe(t, c):
        o = two_particle_observables(c, sys.p1(), sys.p2(), mass2=sys.mass2)
        check_guards("two N2=3", t, o["norm"], {"particle 1": o["tail1"], "particle 2": o["tail2"]})

    with pytest.raises(GuardError, match="cell two N2=3: guard 'top-5% modes of particle 2'"):
        tp.evolve(prop, tp.initial_state(tr), 3, observe)
