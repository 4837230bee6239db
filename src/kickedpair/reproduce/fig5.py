"""Fig. 5: purity Tr(rho1^2) of particle 1 versus time for several kick strengths K2 of particle 2.

The paper (Section 3) couples the particles with strength ``eps * hbar`` (negligible in the
semiclassical limit), takes ``K1 = 5, m = 0.01, eps = 20, lam = 10, hbar = 1e-4`` and reports that
the purity decays as a power law ``t^-beta`` for small ``K2`` (0, 0.03, 0.05: particle 2 nearly
regular) and exponentially, ``exp(-gamma t)``, for ``K2 >= 0.09`` (particle 2 chaotic), nearly
independently of ``K2`` there.

Per ``K2`` both forms are fitted by least squares, ``ln purity`` on ``ln t`` over the variant's
``power_window`` and ``ln purity`` on ``t`` over its ``exp_window`` (fractions of ``n_kicks``,
points with ``t >= 1`` only), and the form with the smaller rms residual in ``ln purity`` is
called the better one, unless the two rms differ by less than a factor ``INDISTINGUISHABLE``.

The variant may list several ``hbar`` (a scan towards the paper's semiclassical regime): every
``K2`` runs at each.  Comparisons 1-4 are made at the smallest ``hbar``; comparison 5 asks
whether the contrast between the groups grows as ``hbar`` falls, the contrast being
:func:`form_gap` (how much more the large-``K2`` runs prefer the exponential than the small-``K2``
runs, in mean ``ln(rms_power / rms_exp)``).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

import numpy as np

from .common import (convergence_notes, convergence_row, fit_line, flag_unaccepted, read_result, resolution_row,
                     write_table)
from .figkit import comparison, joined, judged, num, panels, pm, sci, span, summary, variant_note, verdict_of

TABLES = ("fig5_purity.csv", "fig5_fits.csv")

PAPER_HBAR = 1.0e-4       # the paper's hbar (its cluster-scale "paper" variant), only to say how far this one is
SMALL_K2_MAX = 0.05       # the paper's groups (Section 3): "small K2" are 0, 0.03, 0.05 ...
LARGE_K2_MIN = 0.09       # ... and the exponential regime is K2 >= 0.09
INDISTINGUISHABLE = 1.2   # two fits whose rms residuals (in ln purity) differ by less than this factor are alike
SAME_TOL = 0.2            # "nearly independent of K2": gamma and the curves of the extreme large K2 within 20%,
Z_AGREE = 2.0             # or gamma within 2 combined standard errors
CONVERGENCE_TOL = 1.0e-2  # a change of the purity above this in the convergence check is named as a cause
HALF = 0.5                # t_half: the purity level whose crossing is timed


# --------------------------------------------------------------------------- fits
def window_mask(t: np.ndarray, purity: np.ndarray, n_kicks: float, window: Sequence[float]) -> np.ndarray:
    """Points with ``lo * n_kicks <= t <= hi * n_kicks``, ``t >= 1`` and a positive finite purity."""
    t, purity = np.asarray(t, float), np.asarray(purity, float)
    lo, hi = float(window[0]) * n_kicks, float(window[1]) * n_kicks
    eps = 1e-9 * max(n_kicks, 1.0)
    return ((t >= lo - eps) & (t <= hi + eps) & (t >= 1.0)
            & np.isfinite(purity) & (purity > 0))


def better_form(rms_power: float, rms_exp: float, factor: float = INDISTINGUISHABLE) -> str:
    """"power", "exponential" or "indistinguishable" (rms within ``factor`` of each other);
    "undetermined" when either rms is missing."""
    if not (math.isfinite(rms_power) and math.isfinite(rms_exp)):
        return "undetermined"
    lo, hi = min(rms_power, rms_exp), max(rms_power, rms_exp)
    if hi <= factor * lo + 1e-12:
        return "indistinguishable"
    return "power" if rms_power < rms_exp else "exponential"


def decay_fits(t: Sequence[float], purity: Sequence[float], n_kicks: float,
               power_window: Sequence[float], exp_window: Sequence[float],
               factor: float = INDISTINGUISHABLE) -> dict:
    """Power law ``purity = A t^-beta`` and exponential ``purity = B exp(-gamma t)`` by least
    squares in ``ln purity``; their errors and rms residuals, and the better form."""
    t, purity = np.asarray(t, float), np.asarray(purity, float)
    mp = window_mask(t, purity, n_kicks, power_window)
    me = window_mask(t, purity, n_kicks, exp_window)
    pw = fit_line(np.log(t[mp]), np.log(purity[mp]))
    ex = fit_line(t[me], np.log(purity[me]))
    return {"beta": -pw.slope, "beta_err": pw.slope_err, "ln_A_power": pw.intercept,
            "rms_power": pw.rms, "n_power": pw.n,
            "gamma": -ex.slope, "gamma_err": ex.slope_err, "ln_A_exp": ex.intercept,
            "rms_exp": ex.rms, "n_exp": ex.n,
            "better": better_form(pw.rms, ex.rms, factor)}


def crossing_time(t: Sequence[float], purity: Sequence[float], level: float = HALF) -> float:
    """First time the purity falls below ``level``, interpolated linearly in ln purity between the
    bracketing records; NaN if it never does."""
    t, purity = np.asarray(t, float), np.asarray(purity, float)
    below = np.nonzero(purity < level)[0]
    if len(below) == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(t[0])
    y0, y1 = math.log(purity[k - 1]), math.log(purity[k])
    return float(t[k - 1] + (math.log(level) - y0) / (y1 - y0) * (t[k] - t[k - 1]))


def curve_difference(t_a: np.ndarray, p_a: np.ndarray, t_b: np.ndarray, p_b: np.ndarray,
                     mask_t: np.ndarray) -> float:
    """Largest relative difference ``exp(max |ln(p_a / p_b)|) - 1`` over the common times in ``mask_t``."""
    common = np.intersect1d(np.intersect1d(t_a, t_b), mask_t)
    if len(common) == 0:
        return float("nan")
    a = p_a[np.searchsorted(t_a, common)]
    b = p_b[np.searchsorted(t_b, common)]
    ok = (a > 0) & (b > 0)
    if not ok.any():
        return float("nan")
    return float(math.expm1(np.max(np.abs(np.log(a[ok] / b[ok])))))


# --------------------------------------------------------------------------- verdicts
def group_verdict(forms: Sequence[str], expected: str) -> str:
    """agrees: every run of the group prefers ``expected``; differs: none does; partly otherwise."""
    return verdict_of(f == expected for f in forms)


def same_decay_verdict(rel_gamma: float, z_gamma: float, rel_curve: float,
                       tol: float = SAME_TOL, z_max: float = Z_AGREE) -> str:
    """agrees: gamma equal (relative difference <= tol, or within z_max errors) and the curves
    within tol; partly: one of the two; differs: neither."""
    gamma_same = (math.isfinite(rel_gamma) and rel_gamma <= tol) or (math.isfinite(z_gamma) and z_gamma <= z_max)
    curve_same = math.isfinite(rel_curve) and rel_curve <= tol
    if not (math.isfinite(rel_gamma) or math.isfinite(rel_curve)):
        return "not compared"
    return verdict_of([gamma_same, curve_same])


def contrast_verdict(small_forms: Sequence[str], large_forms: Sequence[str], ordered: bool) -> str:
    """agrees: most small-K2 runs prefer the power law, most large-K2 runs the exponential, and every
    large-K2 purity at t_f lies below every small-K2 one; partly: one of the two; differs: neither."""
    if not small_forms or not large_forms:
        return "not compared"
    contrast = (sum(f == "power" for f in small_forms) > len(small_forms) / 2
                and sum(f == "exponential" for f in large_forms) > len(large_forms) / 2)
    return verdict_of([contrast, bool(ordered)])


def gamma_difference(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, float]:
    """Relative difference of two fitted gammas (over their mean) and its size in combined
    standard errors (inf when neither has an error)."""
    mean_g = 0.5 * (a["gamma"] + b["gamma"])
    rel = abs(a["gamma"] - b["gamma"]) / abs(mean_g) if mean_g else float("nan")
    z = abs(a["gamma"] - b["gamma"]) / math.hypot(a["gamma_err"], b["gamma_err"]) \
        if a["gamma_err"] > 0 or b["gamma_err"] > 0 else float("inf")
    return rel, z


def form_gap(small: Sequence[Mapping[str, float]], large: Sequence[Mapping[str, float]]) -> float:
    """Mean ``ln(rms_power / rms_exp)`` of the large-K2 runs minus that of the small-K2 runs: 0 when
    both groups prefer the same form alike, > 0 in the paper's sense (large K2 nearer the
    exponential); NaN without both groups."""
    def mean_log(group):
        logs = [math.log(e["rms_power"] / e["rms_exp"]) for e in group
                if e["rms_power"] > 0 and e["rms_exp"] > 0 and math.isfinite(e["rms_power"] / e["rms_exp"])]
        return sum(logs) / len(logs) if logs else float("nan")
    return mean_log(large) - mean_log(small)


def trend_verdict(gaps: Sequence[float]) -> str:
    """Comparison 5, ``gaps`` ordered by falling hbar: agrees if the gap is larger at the smallest
    hbar than at the largest and never falls from one hbar to the next; partly if one of the two;
    differs if neither; not compared with fewer than two finite gaps."""
    g = [x for x in gaps if math.isfinite(x)]
    if len(g) < 2:
        return "not compared"
    return verdict_of([g[-1] > g[0], all(b >= a for a, b in zip(g, g[1:]))])


# --------------------------------------------------------------------------- load
def _curve(run: Mapping[str, Any]) -> dict:
    res = read_result(run["result"])
    t = np.asarray(res.series["t"], float)
    p = np.asarray(res.series["purity"], float)
    order = np.argsort(t)
    return {"K2": float(run["role"]["K2"]), "hbar": float(run["role"]["hbar"]), "run": run, "config": res.config,
            "attrs": res.attrs, "t": t[order], "purity": p[order]}


def load(plan: Mapping[str, Any]) -> SimpleNamespace:
    """Per hbar (falling) and K2 (rising) the run with its purity curve as read (K2, hbar, run,
    config, attrs, t, purity sorted in t); the fit windows; the convergence and resolution rows."""
    v = plan["variant"]
    runs = sorted((r for r in plan["runs"] if r["engine"] == "quantum"),
                  key=lambda r: (-float(r["role"]["hbar"]), float(r["role"]["K2"])))
    curves = [_curve(r) for r in runs]
    return SimpleNamespace(variant=v, n_kicks=int(v["n_kicks"]), curves=curves,
                           windows=(list(v["power_window"]), list(v["exp_window"])),
                           convergence=[convergence_row(r) for r in runs if r.get("convergence")],
                           resolution=[resolution_row(r) for r in runs])


# --------------------------------------------------------------------------- measure
def _fitted(c: dict, n_kicks: int, power_window, exp_window) -> dict:
    t, p = c["t"], c["purity"]
    return {**c, **decay_fits(t, p, n_kicks, power_window, exp_window),
            "mask_power": window_mask(t, p, n_kicks, power_window),
            "mask_exp": window_mask(t, p, n_kicks, exp_window),
            "purity_tf": float(p[-1]), "t_f": float(t[-1]), "t_half": crossing_time(t, p)}


def convergence_max(rows: Sequence[Mapping[str, Any]]) -> float:
    """Largest change of the purity in the convergence checks: relative over the first kicks,
    absolute over the end stretch (no larger than the relative one for a purity <= 1)."""
    conv_max = max((abs(float(row[k])) for row in rows for k in ("half_step_purity", "double_grid_purity")
                    if math.isfinite(float(row[k]))), default=float("nan"))
    return max([conv_max] + [abs(float(row[k])) for row in rows
                             for k in ("end_half_step_purity_abs", "end_double_grid_purity_abs")
                             if math.isfinite(float(row.get(k, float("nan"))))])


def _groups(entries: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """The paper's small-K2 and large-K2 groups among ``entries``."""
    return ([e for e in entries if e["K2"] <= SMALL_K2_MAX + 1e-12],
            [e for e in entries if e["K2"] >= LARGE_K2_MIN - 1e-12])


