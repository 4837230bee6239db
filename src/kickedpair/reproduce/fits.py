"""Momentum-distribution fits and distances (Fig. 2b and Fig. 3c).

The distributions are those of the sine basis of the well: ``P(n)`` at the positive momenta
``p_n = hbar n pi / L`` (mirrored to ``-p`` only for plots). Two forms (MODEL.md section 3):

    exponential   ln P = a - |p| / xi      (dynamical localisation)
    gaussian      ln P = a - p^2 / zeta    (classical diffusion)

each fitted by least squares on ``ln P`` over the same points, so their rms residuals in
``ln P`` are directly comparable (both have two parameters); the form with the smaller rms
residual is the better one. The kurtosis ``<p^4>/<p^2>^2`` (3 Gaussian, 6 exponential) is
reported beside the fits as a shape measure that needs no fit region.

Fit region (:func:`fit_region`): the contiguous run of modes from ``n = skip_modes + 1`` to the
last mode with ``P >= floor * max P`` (default ``floor = 1e-6``, ``skip_modes = 0``). Why:

* the floor keeps about 14 e-folds of the profile, ample to tell a straight line in ``ln P``
  (exponential) from a parabola (Gaussian), while staying two decades above the 1e-8 tail
  tolerance of the engines' guards, so no fitted point is set by the truncation of the grid
  or by round-off;
* the region is contiguous: modes inside it that dip below the floor (the mode-to-mode
  fluctuations of a coherent state) are kept, since dropping them would lift the fitted tail;
  only modes with ``P <= 0`` (no logarithm) are left out;
* ``skip_modes`` can drop the lowest modes if the memory of the initial ground state matters
  (it does not after hundreds of kicks, hence 0 by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .common import fit_line

__all__ = ["FORMS", "FIT_FLOOR", "FIT_SKIP_MODES", "FormFit", "DistributionFit", "fit_region",
           "fit_distribution", "kurtosis", "mirror", "hellinger_distance", "kolmogorov_distance", "common_modes"]

FORMS = ("exponential", "gaussian")
FIT_FLOOR = 1.0e-6       # fit down to this fraction of the largest P(n)
FIT_SKIP_MODES = 0       # lowest modes left out of the fit


@dataclass(frozen=True)
class FormFit:
    """One fitted form: ``ln P = a - |p|/width`` (exponential) or ``a - p^2/width`` (gaussian)."""

    form: str
    a: float
    a_err: float
    width: float        # xi (exponential) or zeta (gaussian); NaN if the fit does not decay
    width_err: float
    rms: float          # rms residual in ln P over the fit region
    n: int              # points fitted

    def ln_p(self, p: np.ndarray) -> np.ndarray:
        p = np.abs(np.asarray(p, float))
        x = p if self.form == "exponential" else p**2
        return self.a - x / self.width

    def p_of(self, p: np.ndarray) -> np.ndarray:
        """The fitted P at momenta ``p`` (same normalisation as the fitted P(n))."""
        return np.exp(self.ln_p(p))


@dataclass(frozen=True)
class DistributionFit:
    exponential: FormFit
    gaussian: FormFit
    better: str         # the form with the smaller rms residual in ln P
    p_lo: float         # momentum range fitted
    p_hi: float
    floor: float
    skip_modes: int
    kurtosis: float     # <p^4>/<p^2>^2 of the whole distribution: 3 Gaussian, 6 exponential

    def form(self, name: str) -> FormFit:
        return {"exponential": self.exponential, "gaussian": self.gaussian}[name]


def fit_region(P: np.ndarray, floor: float = FIT_FLOOR, skip_modes: int = FIT_SKIP_MODES) -> np.ndarray:
    """Boolean mask of the modes fitted (see the module docstring for the rule)."""
    P = np.asarray(P, float)
    mask = np.zeros(P.shape, bool)
    ok = np.isfinite(P)
    if not ok.any() or P[ok].max() <= 0:
        return mask
    above = np.flatnonzero(ok & (P >= floor * np.max(P[ok])))
    lo, hi = int(skip_modes), int(above[-1])
    if hi < lo:
        return mask
    mask[lo:hi + 1] = True
    return mask & ok & (P > 0)


def _form_fit(form: str, x: np.ndarray, lnP: np.ndarray) -> FormFit:
    f = fit_line(x, lnP)
    decays = math.isfinite(f.slope) and f.slope < 0
    width = -1.0 / f.slope if decays else float("nan")
    width_err = f.slope_err / f.slope**2 if decays else float("nan")
    return FormFit(form, f.intercept, f.intercept_err, width, width_err, f.rms, f.n)


def fit_distribution(p: np.ndarray, P: np.ndarray, floor: float = FIT_FLOOR,
                     skip_modes: int = FIT_SKIP_MODES) -> DistributionFit:
    """Exponential and Gaussian least-squares fits of ``ln P`` against ``|p|`` and ``p^2`` over
    :func:`fit_region`; parameters with standard errors, rms residuals, the better form."""
    p, P = np.asarray(p, float), np.asarray(P, float)
    if p.shape != P.shape:
        raise ValueError(f"p and P differ in shape: {p.shape} vs {P.shape}")
    mask = fit_region(P, floor, skip_modes)
    x, lnP = np.abs(p[mask]), np.log(P[mask])
    expo = _form_fit("exponential", x, lnP)
    gauss = _form_fit("gaussian", x**2, lnP)
    better = "gaussian" if gauss.rms < expo.rms else "exponential"
    p_lo = float(x.min()) if x.size else float("nan")
    p_hi = float(x.max()) if x.size else float("nan")
    return DistributionFit(expo, gauss, better, p_lo, p_hi, floor, skip_modes, kurtosis(p, P))


def kurtosis(p: np.ndarray, P: np.ndarray) -> float:
    """``<p^4> / <p^2>^2`` of the symmetric distribution: 3 for a Gaussian, 6 for an exponential
    (Laplace) profile. A shape measure with no fit region, reported beside the fits."""
    p, P = np.asarray(p, float), np.clip(np.asarray(P, float), 0, None)
    m2, m4 = float(np.sum(P * p**2)), float(np.sum(P * p**4))
    total = float(np.sum(P))
    return m4 * total / m2**2 if m2 > 0 else float("nan")


def mirror(p: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The symmetric density for plots: ``P/2`` at ``-p_n`` and at ``p_n``, sorted in p."""
    p, P = np.asarray(p, float), np.asarray(P, float)
    return np.concatenate([-p[::-1], p]), np.concatenate([P[::-1], P]) / 2.0


