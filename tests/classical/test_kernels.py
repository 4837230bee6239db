"""The classical integrators against exact limits, their own convergence, and RK4."""

import math

import numpy as np
import pytest

from kickedpair.classical.ensemble import initial_ensemble, run_classical, steps_per_kick
from kickedpair.classical.kernels import drift_in_well, energy, rk4_period, strang_period
from kickedpair.params import parse_config

L = math.pi


def standard_map_in_well(x, p, K, L, n_kicks):
    """Five-line reference: kick, then free flight folded back into [0, L]."""
    for _ in range(n_kicks):
        p = p + K * np.sin(x)
        y = x + p
        bounces = np.floor(y / L)
        r = np.mod(y, 2 * L)
        x, p = np.where(r <= L, r, 2 * L - r), np.where(bounces % 2 == 0, p, -p)
    return x, p


def test_drift_single_bounce_impulse_time():
    # from x=0.1 at v=-1 over dt=0.3: bounce at tau=0.1, ends at 0.2 moving right
    x, sign, w = drift_in_well(0.1, -1.0, 0.3, L)
    assert x == pytest.approx(0.2) and sign == -1.0
    assert w == pytest.approx(-0.1 + 0.2)  # -(tau) + (dt - tau)
    x, sign, w = drift_in_well(1.0, 0.5, 0.3, L)
    assert (x, sign, w) == (1.0 + 0.15, 1.0, 0.3)


def test_drift_many_bounces_matches_folding():
    rng = np.random.default_rng(3)
    for x0, v in zip(rng.uniform(0, L, 200), rng.normal(0, 30, 200)):
        xs, ps = standard_map_in_well(np.array([x0]), np.array([v]), 0.0, L, 1)
        x, sign, _ = drift_in_well(x0, v, 1.0, L)
        assert x == pytest.approx(xs[0], abs=1e-11)
        assert sign * v == pytest.approx(ps[0], rel=1e-15)


def test_eps_zero_is_the_standard_map():
    n_kicks, n = 60, 500
    cfg = parse_config({"physics": {"eps": 0.0},
                        "classical": {"n_trajectories": n, "n_kicks": n_kicks, "snapshot_times": [n_kicks]}})
    assert steps_per_kick(cfg.physics, cfg.classical) == 1  # exact single flight per period
    run = run_classical(cfg, progress="none")
    x1, _, p1_start, _ = initial_ensemble(n, cfg.classical.seed, L)
    assert np.all(p1_start == 0.0)
    _, p_ref = standard_map_in_well(x1, np.zeros(n), 1.8, L, n_kicks)
    p1, p2 = run.snapshots[n_kicks]
    np.testing.assert_array_equal(p1, p_ref)  # bitwise: the same flight, folded the same way
    assert np.all(p2 == 0.0)  # K2 = 0 and no interaction: particle 2 never moves
    ref_series = np.mean(p_ref**2)
    assert run.p1_sq[-1] == pytest.approx(ref_series, rel=1e-14)


def test_eps_zero_with_substeps_equals_single_flight():
    base = {"physics": {"eps": 0.0}, "classical": {"n_trajectories": 300, "n_kicks": 4, "snapshot_times": [4]}}
    one = run_classical(parse_config(base), progress="none")
    base["classical"]["steps_per_kick"] = 37
    many = run_classical(parse_config(base), progress="none")
    np.testing.assert_allclose(many.snapshots[4][0], one.snapshots[4][0], rtol=0, atol=1e-12)


def _random_state(n, m, seed=11):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0, L, n), rng.uniform(0, L, n)
    # momenta large enough that most trajectories bounce on the walls within a period
    p1, p2 = rng.normal(0, 3, n), rng.normal(0, 3 * math.sqrt(m), n)
    return x1, p1, x2, p2


def _mean_energy_error(m, n_steps, integrator=strang_period, n=2000):
    x1, p1, x2, p2 = _random_state(n, m)
    de = np.empty(n)
    integrator(x1, p1, x2, p2, n_steps, m, 2.0, 10.0, L, de)
    return float(np.mean(np.abs(de)))


@pytest.mark.parametrize("m, steps", [(1.0, (250, 500, 1000)), (1e-3, (4000, 8000, 16000))])
def test_strang_energy_error_is_second_order_with_bounces(m, steps):
    errors = [_mean_energy_error(m, s) for s in steps]
    ratios = [errors[i] / errors[i + 1] for i in range(len(errors) - 1)]
    for r in ratios:
        assert 3.2 < r < 5.0, (errors, ratios)
    # and the error is small at the finest step
    assert errors[-1] < 1e-3


def test_energy_is_conserved_between_kicks_at_the_auto_step():
    cfg = parse_config({"physics": {"mass_ratio": 1e-3},
                        "classical": {"n_trajectories": 400, "n_kicks": 10}})
    run = run_classical(cfg, progress="none")
    # ensemble mean relative drift per period, the guard's measure
    assert run.energy_drift_mean[1:].max() < 1e-3
    assert np.all(run.energy_drift_mean[1:] > 0)  # really measured, not zero by construction


def test_strang_agrees_with_rk4_reference_per_trajectory():
    """One period from the same states: RK4 at 1e5 steps (the paper's reference)."""
    m, n = 1e-3, 100
    state = _random_state(n, m, seed=5)
    ref = [a.copy() for a in state]
    de = np.empty(n)
    rk4_period(*ref, 100_000, m, 2.0, 10.0, L, de)
    deviations = []
    for steps in (1000, 2000, 4000):
        s = [a.copy() for a in state]
        strang_period(*s, steps, m, 2.0, 10.0, L, de)
        deviations.append(np.median(np.abs(s[1] - ref[1])))
    # converges towards the reference, second order (factor ~4 per doubling)
    assert deviations[0] / deviations[2] > 8, deviations
    assert deviations[2] < 1e-3, deviations


def test_strang_agrees_with_rk4_on_the_ensemble():
    common = {"physics": {"mass_ratio": 1e-3},
              "classical": {"n_trajectories": 200, "n_kicks": 4, "max_energy_drift": 1.0}}
    rk = run_classical(parse_config({**common, "classical": {**common["classical"], "scheme": "rk4",
                                                             "steps_per_kick": 100_000}}), progress="none")
    st = run_classical(parse_config(common), progress="none")
    assert rk.force_evals_per_period / st.force_evals_per_period > 50
    for t in range(1, 5):
        assert abs(st.p1_sq[t] - rk.p1_sq[t]) < rk.p1_sq_sem[t], (t, st.p1_sq[t], rk.p1_sq[t])


def test_energy_helper_matches_kernel_bookkeeping():
    x1, p1, x2, p2 = _random_state(50, 0.1)
    e0 = energy(x1, p1, x2, p2, 0.1, 2.0, 10.0)
    de = np.empty(50)
    a = [v.copy() for v in (x1, p1, x2, p2)]
    strang_period(*a, 200, 0.1, 2.0, 10.0, L, de)
    np.testing.assert_allclose(energy(*a, 0.1, 2.0, 10.0) - e0, de, atol=1e-12)
