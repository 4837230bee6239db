"""Fig. 1: the classical diffusion coefficient ``Dc`` of particle 1 versus the mass ratio ``m``.

One panel per interaction profile (``gaussian``: ``eps exp(-lam d^2)``, the default reading;
``gaussian_width``: ``eps exp(-d^2/lam)``; MODEL.md section 1): ``Dc(m)`` on a log ``m`` axis for
every ``eps`` of the variant, the ``eps = 0`` value as a horizontal line (one run, valid for every
``m`` and profile), and the late-window slope beside ``Dc``. Below each, the paper's inset:
``<p1^2>(t)`` at ``m = inset_mass_ratio``, ``eps = inset_eps`` with its least-squares line.

``Dc = <p1^2>(t_f) / t_f`` (the paper's definition, with the trajectory-spread error); the slopes
over the fit window and over ``[t_f/2, t_f]`` are reported beside it because ``Dc`` depends on the
window at small ``m`` (MODEL.md section 6).

Verdict rules (each stated again in its comparison):

1. ``Dc(m = 1e-3, eps = 2)`` against the paper's 0.087: *agrees* if ``|Dc - 0.087| <= 2 Dc_err``;
   *partly* if only the late or the fitted slope is within ``2 sigma`` (``sigma`` =
   ``max(Dc_err, slope_fit_err)``); else *differs*.
2. ``Dc`` falls with ``m`` towards ``Dc0`` (``eps = 2, 4``): *falls* if
   ``Dc(m_max) - Dc(m_min) > 2 sqrt(err_max^2 + err_min^2)``, *towards* if
   ``|Dc(m_min) - Dc0| < |Dc(m_max) - Dc0|``; *agrees* if both hold at every such ``eps``,
   *partly* if some hold, *differs* if none.
3. Little ``m`` dependence at ``eps = 0.1``: ``chi^2`` of ``Dc(m)`` about its weighted mean;
   *agrees* if its p-value exceeds 0.05 (flat within the errors), *partly* if it does not but
   the relative spread ``(max - min) / mean`` is at most 10 %, else *differs*.
4. Which profile matches the paper better: the main statement (2) is weighed first. The profiles
   are ranked by the verdict of comparison 2, then by the number of *agrees* among 1 and 3, then
   by the number of *partly* among them (*agrees* > *partly* > *differs* > *not compared*), so a
   profile that *differs* on 2 is never called better than one that agrees or partly agrees on
   it; when the top two rank the same, both are named and neither is better. The verdict is the
   better profile's agreement over its compared statements (*agrees* if all agree, *partly* if
   any is not *differs*, else *differs*; of tied profiles, the least agreement).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping

import numpy as np
from scipy import stats

from .common import fit_line, read_result, resolution_row, write_table
from .figkit import comparison, judged, num, panels, pm, same, summary, verdict_of

TABLES = ("fig1.csv", "fig1_inset.csv")

# The paper's number: Fig. 1 inset caption, "Dc = 0.087" at m = 0.001 (eps = 2, K1 = 1.8, lam = 10).
PAPER_DC = 0.087
PAPER_DC_MASS = 1e-3
PAPER_DC_EPS = 2.0
N_SIGMA = 2.0           # agreement within this many standard errors
FLAT_P_VALUE = 0.05     # comparison 3: chi^2 p-value above which Dc(m) is flat within errors
FLAT_REL_SPREAD = 0.10  # comparison 3: relative spread still called "little" when resolved
FALL_EPS = (2.0, 4.0)   # comparison 2: the paper's statement is for these couplings
FLAT_EPS = 0.1          # comparison 3
SAME_REL_TOL = 1e-6     # two masses or couplings read from roles are the same
# comparison 4: the order of the verdicts when ranking the profiles
VERDICT_RANK = {"agrees": 3, "partly": 2, "differs": 1, "not compared": 0}

_MARKERS = {0.1: "^", 2.0: "s", 4.0: "o"}  # the paper's triangles, squares, circles


# --------------------------------------------------------------------------- verdict helpers
def within_sigma(value: float, reference: float, sigma: float, n_sigma: float = N_SIGMA) -> bool:
    """``|value - reference| <= n_sigma * sigma`` (False when anything is not finite)."""
    return all(math.isfinite(v) for v in (value, reference, sigma)) and abs(value - reference) <= n_sigma * sigma


def value_verdict(reference: float, Dc: float, Dc_err: float, slope_late: float,
                  slope_fit: float, slope_fit_err: float, n_sigma: float = N_SIGMA) -> str:
    """Comparison 1: ``agrees`` if Dc is within ``n_sigma * Dc_err`` of the reference, ``partly``
    if only the late or fitted slope is within ``n_sigma * max(Dc_err, slope_fit_err)``."""
    if within_sigma(Dc, reference, Dc_err, n_sigma):
        return "agrees"
    sigma = max(Dc_err, slope_fit_err) if math.isfinite(slope_fit_err) else Dc_err
    return "partly" if any(within_sigma(s, reference, sigma, n_sigma) for s in (slope_late, slope_fit)) else "differs"


def falls_towards(D_max: float, err_max: float, D_min: float, err_min: float, D0: float,
                  n_sigma: float = N_SIGMA) -> dict:
    """Comparison 2 for one ``eps``: does ``Dc`` fall from the largest ``m`` (``D_max``) to the
    smallest (``D_min``) by more than ``n_sigma`` combined errors, and does it move towards ``D0``?"""
    combined = math.hypot(err_max, err_min)
    drop = D_max - D_min
    return {"drop": drop, "combined_sigma": combined,
            "falls": bool(drop > n_sigma * combined),
            "towards": bool(abs(D_min - D0) < abs(D_max - D0))}


def fall_verdict(checks: Iterable[Mapping[str, Any]]) -> str:
    """``agrees`` if every check falls and moves towards ``Dc0``, ``partly`` if any criterion
    holds somewhere, ``differs`` if none does, ``not compared`` without checks."""
    return verdict_of(flag for c in checks for flag in (c["falls"], c["towards"]))


def flatness(values: Iterable[float], errors: Iterable[float]) -> dict:
    """Comparison 3: ``chi^2`` of ``values`` about their inverse-variance weighted mean, its
    p-value with ``n - 1`` degrees of freedom, and the relative spread ``(max - min) / mean``."""
    y, e = np.asarray(list(values), float), np.asarray(list(errors), float)
    w = 1.0 / e**2
    mean = float(np.sum(w * y) / np.sum(w))
    chi2 = float(np.sum(w * (y - mean) ** 2))
    dof = len(y) - 1
    p = float(stats.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    return {"mean": mean, "chi2": chi2, "dof": dof, "p_value": p,
            "rel_spread": float((y.max() - y.min()) / mean) if mean else math.inf}


def flat_verdict(flat: Mapping[str, float], p_min: float = FLAT_P_VALUE,
                 rel_max: float = FLAT_REL_SPREAD) -> str:
    """``agrees`` if ``p_value > p_min``; ``partly`` if not but ``rel_spread <= rel_max``."""
    return "agrees" if flat["p_value"] > p_min else "partly" if flat["rel_spread"] <= rel_max else "differs"


def profile_rank(verdicts: list[str]) -> tuple[int, int, int]:
    """Comparison 4's key of one profile from its verdicts of comparisons ``[1, 2, 3]``: the rank
    of comparison 2 (VERDICT_RANK), then the number of ``agrees`` and of ``partly`` among 1 and 3."""
    v1, v2, v3 = verdicts
    return VERDICT_RANK[v2], [v1, v3].count("agrees"), [v1, v3].count("partly")


def top_profiles(verdicts: Mapping[str, list[str]]) -> list[str]:
    """The profiles with the highest :func:`profile_rank` among those with a compared statement
    (verdicts of comparisons ``[1, 2, 3]`` per profile): one, or the tied ones."""
    compared = {p: profile_rank(v) for p, v in verdicts.items() if any(x != "not compared" for x in v)}
    top = max(compared.values(), default=None)
    return [p for p, s in compared.items() if s == top]


def best_profile(verdicts: Mapping[str, list[str]]) -> tuple[str | None, dict]:
    """Comparison 4: the profile ranked highest by :func:`profile_rank`, and every profile's rank;
    None if nothing was compared or the top two tie."""
    top = top_profiles(verdicts)
    return (top[0] if len(top) == 1 else None), {p: profile_rank(v) for p, v in verdicts.items()}


def overall_verdict(verdicts: Iterable[str]) -> str:
    """Comparison 4's verdict, the agreement of the better profile over its compared statements:
    ``agrees`` if all agree, ``partly`` if any is not ``differs``, else ``differs``."""
    vs = [x for x in verdicts if x != "not compared"]
    return "agrees" if all(x == "agrees" for x in vs) else ("partly" if any(x != "differs" for x in vs) else "differs")


def profiles_verdict(verdicts: Mapping[str, list[str]]) -> str:
    """Comparison 4's verdict: :func:`overall_verdict` of the better profile; of the tied ones,
    the least agreement; ``not compared`` when no statement was compared."""
    top = top_profiles(verdicts)
    if not top:
        return "not compared"
    return min((overall_verdict(verdicts[p]) for p in top), key=VERDICT_RANK.__getitem__)


# --------------------------------------------------------------------------- load
def _same(a: float, b: float) -> bool:
    return same(a, b, rel_tol=SAME_REL_TOL)


def load_run(run: Mapping[str, Any]) -> dict:
    """The numbers of one classical run that the figure and its tables need."""
    r = read_result(run["result"])
    est, cfg, s = r.estimates, r.config, r.series
    role = run["role"]
    return {"name": run["name"], "interaction": role.get("interaction"), "eps": float(role["eps"]),
            "mass_ratio": role.get("mass_ratio"),
            "Dc": float(r.attrs["Dc"]), "Dc_err": float(r.attrs["Dc_err"]),
            **{k: float(est.get(k, math.nan)) for k in ("slope_fit", "slope_fit_err", "slope_full", "slope_late")},
            "fit_lo": float(est.get("fit_window_lo", math.nan)), "fit_hi": float(est.get("fit_window_hi", math.nan)),
            "n_kicks": int(cfg["classical"]["n_kicks"]), "trajectories": int(cfg["classical"]["n_trajectories"]),
            "physics": cfg.get("physics", {}),
            **{k: np.asarray(s[k], float) for k in ("t", "p1_sq", "p1_sq_sem")}}


def load(plan: dict) -> SimpleNamespace:
    """The classical runs as read (:func:`load_run`): ``zero`` (eps = 0, valid for every m and
    profile) and the ``coupled`` ones, with the profiles, couplings and masses they cover."""
    variant = plan["variant"]
    runs = [r for r in plan["runs"] if r["engine"] == "classical"]
    data = [load_run(r) for r in runs]
    coupled = [d for d in data if d["eps"] != 0.0]
    zero = next(d for d in data if d["eps"] == 0.0)
    return SimpleNamespace(runs=runs, zero=zero, coupled=coupled, t_f=zero["n_kicks"], n_traj=zero["trajectories"],
                           profiles=list(dict.fromkeys(d["interaction"] for d in coupled)),
                           eps_values=sorted({d["eps"] for d in coupled}),
                           masses=sorted({float(d["mass_ratio"]) for d in coupled}),
                           inset_m=float(variant["inset_mass_ratio"]), inset_eps=float(variant["inset_eps"]))


def curve(data: SimpleNamespace, profile: str, eps: float) -> list[dict]:
    """The runs of one profile and coupling, ascending in m."""
    return sorted((d for d in data.coupled if d["interaction"] == profile and _same(d["eps"], eps)),
                  key=lambda d: float(d["mass_ratio"]))


def at(data: SimpleNamespace, profile: str, eps: float, mass_ratio: float) -> dict | None:
    """The run of one profile at ``eps`` and ``m``, if the variant has it."""
    return next((d for d in curve(data, profile, eps) if _same(d["mass_ratio"], mass_ratio)), None)


# --------------------------------------------------------------------------- measure
def inset_line(d: Mapping[str, Any]):
    """Least-squares line of ``<p1^2>(t)`` over the run's fit window ``[fit_lo, fit_hi]``."""
    t, y = d["t"], d["p1_sq"]
    sel = (t >= d["fit_lo"]) & (t <= d["fit_hi"]) & (t >= 1)
    return fit_line(t[sel], y[sel])


