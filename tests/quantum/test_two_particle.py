"""Two-particle propagators: exact limits, agreement of the two splittings, convergence order."""

import math

import numpy as np
import pytest

from kickedpair.params import Physics
from kickedpair.quantum import basis
from kickedpair.quantum import two_particle as tp
from kickedpair.quantum.observables import two_particle_observables
from kickedpair.quantum.one_particle import run_one_particle

L = math.pi


def small_system(strength=2.0, N1=63, N2=15, hbar=0.2, mass2=0.05, K2=0.0):
    return tp.TwoParticleSystem(N1=N1, N2=N2, hbar=hbar, mass2=mass2, K1=1.8, K2=K2, strength=strength, a=10.0)


def run(prop, sys, n_kicks, c0=None):
    tr = prop.tr
    c = tp.initial_state(tr) if c0 is None else c0
    rows = []

    def observe(t, c):
        o = two_particle_observables(c, sys.p1(), sys.p2(), mass2=sys.mass2)
        rows.append((o["p1sq"], o["purity"], o["norm"], o["p2sq"]))

    c = tp.evolve(prop, c, n_kicks, observe)
    return np.array(rows), c


def test_from_physics_uses_interaction_strength_and_exponent():
    ph = Physics(hbar=0.1, eps=2.0, lam=10.0, mass_ratio=0.01, coupling_scales_with_hbar=True)
    sys = tp.TwoParticleSystem.from_physics(ph, 31, 15)
    assert sys.strength == pytest.approx(0.2) and sys.a == 10.0 and sys.mass2 == 0.01
    ph = Physics(hbar=0.1, eps=2.0, lam=4.0, interaction="gaussian_width")
    assert tp.TwoParticleSystem.from_physics(ph, 31, 15).a == 0.25
    with pytest.raises(ValueError):
        tp.TwoParticleSystem.from_physics(Physics(), 31, 15)


def test_eps0_equals_product_of_one_particle_runs():
    sys = small_system(strength=0.0, K2=0.7, hbar=0.15)
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    n = 25
    obs, c = run(tp.FreePropagator(sys, tr), sys, n)
    one = run_one_particle(sys.N1, K=sys.K1, hbar=sys.hbar, n_kicks=n)
    two = run_one_particle(sys.N2, K=sys.K2, hbar=sys.hbar, mass=sys.mass2, n_kicks=n)
    assert np.allclose(c, np.outer(one.state[0], two.state[0]), atol=1e-12, rtol=0)
    assert np.allclose(obs[:, 0], one.p2[0], rtol=1e-12)
    assert np.allclose(obs[:, 3], two.p2[0], rtol=1e-12)
    assert np.abs(obs[:, 1] - 1).max() < 1e-12  # purity stays 1
    assert np.abs(obs[:, 2] - 1).max() < 1e-12


@pytest.mark.parametrize("scheme,S", [("strang", 1), ("strang", 3), ("light_exact", 1), ("light_exact", 4)])
def test_splittings_are_exact_without_interaction(scheme, S):
    """With V_I = 0 both splittings reduce to the exact free map for any number of substeps."""
    sys = small_system(strength=0.0, K2=0.4)
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    _, ref = run(tp.FreePropagator(sys, tr), sys, 6)
    _, c = run(tp.make_propagator(sys, tr, scheme, S), sys, 6)
    assert np.allclose(c, ref, atol=1e-12, rtol=0)