def measure(data: SimpleNamespace) -> SimpleNamespace:
    """The curves with their fits, fit masks, purity(t_f), t_half (``entries``), grouped by hbar
    (falling, ``by_hbar``) with each hbar's contrast (``gaps``: :func:`form_gap`); the smallest hbar
    (``hbar``, where comparisons 1-4 are made), eps, whether the coupling scales with hbar, the
    coupling there and at the paper's hbar; the largest purity change in the convergence checks."""
    entries = [_fitted(c, data.n_kicks, *data.windows) for c in data.curves]
    by_hbar: dict[float, list[dict]] = {}
    for e in entries:
        by_hbar.setdefault(e["hbar"], []).append(e)
    hbar = min(by_hbar) if by_hbar else float(np.min(data.variant["hbar"]))
    phys = by_hbar[hbar][0]["config"].get("physics", {}) if by_hbar else {}
    eps = float(phys.get("eps", float("nan")))
    scales = bool(phys.get("coupling_scales_with_hbar", False))
    gaps = {h: form_gap(*_groups(es)) for h, es in by_hbar.items()}
    return SimpleNamespace(entries=entries, by_hbar=by_hbar, gaps=gaps, at_smallest=by_hbar.get(hbar, []),
                           phys=phys, hbar=hbar, eps=eps, scales=scales,
                           coupling=eps * hbar if scales else eps, paper_coupling=eps * PAPER_HBAR if scales else eps,
                           conv_max=convergence_max(data.convergence))