def measure(data: SimpleNamespace) -> SimpleNamespace:
    """Per profile: the inset run and its line, the run at the paper's point (comparison 1), the
    fall checks (comparison 2: (eps, run at m_max, run at m_min, check)) and the flatness at
    eps = 0.1 (comparison 3: (curve, flatness) or None)."""
    m = SimpleNamespace(insets={}, paper_point={}, falls={}, flat={})
    for p in data.profiles:
        hit = at(data, p, data.inset_eps, data.inset_m)
        if hit:
            m.insets[p] = (hit, inset_line(hit))
        m.paper_point[p] = at(data, p, PAPER_DC_EPS, PAPER_DC_MASS)
        m.falls[p] = [(eps, c[-1], c[0], falls_towards(c[-1]["Dc"], c[-1]["Dc_err"], c[0]["Dc"], c[0]["Dc_err"],
                                                       data.zero["Dc"]))
                      for eps, c in ((eps, curve(data, p, eps)) for eps in FALL_EPS) if len(c) >= 2]
        c = curve(data, p, FLAT_EPS)
        m.flat[p] = (c, flatness([d["Dc"] for d in c], [d["Dc_err"] for d in c])) if len(c) >= 2 else None
    return m


# --------------------------------------------------------------------------- judge
def judge(data: SimpleNamespace, m: SimpleNamespace) -> list[dict]:
    """Comparisons 1-3 per profile (each rule over all profiles in turn), then comparison 4."""
    comparisons = [rule(p, data, m) for rule in (_compare_value, _compare_fall, _compare_flat)
                   for p in data.profiles]
    per_profile = {p: [c["verdict"] for c in comparisons[i::len(data.profiles)]] for i, p in enumerate(data.profiles)}
    return comparisons + [_compare_profiles(per_profile, data)]


