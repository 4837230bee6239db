"""The error of Dq: the fluctuation of one run's <p1^2>(t) about its trend at t_f.

A quantum run is one state, so D = <p^2>(t_f) / t_f reads a smooth trend through one noisy
sample.  On synthetic series with a known trend and known noise (white, and correlated in time
as the quantum fluctuations are), the stated error must cover the truth at the stated level:
about 68% of the runs within one error, 95% within two.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.analysis import D_ERROR_METHODS, MIN_FLUCTUATION_POINTS, diffusion_estimates, endpoint_fluctuation

T_F = 500
T = np.arange(T_F + 1, dtype=float)
SEEDS = 2000


def ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) noise of marginal standard deviation ``sigma`` and lag-1 correlation ``phi``."""
    out = np.empty(n)
    out[0] = rng.normal(0.0, sigma)
    kick = sigma * math.sqrt(1.0 - phi * phi)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + rng.normal(0.0, kick)
    return out


def diffusive(t):
    return 0.09 * t


def localised(t):
    return 5.2 * (1.0 - np.exp(-t / 60.0))


def coverage(trend, phi: float, rel_noise: float, window: float, error=None) -> tuple[float, float]:
    """Fractions of SEEDS synthetic runs whose D lies within one and within two stated errors of
    the trend's ``trend(t_f) / t_f``.  ``error``: the estimate under test (default the run's)."""
    truth = float(trend(T[-1])) / T_F
    sigma = rel_noise * float(trend(T[-1]))
    rng = np.random.default_rng(12345)
    within1 = within2 = 0
    for _ in range(SEEDS):
        p_sq = trend(T) + ar1(rng, T.size, phi, sigma)
        est = diffusion_estimates(T, p_sq, None, (0.2, 1.0), error_window=window)
        err = est["D_err"] if error is None else error(p_sq)
        dev = abs(est["D"] - truth)
        within1 += dev <= err
        within2 += dev <= 2 * err
    return within1 / SEEDS, within2 / SEEDS


@pytest.mark.parametrize("trend,phi,rel_noise", [
    (diffusive, 0.0, 0.03),     # white noise, 3% (hbar ~ 0.02)
    (diffusive, 0.6, 0.10),     # correlated over a few kicks, 10% (hbar ~ 0.05)
    (localised, 0.8, 0.05),     # saturated <p^2>, correlated over ~5 kicks
])
def test_dq_error_covers_the_trend_at_the_stated_level(trend, phi, rel_noise):
    one, two = coverage(trend, phi, rel_noise, window=0.2)
    # 2000 runs: the binomial standard deviation of a 68% fraction is 1.0%, of 95% is 0.5%
    assert 0.63 <= one <= 0.73, one
    assert 0.93 <= two <= 0.975, two


def test_an_error_of_the_window_mean_would_fail_the_coverage_test():
    """The test can fail: the standard error of a 100-kick mean (std / sqrt(n)) is the error of a
    time average, not of the endpoint, and covers the truth in far fewer than 68% of the runs."""
    def sem_of_window(p_sq):
        tail = p_sq[-101:]
        return float(np.std(tail - diffusive(T[-101:]), ddof=1)) / math.sqrt(tail.size) / T_F

    one, _ = coverage(diffusive, 0.0, 0.03, window=0.2, error=sem_of_window)
    assert one < 0.2


def test_fluctuation_of_an_exact_line_is_zero_and_of_known_noise_is_its_size():
    assert endpoint_fluctuation(T, 0.3 + 0.09 * T, 0.2) == pytest.approx(0.0, abs=1e-12)
    alternating = 0.09 * T + 0.5 * (-1.0) ** T  # +-0.5 about the line
    assert endpoint_fluctuation(T, alternating, 0.2) == pytest.approx(0.5, rel=0.02)


def test_window_is_the_last_fraction_of_the_run_and_never_fewer_than_five_points():
    y = 0.09 * T.copy()
    y[:250] += 10.0 * np.sin(T[:250])  # noise in the first half only
    assert endpoint_fluctuation(T, y, 0.5) == pytest.approx(0.0, abs=1e-9)
    assert endpoint_fluctuation(T, y, 0.6) > 1.0
    short = np.arange(4.0)
    assert math.isnan(endpoint_fluctuation(short, short, 1.0))  # t = 1..3: three points
    t = np.arange(21.0)
    y = t + np.where(t >= 16, (-1.0) ** t, 0.0)  # the last 5 points alternate
    assert endpoint_fluctuation(t, y, 0.01) > 0.5  # 1% of 20 kicks is widened to 5 points
    assert MIN_FLUCTUATION_POINTS == 5


def test_ensemble_runs_keep_the_standard_error_of_the_ensemble():
    sem = np.full(T.size, 0.7)
    est = diffusion_estimates(T, diffusive(T), sem, (0.2, 1.0))
    assert est["D_err"] == pytest.approx(0.7 / T_F)
    assert est["D_err_method"] == D_ERROR_METHODS[0] == "ensemble"
    one = diffusion_estimates(T, diffusive(T) + 0.5 * (-1.0) ** T, None, (0.2, 1.0))
    assert one["D_err_method"] == "fluctuation"
    assert one["D_err"] == pytest.approx(0.5 / T_F, rel=0.02)