# --------------------------------------------------------------------------- judge
def _k(K2: float) -> str:
    return f"{K2:g}"


def _cause(hbar: float, coupling: float, paper_coupling: float, n_kicks: int, conv_max: float) -> str:
    return joined(f"hbar = {hbar:g} is {hbar / PAPER_HBAR:.0f}x the paper's {sci(PAPER_HBAR)}: coupling eps*hbar = "
                  f"{coupling:g} (paper {paper_coupling:g}) entangles within a few kicks and particle 2's "
                  "classical chaoticity may not be resolved" if hbar > PAPER_HBAR * (1 + 1e-9) else "",
                  f"short t_f = {n_kicks} (too few decades of t to tell t^-beta from e^-gamma*t)",
                  f"resolution: purity changes by up to {conv_max:.2g} in the convergence check"
                  if math.isfinite(conv_max) and conv_max > CONVERGENCE_TOL else "")


def judge(data: SimpleNamespace, m: SimpleNamespace) -> list[dict]:
    """Comparisons 1-4 at the smallest hbar, 5 over the scan."""
    cause = _cause(m.hbar, m.coupling, m.paper_coupling, data.n_kicks, m.conv_max)
    used = f"hbar={m.hbar:g}, eps*hbar={m.coupling:g}, t_f={data.n_kicks}"
    small, large = _groups(m.at_smallest)
    comparisons = [
        _compare_form(small, "power", "power-law decay t^-beta for small K2 (0, 0.03, 0.05)",
                      f"K2 <= {SMALL_K2_MAX:g}", used, cause),
        _compare_form(large, "exponential", "exponential decay e^-gamma*t for K2 >= 0.09 (0.09, 0.12)",
                      f"K2 >= {LARGE_K2_MIN:g}", used, cause),
        _compare_same_decay(large, used, cause),
        _compare_contrast(small, large, used, cause),
        _compare_trend(m, cause),
    ]
    flag_unaccepted(comparisons, data.convergence)
    return comparisons