def _why(data, *causes: str) -> str:
    """The causes named by key: the interaction "form", "t_f", "stats"; any other text as it is."""
    known = {"form": "the interaction form is a reading of the paper", "t_f": f"finite t_f ({data.t_f})",
             "stats": f"statistics ({data.n_traj} trajectories)"}
    return "; ".join(known.get(c, c) for c in causes)


def _compare_value(p: str, data, m) -> dict:
    """1. Dc at m = 1e-3, eps = 2."""
    q, paper, d = f"Dc at m = 1e-3, eps = 2 ({p})", f"Dc = {PAPER_DC} (Fig. 1 inset)", m.paper_point[p]
    stats = f"t_f = {data.t_f}, {data.n_traj} trajectories"
    if d is None:
        return comparison(q, paper, f"not run ({stats})", "not compared", "m = 1e-3 or eps = 2 is not in this variant")
    return judged(
        q, paper,
        f"Dc = {pm(d['Dc'], d['Dc_err'], 1)}, slope_fit = {pm(d['slope_fit'], d['slope_fit_err'], 1)}, "
        f"slope_late = {num(d['slope_late'])} ({stats}); rule: agrees if |Dc - {PAPER_DC}| <= 2 Dc_err, "
        f"partly if only a slope is within 2 sigma",
        value_verdict(PAPER_DC, d["Dc"], d["Dc_err"], d["slope_late"], d["slope_fit"], d["slope_fit_err"]),
        _why(data, "finite t_f: <p1^2>(t_f)/t_f includes the slow early growth", "form", "stats"))