def common_modes(P: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both distributions on the modes they share (``n = 1 .. min(N_P, N_Q)``, the same
    momenta at the same hbar), each renormalised to 1 there."""
    n = min(len(P), len(Q))
    P, Q = np.clip(np.asarray(P[:n], float), 0, None), np.clip(np.asarray(Q[:n], float), 0, None)
    return P / P.sum(), Q / Q.sum()


def hellinger_distance(P: np.ndarray, Q: np.ndarray) -> float:
    """``sqrt(1 - sum_n sqrt(P_n Q_n))`` on the common modes: 0 for equal distributions,
    1 for disjoint ones; insensitive to the far tails, where both carry little probability."""
    P, Q = common_modes(P, Q)
    bc = float(np.sum(np.sqrt(P * Q)))
    return math.sqrt(max(0.0, 1.0 - bc))


def kolmogorov_distance(P: np.ndarray, Q: np.ndarray) -> float:
    """``max_n |F_P(n) - F_Q(n)|`` of the cumulative distributions in ``|p|`` on the common modes.

    Compares the envelopes: unlike the Hellinger or total-variation distances it is blind to
    the mode-to-mode fluctuations of a coherent state (two states with the same exponential
    envelope but independent Porter-Thomas fluctuations are ~0.46 apart in Hellinger distance),
    while a width ratio r of two exponential envelopes gives ``r^(-1/(r-1)) (1 - 1/r)``
    (0.15 at r = 1.5).
    """
    P, Q = common_modes(P, Q)
    return float(np.max(np.abs(np.cumsum(P) - np.cumsum(Q))))