def _compare_trend(m: SimpleNamespace, cause: str) -> dict:
    """5: does the contrast between small and large K2 grow as hbar falls?"""
    quantity = "contrast between small and large K2 as hbar falls"
    paper = "the contrast (power law vs exponential) is a semiclassical statement, made at hbar = 1e-4"
    gaps = [m.gaps[h] for h in m.by_hbar]
    if len(m.by_hbar) < 2:
        return comparison(quantity, paper, f"one hbar ({m.hbar:g})", "not compared", "the variant scans no hbar")
    parts = "; ".join(f"hbar={h:g}: {num(m.gaps[h], 2)}" for h in m.by_hbar)
    return judged(quantity, paper,
                  f"gap = mean ln(rms_power/rms_exp) of K2 >= {LARGE_K2_MIN:g} minus that of K2 <= {SMALL_K2_MAX:g} "
                  f"(> 0: large K2 nearer the exponential): {parts}; rule: agrees if larger at the smallest hbar "
                  "than at the largest and never falling as hbar falls, partly if one holds",
                  trend_verdict(gaps), cause)


def _compare_form(group: list[dict], expected: str, paper_text: str, label: str, used: str, cause: str) -> dict:
    """1, 2: the preferred form of one group of K2."""
    forms = "; ".join(f"K2={_k(e['K2'])}: {e['better']} (rms {num(e['rms_power'], 2)} vs {num(e['rms_exp'], 2)}, "
                      f"beta {pm(e['beta'], e['beta_err'])}, gamma {pm(e['gamma'], e['gamma_err'])})" for e in group)
    project = (f"{used}: {sum(e['better'] == expected for e in group)}/{len(group)} prefer {expected} [{forms}]; "
               f"rule: smaller rms of ln purity, within x{INDISTINGUISHABLE:g} indistinguishable; agrees if all, "
               "differs if none" if group else f"{used}: no run with {label}")
    return judged(f"purity decay form, {label}", paper_text, project, group_verdict([e["better"] for e in group],
                  expected), cause if group else f"the variant has no K2 with {label}")