def test_light_exact_converges_to_plain_strang_at_second_order():
    """Both splittings approximate the same discrete Hamiltonian: they converge, at second
    order, to the same limit (N1=63, N2=15, hbar=0.2, m=0.05; limit measured with 1280 and
    6400 substeps: <p1^2>(3) = 1.570164, purity(3) = 0.6134853)."""
    sys = small_system()
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    n = 3
    # (below ~80 substeps the light-particle-exact scheme is not yet in its asymptotic regime)
    le = {S: run(tp.LightExactPropagator(sys, tr, S), sys, n) for S in (80, 160, 320)}
    st = {S: run(tp.StrangPropagator(sys, tr, S), sys, n) for S in (400, 800, 1600)}
    # second order: successive differences of the state shrink ~4x as the step halves
    for runs in (le, st):
        Ss = sorted(runs)
        d = [np.linalg.norm(runs[a][1] - runs[b][1]) for a, b in zip(Ss, Ss[1:])]
        for big, small in zip(d, d[1:]):
            assert 3.0 < big / small < 6.0, d
    # the two agree on <p1^2>(t) and purity(t) to their discretisation errors ...
    assert np.allclose(le[320][0][:, :2], st[1600][0][:, :2], rtol=3e-5, atol=0)
    assert not np.allclose(le[80][0][:, :2], st[1600][0][:, :2], rtol=3e-5, atol=0)
    # ... and their Richardson extrapolations agree much better
    ext_le = (4 * le[320][0] - le[160][0]) / 3
    ext_st = (4 * st[1600][0] - st[800][0]) / 3
    assert np.allclose(ext_le[:, :2], ext_st[:, :2], rtol=3e-6, atol=0)
    assert ext_le[-1, 0] == pytest.approx(1.570164, abs=3e-6)
    assert ext_le[-1, 1] == pytest.approx(0.6134853, abs=3e-6)
    for runs in (le, st):
        for obs, _ in runs.values():
            assert np.abs(obs[:, 2] - 1).max() < 1e-12


def test_dense_and_eigen_blocks_agree():
    sys = small_system()
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    _, a = run(tp.LightExactPropagator(sys, tr, 7, blocks="eig"), sys, 3)
    _, b = run(tp.LightExactPropagator(sys, tr, 7, blocks="dense"), sys, 3)
    assert np.allclose(a, b, atol=1e-12, rtol=0)


def test_block_propagator_is_exp_of_particle2_hamiltonian():
    from scipy.linalg import expm

    sys = small_system(N1=7, N2=9)
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    prop = tp.LightExactPropagator(sys, tr, 5)
    H = tp.particle2_hamiltonians(sys, slice(0, sys.N1))
    # H2 in the sine basis: T2 + S diag(V_I(x1_j, .)) S, real symmetric
    S = basis.dst(np.eye(sys.N2), axis=0)
    v = tp.interaction_grid(sys, slice(0, sys.N1))
    j = 3
    assert np.allclose(H[j], np.diag(basis.mode_energies(sys.N2, L, sys.hbar, sys.mass2)) + S @ np.diag(v[j]) @ S)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((sys.N1, sys.N2)) + 1j * rng.standard_normal((sys.N1, sys.N2))
    out = prop.apply_blocks(a.copy())
    assert np.allclose(out[j], expm(-1j * H[j] * 0.2 / sys.hbar) @ a[j], atol=1e-12)


def test_norm_conserved_over_many_steps():
    sys = small_system()
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    obs, _ = run(tp.LightExactPropagator(sys, tr, 20), sys, 40)
    assert np.abs(obs[:, 2] - 1).max() < 1e-12
    obs, _ = run(tp.StrangPropagator(sys, tr, 50), sys, 10)
    assert np.abs(obs[:, 2] - 1).max() < 1e-12


def test_interaction_entangles_purity_decreases():
    sys = small_system()
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    obs, _ = run(tp.LightExactPropagator(sys, tr, 20), sys, 5)
    assert obs[0, 1] == pytest.approx(1.0, abs=1e-14)
    assert np.all(obs[1:, 1] < 0.99)
    free, _ = run(tp.FreePropagator(small_system(strength=0.0), tr), sys, 5)
    assert np.abs(free[:, 1] - 1).max() < 1e-12


def test_make_propagator_choices():
    sys = small_system()
    tr = tp.SerialTransforms(sys.N1, sys.N2)
    assert isinstance(tp.make_propagator(sys, tr, "auto", 4), tp.LightExactPropagator)
    assert isinstance(tp.make_propagator(small_system(strength=0.0), tr, "auto"), tp.FreePropagator)
    with pytest.raises(ValueError, match="strength 0"):
        tp.make_propagator(sys, tr, "free")
    with pytest.raises(ValueError, match="substeps"):
        tp.make_propagator(sys, tr, "strang")
    with pytest.raises(ValueError, match="unknown scheme"):
        tp.make_propagator(sys, tr, "rk4", 3)
    with pytest.raises(ValueError):
        tp.StrangPropagator(sys, tp.SerialTransforms(31, 15), 3)
