"""Diffusion estimates from a mean-square-momentum time series.

Kept apart from the engines: the classical and quantum runs both report
``D = <p1^2>(t_f) / t_f`` (the paper's definition, momenta starting at 0)
beside least-squares slopes over chosen windows.

The residuals of a diffusion curve about its fitted line are strongly correlated in
time (``<p^2>(t)`` is one cumulative random walk of the ensemble), so the error of a
slope from them is a lower bound, several times too small.  Where the run recorded
``<p^2>(t)`` for fixed blocks of trajectories (the classical engine), the error of a
slope is the spread of the same fit over the blocks (:func:`block_slope_error`),
honest whatever the time correlation because the blocks are independent.

A quantum run is one state, not an ensemble: its ``<p^2>(t)`` fluctuates from kick to kick
about a smooth trend (a few percent to ~10% near t = 100), and ``D = <p^2>(t_f) / t_f`` reads
that trend through one noisy sample.  Its error is the size of that fluctuation at the end of
the run (:func:`endpoint_fluctuation`): the standard deviation of ``<p^2>(t)`` about a straight
line fitted over the last ``error_window`` of the run.  The endpoint is one sample, so the time
correlation of the fluctuation does not shrink its error (it would shrink the error of a time
average); a fluctuation slower than the window is partly taken up by the line and not counted.
"""

from __future__ import annotations

import math

import numpy as np

#: ``slope_err_method`` of the estimates: the spread over trajectory blocks, or the
#: least-squares residuals (a lower bound; runs without blocks)
ERROR_METHODS = ("blocks", "residuals")
#: ``D_err_method``: the ensemble's standard error at t_f, or the fluctuation of one run's
#: ``<p^2>(t)`` about its trend over the last ``error_window`` of the run
D_ERROR_METHODS = ("ensemble", "fluctuation")
#: points the fluctuation estimate needs at the least (a line takes two of them)
MIN_FLUCTUATION_POINTS = 5
#: the largest lag-1 correlation of the residuals the fluctuation estimate corrects for
MAX_CORRELATION = 0.9