def _compare_same_decay(large: list[dict], used: str, cause: str) -> dict:
    """3: independence of K2 in the exponential regime (the extreme K2 of the large group)."""
    quantity = "purity decay independent of K2 for K2 >= 0.09"
    paper = "time dependence of purity almost unchanged once K2 is strong (0.09, 0.12)"
    if len(large) < 2:
        return comparison(quantity, paper, f"{used}: {len(large)} run(s) with K2 >= {LARGE_K2_MIN:g}; two are needed",
                          "not compared", f"the variant has fewer than two K2 >= {LARGE_K2_MIN:g}")
    a, b = large[0], large[-1]
    rel_gamma, z = gamma_difference(a, b)
    rel_curve = curve_difference(a["t"], a["purity"], b["t"], b["purity"], a["t"][a["mask_exp"]])
    return judged(quantity, paper,
                  f"{used}: gamma(K2={_k(a['K2'])}) = {pm(a['gamma'], a['gamma_err'])}, "
                  f"gamma(K2={_k(b['K2'])}) = {pm(b['gamma'], b['gamma_err'])}: differ by {num(100 * rel_gamma, 2)}% "
                  f"({num(z, 2)} sigma); purity curves by up to {num(100 * rel_curve, 2)}%; rule: agrees if gamma "
                  f"within {SAME_TOL:.0%} or {Z_AGREE:g} sigma and curves within {SAME_TOL:.0%}",
                  same_decay_verdict(rel_gamma, z, rel_curve), cause)


def _compare_contrast(small: list[dict], large: list[dict], used: str, cause: str) -> dict:
    """4: the overall contrast at the hbar used."""
    ordered = bool(small and large and max(e["purity_tf"] for e in large) < min(e["purity_tf"] for e in small))
    if small and large:
        project = (f"{used}: small K2 prefer [{', '.join(e['better'] for e in small)}], large K2 prefer "
                   f"[{', '.join(e['better'] for e in large)}]; purity(t_f) small K2 "
                   f"{span([e['purity_tf'] for e in small])}, large K2 {span([e['purity_tf'] for e in large])} "
                   f"({'below' if ordered else 'not all below'}); rule: agrees if the majorities prefer power / "
                   "exponential and every large-K2 curve ends below every small-K2 one, partly if one holds")
    else:
        project = f"{used}: needs runs with K2 <= {SMALL_K2_MAX:g} and K2 >= {LARGE_K2_MIN:g}"
    return judged("power-law vs exponential contrast at the hbar used",
                  "power law for regular particle 2 (small K2), exponential for chaotic (large K2), hbar = 1e-4",
                  project, contrast_verdict([e["better"] for e in small], [e["better"] for e in large], ordered),
                  cause if small and large else "the variant lacks one of the two K2 groups")