def _compare_fall(p: str, data, m) -> dict:
    """2. Dc falls with m towards Dc0 at eps = 2, 4."""
    q = f"Dc falls with m towards the eps = 0 value, eps = 2, 4 ({p})"
    paper = "Dc decreases with m to a saturation level almost equal to Dc(eps = 0)"
    v = fall_verdict([chk for *_, chk in m.falls[p]])
    if v == "not compared":
        return comparison(q, paper, "no eps = 2 or 4 with two masses", v,
                          "eps = 2, 4 with at least two m are not in this variant")
    parts = [f"eps={eps:g}: Dc {pm(hi['Dc'], hi['Dc_err'], 1)} (m={float(hi['mass_ratio']):g}) -> "
             f"{pm(lo['Dc'], lo['Dc_err'], 1)} (m={float(lo['mass_ratio']):g}), "
             f"falls {'yes' if chk['falls'] else 'no'}, towards {'yes' if chk['towards'] else 'no'}"
             for eps, hi, lo, chk in m.falls[p]]
    return judged(
        q, paper,
        f"Dc0 = {pm(data.zero['Dc'], data.zero['Dc_err'], 1)}; " + "; ".join(parts)
        + "; rule: falls if Dc(m_max) - Dc(m_min) > 2 combined sigma, towards if "
          "|Dc(m_min) - Dc0| < |Dc(m_max) - Dc0|, agrees if both at every eps", v, _why(data, "form", "t_f", "stats"))


