"""Physics checks of the classical engine against independent computations."""

import numpy as np

from kickedpair.classical.ensemble import run_classical
from kickedpair.params import parse_config


def standard_map_diffusion(K, n, n_kicks, seed):
    """<p^2>(t)/t of the standard map on the circle (no walls), x0 uniform on (0, pi), p0 = 0.

    The well with L = pi is the standard map folded by the symmetry x -> -x of
    cos x, so the two must agree statistically.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, np.pi, n)
    p = np.zeros(n)
    for _ in range(n_kicks):
        p += K * np.sin(x)
        x = np.mod(x + p, 2 * np.pi)
    q = p**2
    return q.mean() / n_kicks, q.std(ddof=1) / np.sqrt(n) / n_kicks


def test_eps_zero_diffusion_equals_the_standard_map():
    n, n_kicks = 6000, 150
    cfg = parse_config({"physics": {"eps": 0.0, "K1": 1.8},
                        "classical": {"n_trajectories": n, "n_kicks": n_kicks, "seed": 1}})
    run = run_classical(cfg, progress="none")
    d_ref, err_ref = standard_map_diffusion(1.8, n, n_kicks, seed=999)
    combined = np.hypot(run.Dc_err, err_ref)
    assert abs(run.Dc - d_ref) < 3 * combined, (run.Dc, d_ref, combined)
    # it is diffusion, not a frozen or ballistic ensemble: well below quasilinear K^2/4 and well above 0
    assert 0.02 < run.Dc < 1.8**2 / 4


def test_light_particle_barely_moves_heavy_one():
    """m -> small: Dc approaches the eps = 0 value (paper Fig. 1 trend), at a short t_f."""
    common = {"n_trajectories": 1500, "n_kicks": 40, "seed": 4}
    free = run_classical(parse_config({"physics": {"eps": 0.0}, "classical": common}), progress="none")
    heavy2 = run_classical(parse_config({"physics": {"mass_ratio": 1.0}, "classical": common}),
                           progress="none")
    # an equal-mass partner changes the heavy particle's diffusion markedly
    assert abs(heavy2.Dc - free.Dc) > 3 * np.hypot(heavy2.Dc_err, free.Dc_err)
    # the particle-2 energy is shared: <p2^2> of an equal-mass partner is comparable to <p1^2>
    assert heavy2.p2_sq[-1] > 0.1 * heavy2.p1_sq[-1]