# --------------------------------------------------------------------------- make
def make(plan: Mapping[str, Any], out_dir: Path) -> dict:
    """Purity curves and their power-law / exponential fits per K2, the tables, the figure and
    the comparisons with the paper's Section 3."""
    out_dir = Path(out_dir)
    data = load(plan)
    m = measure(data)
    comparisons = judge(data, m)
    write_tables(out_dir, m.entries)
    draw(out_dir / "fig5.png", data, m)
    return summary("Fig. 5: purity of particle 1 versus time for several K2 (coupling eps*hbar)",
                   _parameters(data, m), data.resolution, data.convergence, comparisons, _notes(data, m),
                   TABLES, "fig5.png")


_FIT_COLUMNS = ("hbar", "K2", "beta", "beta_err", "rms_power", "gamma", "gamma_err", "rms_exp", "better", "purity_tf",
                "t_half")


def write_tables(out_dir: Path, entries: list[dict]) -> None:
    write_table(out_dir / TABLES[0], [{"hbar": e["hbar"], "K2": e["K2"], "t": float(tt), "purity": float(pp)}
                                      for e in entries for tt, pp in zip(e["t"], e["purity"])])
    write_table(out_dir / TABLES[1], [{c: e[c] for c in _FIT_COLUMNS} for e in entries])


def _notes(data: SimpleNamespace, m: SimpleNamespace) -> list[str]:
    power_window, exp_window = data.windows
    N2 = [int(e["attrs"].get("N2", 0)) for e in m.entries if e["attrs"].get("N2")]
    p_min = min((float(np.min(e["purity"])) for e in m.entries), default=float("nan"))
    return [
        f"hbar = {', '.join(f'{h:g}' for h in m.by_hbar) or f'{m.hbar:g}'}, the comparisons 1-4 at {m.hbar:g} "
        f"(coupling eps*hbar = {m.coupling:g}, eps = {m.eps:g}); the paper uses hbar = {sci(PAPER_HBAR)} "
        f"(eps*hbar = {m.paper_coupling:g}).",
        f"Fits in ln purity over t >= 1: power law on ln t over {power_window} x t_f, exponential on t over "
        f"{exp_window} x t_f; 'better' = smaller rms residual, 'indistinguishable' when the rms differ by less "
        f"than x{INDISTINGUISHABLE:g}.",
        f"Groups as in the paper's text: small K2 <= {SMALL_K2_MAX:g}, large K2 >= {LARGE_K2_MIN:g}.",
        "t_half: first time purity < 1/2 (entangling time), interpolated in ln purity; nan if not reached.",
        *([f"Purity cannot fall below 1/N2 = {1 / min(N2):.3g} (rank of rho1 <= N2); lowest purity reached "
           f"{num(p_min)}: a decay that levels off near it is saturation, not the decay law."] if N2 else []),
        *(["The two fits use different windows: their rms residuals are taken over different points."]
          if power_window != exp_window else []),
        *variant_note(data.variant, "Variant"), *convergence_notes(data.convergence)]


def _parameters(data: SimpleNamespace, m: SimpleNamespace) -> dict:
    phys = m.phys
    return {"hbar": list(m.by_hbar) if len(m.by_hbar) > 1 else m.hbar, "coupling eps*hbar": m.coupling,
            "K1": phys.get("K1"), "mass_ratio": phys.get("mass_ratio"),
            "eps": m.eps, "lam": phys.get("lam"), "L": phys.get("L"), "interaction": phys.get("interaction"),
            "coupling_scales_with_hbar": m.scales, "K2": sorted({e["K2"] for e in m.entries}), "n_kicks": data.n_kicks,
            "power_window": data.windows[0], "exp_window": data.windows[1],
            "indistinguishable_factor": INDISTINGUISHABLE}