def _compare_flat(p: str, data, m) -> dict:
    """3. Little m dependence at eps = 0.1."""
    q = f"little m dependence of Dc at eps = 0.1 ({p})"
    paper = "Dc at eps = 0.1 differs only slightly from Dc(eps = 0) as m varies"
    if m.flat[p] is None:
        return comparison(q, paper, "eps = 0.1 with two masses not run", "not compared",
                          "eps = 0.1 with at least two m is not in this variant")
    c, flat = m.flat[p]
    return judged(
        q, paper,
        f"Dc from {num(min(d['Dc'] for d in c))} to {num(max(d['Dc'] for d in c))} over "
        f"{len(c)} m, mean {num(flat['mean'])} (Dc0 = {pm(data.zero['Dc'], data.zero['Dc_err'], 1)}), "
        f"chi2/dof = {flat['chi2']:.3g}/{flat['dof']}, p = {flat['p_value']:.2g}, "
        f"spread {100 * flat['rel_spread']:.2g}%; rule: agrees if p > {FLAT_P_VALUE}, "
        f"partly if spread <= {100 * FLAT_REL_SPREAD:g}%", flat_verdict(flat), _why(data, "stats", "t_f", "form"))


def _compare_profiles(per_profile: dict[str, list[str]], data) -> dict:
    """4. Which profile matches better, the main statement (2) first; the verdict is the better
    profile's agreement (the least of the tied ones' when they tie)."""
    best = best_profile(per_profile)[0]
    v4 = profiles_verdict(per_profile)
    cause4 = ("none of comparisons 1-3 could be made in this variant" if v4 == "not compared"
              else "" if v4 == "agrees" else _why(data, "form", "t_f", "stats"))
    verdicts = "; ".join(f"{p}: 2 {v[1]}, 1 {v[0]}, 3 {v[2]}" for p, v in per_profile.items())
    return comparison(
        "which interaction profile matches the paper better",
        "the paper's statements 1-3 (its interaction formula was lost in extraction)",
        f"{verdicts}; better: {best or 'neither (tie: ' + ', '.join(top_profiles(per_profile)) + ')'}; rule: "
        f"ranked by the verdict of 2 (the main statement), then the number of agrees, then of partly, among "
        f"1 and 3 (agrees > partly > differs > not compared); a tie of the top two names no winner; verdict: "
        f"the better profile's agreement over its compared statements", v4, cause4)


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    """Draw fig1.png, write fig1.csv and fig1_inset.csv, return the summary."""
    out_dir = Path(out_dir)
    data = load(plan)
    m = measure(data)
    comparisons = judge(data, m)
    write_tables(out_dir, data, m)
    draw(out_dir / "fig1.png", data, m)
    return summary("Fig. 1: classical diffusion coefficient Dc of particle 1 versus m", _parameters(data),
                   [resolution_row(r) for r in data.runs], [], comparisons, _notes(data), TABLES, "fig1.png")


_COLUMNS = ("Dc", "Dc_err", "slope_fit", "slope_fit_err", "slope_late", "slope_full", "n_kicks", "trajectories")


def write_tables(out_dir: Path, data: SimpleNamespace, m: SimpleNamespace) -> None:
    write_table(out_dir / "fig1.csv", [
        {"interaction": d["interaction"] or "any", "eps": d["eps"],
         "mass_ratio": d["mass_ratio"] if d["mass_ratio"] is not None else "any", **{k: d[k] for k in _COLUMNS}}
        for d in data.coupled + [data.zero]])
    write_table(out_dir / "fig1_inset.csv", [
        {"interaction": p, "t": float(t), "p1_sq": float(y), "p1_sq_sem": float(e),
         "fit": line.intercept + line.slope * float(t), "Dc_t": d["Dc"] * float(t)}
        for p, (d, line) in m.insets.items() for t, y, e in zip(d["t"], d["p1_sq"], d["p1_sq_sem"])])


def _parameters(data: SimpleNamespace) -> dict:
    zero, phys = data.zero, data.zero["physics"]
    return {
        "mass_ratio": data.masses, "eps": data.eps_values, "interaction": data.profiles,
        "n_kicks (t_f)": data.t_f, "trajectories": data.n_traj,
        **{k: phys.get(k) for k in ("K1", "K2", "lam", "L")},
        "fit window": [round(zero["fit_lo"], 6), round(zero["fit_hi"], 6)],
        "inset_mass_ratio": data.inset_m, "inset_eps": data.inset_eps,
    }