def linear_slope(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``y(t)`` and its standard error from the residuals.

    The residuals of a diffusion curve are correlated in time, so the error is
    a lower bound; the spread over trajectories is the honest error of ``D``
    (and of the slope, :func:`block_slope_error`).
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    n = t.size
    if n < 2:
        return math.nan, math.nan
    slope, resid, sxx = _line(t, y)
    if n < 3:
        return slope, math.nan
    return slope, math.sqrt(float(resid @ resid) / (n - 2) / sxx)


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The least-squares line through ``y(t)`` (at least two distinct ``t``): its slope, the
    residuals about it and ``sum (t - mean t)^2``."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = float(tc @ (y - y.mean())) / sxx
    return slope, y - y.mean() - slope * tc, sxx


def endpoint_fluctuation(t: np.ndarray, y: np.ndarray, error_window: float) -> float:
    """Standard deviation of ``y(t)`` about a least-squares line over the last ``error_window``
    (a fraction of ``t_f = t[-1]``) of the run: the error of ``y(t_f)`` as an estimate of the
    trend there.  ``sqrt(RSS / (n - k))`` with ``k = 2 (1 + phi) / (1 - phi)`` the degrees of
    freedom the line takes from noise of lag-1 correlation ``phi`` (that of the residuals,
    clipped to ``[0, MAX_CORRELATION]``; ``k = 2`` for white noise).  The window takes at
    least :data:`MIN_FLUCTUATION_POINTS` points with ``t >= 1``; NaN when the series has fewer."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    usable = t >= 1
    t, y = t[usable], y[usable]
    if t.size < MIN_FLUCTUATION_POINTS:
        return math.nan
    n = max(MIN_FLUCTUATION_POINTS, int(np.count_nonzero(t >= t[-1] * (1.0 - error_window))))
    resid = _line(t[-n:], y[-n:])[1]
    rss = float(resid @ resid)
    if rss == 0.0:
        return 0.0
    # a line fitted to noise correlated over a few kicks takes up more than its 2 degrees of
    # freedom: about 2 (1 + phi) / (1 - phi) for a lag-1 correlation phi of the residuals
    phi = min(max(float(resid[1:] @ resid[:-1]) / rss, 0.0), MAX_CORRELATION)
    taken = 2.0 * (1.0 + phi) / (1.0 - phi)
    return math.sqrt(rss / max(n - taken, 1.0))


def block_slopes(t: np.ndarray, y_blocks: np.ndarray) -> np.ndarray:
    """Least-squares slope of every column of ``y_blocks`` (shape ``(len(t), B)``) against ``t``."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y_blocks, dtype=float)
    if t.size < 2:
        return np.full(y.shape[1], math.nan)
    tc = t - t.mean()
    return tc @ (y - y.mean(axis=0)) / float(tc @ tc)


def block_slope_error(t: np.ndarray, y_blocks: np.ndarray,
                      counts: np.ndarray | None = None) -> tuple[float, float]:
    """Slope of the ensemble mean and its standard error from ``B`` independent blocks.

    ``y_blocks[:, b]`` is the mean of ``y`` over block ``b`` of ``counts[b]`` trajectories
    (equal blocks when ``counts`` is None).  The slope of the ensemble mean is the
    count-weighted mean ``s`` of the block slopes ``s_b``; its error is
    ``sqrt(sum_b counts_b (s_b - s)^2 / ((B - 1) N))``, which for equal blocks is
    ``std(s_b, ddof=1) / sqrt(B)``.  NaN with fewer than 2 blocks.
    """
    s_b = block_slopes(t, y_blocks)
    n_blocks = s_b.size
    w = np.ones(n_blocks) if counts is None else np.asarray(counts, dtype=float)
    if n_blocks == 0:
        return math.nan, math.nan
    s = float(w @ s_b / w.sum())
    if n_blocks < 2:
        return s, math.nan
    var = float(w @ (s_b - s) ** 2) / ((n_blocks - 1) * w.sum())
    return s, math.sqrt(var)


def diffusion_estimates(t: np.ndarray, p_sq: np.ndarray, p_sq_sem: np.ndarray | None,
                        fit_window: tuple[float, float], p_sq_blocks: np.ndarray | None = None,
                        block_counts: np.ndarray | None = None,
                        error_window: float = 0.2) -> dict[str, float | int | str]:
    """``D`` three ways from ``<p^2>(t)`` sampled at integer ``t = 0..t_f``.

    * ``D``: ``<p^2>(t_f) / t_f`` with ``D_err`` from the ensemble's standard error at
      ``t_f`` (``p_sq_sem``, ``D_err_method = 'ensemble'``) or, for one state
      (``p_sq_sem`` None, the quantum runs), from the fluctuation of ``<p^2>(t)`` over the
      last ``error_window`` of the run (:func:`endpoint_fluctuation`, ``'fluctuation'``);
    * ``slope_fit`` (``slope_fit_err``): slope over ``fit_window`` (fractions of t_f);
    * ``slope_full``: slope over ``[1, t_f]``; ``slope_late`` (``slope_late_err``): over
      ``[t_f/2, t_f]``.

    The slope errors: with ``p_sq_blocks`` (``<p^2>(t)`` of fixed blocks of trajectories,
    shape ``(len(t), B)``, ``B >= 2``; ``block_counts`` trajectories each) the standard error
    of the same fit over the blocks (:func:`block_slope_error`), ``slope_err_method =
    'blocks'``; without them (the quantum runs) the least-squares residual error,
    ``slope_err_method = 'residuals'``, only a lower bound since the residuals are
    correlated in time.  ``n_blocks`` is B (0 without blocks); ``slope_fit_err_residuals``
    and ``slope_late_err_residuals`` keep the residual errors for comparison.
    """
    t = np.asarray(t, dtype=float)
    p_sq = np.asarray(p_sq, dtype=float)
    t_f = float(t[-1])
    lo, hi = fit_window
    blocks = None if p_sq_blocks is None else np.asarray(p_sq_blocks, dtype=float)
    if blocks is not None and (blocks.ndim != 2 or blocks.shape[0] != t.size):
        raise ValueError(f"p_sq_blocks: expected shape ({t.size}, B), got {blocks.shape}")
    use_blocks = blocks is not None and blocks.shape[1] >= 2

    def window(a: float, b: float) -> np.ndarray:
        return (t >= a * t_f) & (t <= b * t_f) & (t >= 1)

    def slope(a: float, b: float) -> tuple[float, float, float]:
        """Slope over the window, its error (by the method in use), its residual error."""
        w = window(a, b)
        s, resid_err = linear_slope(t[w], p_sq[w])
        err = block_slope_error(t[w], blocks[w], block_counts)[1] if use_blocks else resid_err
        return s, err, resid_err

    fit, fit_err, fit_resid = slope(lo, hi)
    full, _, _ = slope(0.0, 1.0)
    late, late_err, late_resid = slope(0.5, 1.0)
    if p_sq_sem is None:
        d_err, d_method = endpoint_fluctuation(t, p_sq, error_window) / t_f, D_ERROR_METHODS[1]
    else:
        d_err, d_method = float(np.asarray(p_sq_sem, dtype=float)[-1]) / t_f, D_ERROR_METHODS[0]
    return {
        "D": float(p_sq[-1]) / t_f,
        "D_err": d_err,
        "D_err_method": d_method,
        "slope_fit": fit,
        "slope_fit_err": fit_err,
        "fit_window_lo": lo * t_f,
        "fit_window_hi": hi * t_f,
        "slope_full": full,
        "slope_late": late,
        "slope_late_err": late_err,
        "slope_err_method": ERROR_METHODS[0] if use_blocks else ERROR_METHODS[1],
        "n_blocks": int(blocks.shape[1]) if blocks is not None else 0,
        "slope_fit_err_residuals": fit_resid,
        "slope_late_err_residuals": late_resid,
    }