# --------------------------------------------------------------------------- draw
def draw(path: Path, data: SimpleNamespace, m: SimpleNamespace) -> None:
    """Top: purity vs t per K2 (log y) at each hbar, both fits, the rejected form faint. Bottom: the
    smallest hbar in log-log, and beta and gamma against hbar per K2."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    colors = plt.get_cmap("Dark2")
    ncol = max(len(m.by_hbar), 3)
    with panels(path, 2, ncol, (3.9 * ncol, 8.4), squeeze=False) as axes:
        for j, (h, es) in enumerate(m.by_hbar.items()):
            _draw_panel(axes[0, j], es, False, colors)
            eps_hbar = m.eps * h if m.scales else m.eps
            axes[0, j].set_title(f"({chr(97 + j)}) hbar = {h:g}, eps*hbar = {eps_hbar:g}, t_f = {data.n_kicks}",
                                 fontsize=9)
        _draw_panel(axes[1, 0], m.at_smallest, True, colors)
        top = len(m.by_hbar)  # the panels are lettered in reading order, the unused ones skipped
        axes[1, 0].set_title(f"({chr(97 + top)}) log-log, hbar = {m.hbar:g}", fontsize=9)
        for j, (key, label) in enumerate((("beta", r"power-law exponent $\beta$"),
                                          ("gamma", r"exponential rate $\gamma$")), start=1):
            _draw_scan(axes[1, j], m.entries, key, label, colors)
            axes[1, j].set_title(f"({chr(97 + top + j)}) {key} against hbar", fontsize=9)
        for ax in [*axes[0, len(m.by_hbar):], *axes[1, 3:]]:
            ax.axis("off")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        handles += [Line2D([], [], ls="--", color="tab:blue"), Line2D([], [], ls="-.", color="tab:red")]
        labels += [r"power law $t^{-\beta}$", r"exponential $e^{-\gamma t}$"]
        axes[1, 0].legend(handles, labels, fontsize=7, loc="lower left")


def _draw_scan(ax, entries: list[dict], key: str, label: str, colors) -> None:
    """``key`` (beta or gamma) with its error against hbar, one line per K2."""
    from matplotlib.ticker import FuncFormatter

    for i, K2 in enumerate(sorted({e["K2"] for e in entries})):
        es = sorted((e for e in entries if e["K2"] == K2), key=lambda e: e["hbar"])
        ax.errorbar([e["hbar"] for e in es], [e[key] for e in es], yerr=[e[f"{key}_err"] for e in es],
                    marker=_MARKERS[i % len(_MARKERS)], mfc="none", capsize=3, color=colors(i % 8),
                    label=f"K2 = {_k(K2)}")
    ax.set(xscale="log", xlabel="hbar", ylabel=label)
    for formatter in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
        formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)


_MARKERS = ["o", "^", "D", "*", "s", "v", "P", "X", "h", "<"]


def _draw_fit(ax, t, mask, ok: bool, y, style: str, colour: str, faint: bool) -> None:
    """One fitted form over its window (faint when it is the rejected one)."""
    tw = t[mask]
    if len(tw) >= 2 and ok:
        tt = np.linspace(tw.min(), tw.max(), 100)
        ax.plot(tt, y(tt), style, color=colour, lw=1, alpha=0.35 if faint else 1.0)


def _draw_panel(ax, entries: list[dict], loglog: bool, colors) -> None:
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda x, _: f"{x:g}")
    # minor ticks of a log axis: label 2 and 5 per decade only
    sparse = FuncFormatter(lambda x, _: f"{x:g}" if x > 0 and round(x / 10 ** math.floor(math.log10(x))) in (2, 5)
                           else "")
    for i, e in enumerate(entries):
        t, p = e["t"], e["purity"]
        keep = (p > 0) & ((t >= 1) if loglog else np.ones_like(t, bool))
        ax.plot(t[keep], p[keep], linestyle="none", marker=_MARKERS[i % len(_MARKERS)], markersize=5,
                markerfacecolor="none", color=colors(i % 8), markevery=max(1, int(keep.sum()) // 40),
                label=f"K2 = {_k(e['K2'])}")
        _draw_fit(ax, t, e["mask_power"], math.isfinite(e["beta"]),
                  lambda tt: np.exp(e["ln_A_power"]) * tt ** (-e["beta"]), "--", "tab:blue",
                  e["better"] == "exponential")
        _draw_fit(ax, t, e["mask_exp"], math.isfinite(e["gamma"]),
                  lambda tt: np.exp(e["ln_A_exp"] - e["gamma"] * tt), "-.", "tab:red", e["better"] == "power")
    ax.set_yscale("log")
    if loglog:
        ax.set_xscale("log")
    for axis in [ax.yaxis] + ([ax.xaxis] if loglog else []):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(sparse)
    ax.set(xlabel="t", ylabel=r"purity $\mathrm{Tr}\,\rho_1^2$")
    ax.grid(True, which="both", alpha=0.25)