def _notes(data: SimpleNamespace) -> list[str]:
    zero = data.zero
    return [
        f"Dc = <p1^2>(t_f)/t_f with t_f = {data.t_f} (the paper's definition); error from the spread of "
        f"{data.n_traj} trajectories at t_f (the paper used 1e4).",
        f"slope_fit: least squares over t in [{zero['fit_lo']:g}, {zero['fit_hi']:g}]; slope_late: over "
        f"[t_f/2, t_f]; they differ from Dc where <p1^2>(t) grows slowly at first (small m).",
        "eps = 0: the particles are independent, so one run serves every m and both profiles.",
        "Both interaction profiles are run: gaussian (eps exp(-lam d^2), the default reading) and "
        "gaussian_width (eps exp(-d^2/lam)); the paper's formula was lost in extraction.",
        "Dotted hollow markers: the late-window slope; the red band: Dc(eps = 0) ± its error.",
        "All runs share one seed, so their initial ensembles coincide; the errors are treated as independent.",
    ]


# --------------------------------------------------------------------------- draw
def draw(path: Path, data: SimpleNamespace, m: SimpleNamespace) -> None:
    """Dc(m) per profile (top), the inset <p1^2>(t) per profile (bottom)."""
    ncol = max(len(data.profiles), 1)
    with panels(path, 2, ncol, (5.2 * ncol, 7.4), squeeze=False, gridspec_kw={"height_ratios": [1.4, 1.0]}) as axes:
        for j, p in enumerate(data.profiles):
            if j:
                axes[0, j].sharey(axes[0, 0])
            _draw_dc(axes[0, j], p, j, data)
            _draw_inset(axes[1, j], m.insets.get(p), j, ncol, data)


def _draw_dc(ax, p: str, j: int, data: SimpleNamespace) -> None:
    zero = data.zero
    for eps in data.eps_values:
        c = curve(data, p, eps)
        mass = np.array([float(d["mass_ratio"]) for d in c])
        mk = _MARKERS.get(eps, "D")
        h = ax.errorbar(mass, [d["Dc"] for d in c], yerr=[d["Dc_err"] for d in c], marker=mk,
                        ls="-", capsize=3, label=f"ε = {eps:g}")
        ax.plot(mass, [d["slope_late"] for d in c], marker=mk, mfc="none", ls=":", lw=0.8,
                color=h[0].get_color(), alpha=0.8)
    ax.axhline(zero["Dc"], color="red", ls="--", label="ε = 0")
    ax.axhspan(zero["Dc"] - zero["Dc_err"], zero["Dc"] + zero["Dc_err"], color="red", alpha=0.12)
    ax.plot([], [], color="gray", marker="o", mfc="none", ls=":", lw=0.8, label="late slope")
    ax.set(xscale="log", xlabel="m", ylabel=r"$D_c = \langle p_1^2\rangle(t_f)/t_f$",
           title=f"({chr(97 + j)}) {p}: " + ("ε exp(-λ d²)" if p == "gaussian" else "ε exp(-d²/λ)"))
    ax.legend(fontsize=8)


def _draw_inset(ax2, inset: tuple | None, j: int, ncol: int, data: SimpleNamespace) -> None:
    if inset is not None:
        d, line = inset
        ax2.plot(d["t"], d["p1_sq"], color="k", lw=1.2, label=r"$\langle p_1^2\rangle$")
        ax2.fill_between(d["t"], d["p1_sq"] - d["p1_sq_sem"], d["p1_sq"] + d["p1_sq_sem"],
                         color="k", alpha=0.15, lw=0)
        ax2.plot(d["t"], line.intercept + line.slope * d["t"], "r--",
                 label=f"fit [{d['fit_lo']:g}, {d['fit_hi']:g}]: slope {line.slope:.3g}")
        ax2.plot(d["t"], d["Dc"] * d["t"], color="tab:blue", ls=":", label=f"$D_c t$, $D_c$ = {d['Dc']:.3g}")
        ax2.legend(fontsize=8)
    ax2.set(xlabel="t", ylabel=r"$\langle p_1^2\rangle$",
            title=f"({chr(97 + ncol + j)}) inset of ({chr(97 + j)}): m = {data.inset_m:g}, ε = {data.inset_eps:g}")
