"""Diffusion estimates from a mean-square-momentum time series.

Kept apart from the engines: the classical and quantum runs both report
``D = <p1^2>(t_f) / t_f`` (the paper's definition, momenta starting at 0)
beside least-squares slopes over chosen windows.
"""

from __future__ import annotations

import math

import numpy as np


def linear_slope(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``y(t)`` and its standard error from the residuals.

    The residuals of a diffusion curve are correlated in time, so the error is
    a lower bound; the spread over trajectories is the honest error of ``D``.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    n = t.size
    if n < 2:
        return math.nan, math.nan
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = float(tc @ (y - y.mean())) / sxx
    if n < 3:
        return slope, math.nan
    resid = y - y.mean() - slope * tc
    return slope, math.sqrt(float(resid @ resid) / (n - 2) / sxx)


def diffusion_estimates(t: np.ndarray, p_sq: np.ndarray, p_sq_sem: np.ndarray,
                        fit_window: tuple[float, float]) -> dict[str, float]:
    """``D`` three ways from ``<p^2>(t)`` sampled at integer ``t = 0..t_f``.

    * ``D``: ``<p^2>(t_f) / t_f`` with ``D_err`` from the ensemble spread at ``t_f``;
    * ``slope_fit`` (``slope_fit_err``): slope over ``fit_window`` (fractions of t_f);
    * ``slope_full``: slope over ``[1, t_f]``; ``slope_late``: over ``[t_f/2, t_f]``.
    """
    t = np.asarray(t, dtype=float)
    t_f = float(t[-1])
    lo, hi = fit_window

    def window(a: float, b: float) -> np.ndarray:
        return (t >= a * t_f) & (t <= b * t_f) & (t >= 1)

    fit, fit_err = linear_slope(t[window(lo, hi)], p_sq[window(lo, hi)])
    full, _ = linear_slope(t[window(0.0, 1.0)], p_sq[window(0.0, 1.0)])
    late, _ = linear_slope(t[window(0.5, 1.0)], p_sq[window(0.5, 1.0)])
    return {
        "D": float(p_sq[-1]) / t_f,
        "D_err": float(p_sq_sem[-1]) / t_f,
        "slope_fit": fit,
        "slope_fit_err": fit_err,
        "fit_window_lo": lo * t_f,
        "fit_window_hi": hi * t_f,
        "slope_full": full,
        "slope_late": late,
    }
