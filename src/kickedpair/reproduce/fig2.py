"""Fig. 2 of the paper: the quantum to classical transition of particle 1's diffusion.

(a) Mean energy ``E1(t)`` of particle 1: the classical ensemble (``E1 = <p1^2>/2`` with its
standard error), the quantum runs at every ``hbar`` of the variant and the unperturbed
quantum run (``eps = 0``, dashed). (b) Momentum distributions ``P1`` at ``t = n_kicks`` for the
variant's ``distribution_hbar``, mirrored to ``-p`` on a log axis, with the Gaussian and
exponential fits of :mod:`kickedpair.reproduce.fits`.

Measures behind the verdicts (all from the data, rules stated with each comparison):

* ``ratio_f = E1_q(t_f) / E1_c(t_f)`` (this is ``eta = Dq / Dc`` of Fig. 4) and ``ratio_late``,
  the mean of ``E1_q / E1_c`` over the late half ``[t_f/2, t_f]``;
* ``growth = s_q / s_c``: least-squares slopes of ``E1`` over the late half, quantum over
  classical. A localised run has stopped growing (``growth`` near 0), a diffusive one grows
  like the classical ensemble (``growth`` near 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import common
from .fits import FIT_FLOOR, FIT_SKIP_MODES, fit_distribution, mirror

TABLES = ("fig2_energy.csv", "fig2_distributions.csv", "fig2_fits.csv")

# Verdict rules (see the comparisons' texts).
FOLLOW_TOL = 0.2        # "follows the classical line": |ratio - 1| <= 0.2 at t_f and over the late half
FOLLOW_PARTLY = 0.5     # ... within 0.5 for "partly"
LOCAL_RATIO = 0.5       # "localised": ratio_f <= 0.5 ...
LOCAL_GROWTH = 0.25     # ... and late growth <= 0.25 of the classical one

# The paper's setting, used only to name the causes of a difference.
PAPER_T_F = 500
PAPER_HBAR_CLASSICAL = 0.01
PAPER_HBAR_LOCALISED = 0.05
PAPER_DISTRIBUTION_HBAR = (0.01, 0.05)


# --------------------------------------------------------------------------- measures
def late_mask(t: np.ndarray) -> np.ndarray:
    """The late half of the run, ``t >= t_f / 2``."""
    t = np.asarray(t, float)
    return t >= t.max() / 2.0


def late_slope(t: np.ndarray, E: np.ndarray) -> float:
    """Least-squares slope of ``E(t)`` over the late half."""
    m = late_mask(t)
    return common.fit_line(np.asarray(t, float)[m], np.asarray(E, float)[m]).slope


def on_common_times(t_a, E_a, t_b, E_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two series on the integer times they share."""
    t, ia, ib = np.intersect1d(np.asarray(t_a, float), np.asarray(t_b, float), return_indices=True)
    return t, np.asarray(E_a, float)[ia], np.asarray(E_b, float)[ib]


def against_classical(t_q, E_q, t_c, E_c) -> dict[str, float]:
    """``ratio_f``, ``ratio_late`` and ``growth`` of a quantum curve against the classical one."""
    t, q, c = on_common_times(t_q, E_q, t_c, E_c)
    late = late_mask(t) & (c > 0)
    ratio_f = float(q[-1] / c[-1]) if c[-1] > 0 else float("nan")
    ratio_late = float(np.mean(q[late] / c[late])) if late.any() else float("nan")
    s_q, s_c = late_slope(t, q), late_slope(t, c)
    growth = s_q / s_c if math.isfinite(s_c) and s_c > 0 else float("nan")
    return {"t_f": float(t[-1]), "ratio_f": ratio_f, "ratio_late": ratio_late, "growth": growth,
            "slope_q": s_q, "slope_c": s_c}


def verdict_of(checks: Iterable[bool | None]) -> str:
    """All evaluable checks pass: agrees; none: differs; some: partly; none evaluable: not compared."""
    done = [c for c in checks if c is not None]
    if not done:
        return "not compared"
    if all(done):
        return "agrees"
    return "partly" if any(done) else "differs"


def _check(value: float, test) -> bool | None:
    return None if not math.isfinite(value) else bool(test(value))


def follows_verdict(ratio_f: float, ratio_late: float, tol: float = FOLLOW_TOL,
                    partly: float = FOLLOW_PARTLY) -> str:
    """agrees: both ratios within ``tol`` of 1; partly: both within ``partly``; else differs."""
    if not (math.isfinite(ratio_f) and math.isfinite(ratio_late)):
        return "not compared"
    dev = max(abs(ratio_f - 1.0), abs(ratio_late - 1.0))
    return "agrees" if dev <= tol else "partly" if dev <= partly else "differs"


def localised_verdict(ratio_f: float, growth: float, max_ratio: float = LOCAL_RATIO,
                      max_growth: float = LOCAL_GROWTH) -> str:
    """agrees: ``ratio_f <= max_ratio`` and ``growth <= max_growth``; partly: one of them; else differs."""
    return verdict_of([_check(ratio_f, lambda r: r <= max_ratio), _check(growth, lambda g: g <= max_growth)])


def count_inversions(values: Sequence[float], decreasing: bool = True) -> int:
    """Adjacent pairs out of the expected order (0: monotonic)."""
    v = np.asarray(values, float)
    d = np.diff(v)
    return int(np.sum(d >= 0) if decreasing else np.sum(d <= 0))


# --------------------------------------------------------------------------- helpers
def g3(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{x:.3g}" if math.isfinite(x) else "nan"


def same(a: float, b: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def final_distribution(result: common.Result, n_kicks: int, where: str) -> tuple[int, np.ndarray]:
    """``(t, P)`` at ``t = n_kicks`` (else the latest recorded time)."""
    if not result.distributions or result.momenta is None:
        raise common.MissingResult(f"{where}: no momentum distribution recorded")
    t = n_kicks if n_kicks in result.distributions else max(result.distributions)
    return t, np.asarray(result.distributions[t], float)


def run_n_kicks(run: Mapping[str, Any]) -> int:
    cfg = run["config"]
    return int(cfg[run["engine"]]["n_kicks"])


def fit_rows(hbar: float, fit, extra: Mapping[str, Any] | None = None) -> list[dict]:
    """One row per form: a, width (zeta or xi) with errors, rms in ln P, and the better form."""
    rows = []
    for form in ("gaussian", "exponential"):
        f = fit.form(form)
        rows.append({"hbar": hbar, "form": form, "a": f.a, "a_err": f.a_err, "width": f.width,
                     "width_err": f.width_err, "rms": f.rms, "better": fit.better, **(extra or {}),
                     "kurtosis": fit.kurtosis, "n_points": f.n, "p_lo": fit.p_lo, "p_hi": fit.p_hi})
    return rows


def classical_shape(result: common.Result, t: int) -> dict | None:
    """Shape of the classical |p1| distribution at ``t`` if the run kept a snapshot there:
    kurtosis of the ensemble and the fits of a histogram (sqrt(N) bins, empty bins left out)."""
    snap = result.snapshots.get(t)
    if not snap or "p1" not in snap:
        return None
    p = np.abs(np.asarray(snap["p1"], float))
    counts, edges = np.histogram(p, bins=max(int(math.sqrt(p.size)), 5))
    fit = fit_distribution(0.5 * (edges[1:] + edges[:-1]), counts.astype(float))
    return {"t": t, "n": int(p.size), "kurtosis": float(np.mean(p**4) / np.mean(p**2) ** 2), "fit": fit}


def convergence_note(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """One line: the largest relative change of <p1^2> and purity over the checked runs."""
    if not rows:
        return None
    parts = []
    for test, label in (("half_step", "half step"), ("double_grid", "double grid")):
        for q in ("p1_sq", "purity"):
            vals = [(abs(float(r[f"{test}_{q}"])), r["run"]) for r in rows if math.isfinite(float(r[f"{test}_{q}"]))]
            if vals:
                v, name = max(vals)
                parts.append(f"{label} {q} {g3(v)} ({name})")
    text = f"convergence over the first {rows[0]['kicks']} kicks, largest relative change: " + "; ".join(parts)
    end = []
    for test, label in (("half_step", "half step"), ("double_grid", "double grid")):
        for q, what in (("p1_sq", "p1_sq"), ("purity_abs", "purity (absolute)")):
            vals = [(abs(float(r[f"end_{test}_{q}"])), r["run"]) for r in rows
                    if math.isfinite(float(r.get(f"end_{test}_{q}", float("nan"))))]
            if vals:
                v, name = max(vals)
                end.append(f"{label} {what} {g3(v)} ({name})")
    return text + ("; over the last kicks, from each run's final state: " + "; ".join(end) if end else "")


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    v = plan["variant"]
    runs = plan["runs"]
    classical_run = next(r for r in runs if r["engine"] == "classical")
    quantum_runs = sorted((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) != 0.0),
                          key=lambda r: float(r["role"]["hbar"]))
    unperturbed_run = next((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) == 0.0), None)

    cres = common.read_result(classical_run["result"])
    tc = np.asarray(cres.series["t"], float)
    Ec = np.asarray(cres.series["p1_sq"], float) / 2.0
    Ec_err = np.asarray(cres.series["p1_sq_sem"], float) / 2.0
    qres = {r["name"]: common.read_result(r["result"]) for r in quantum_runs}
    ures = common.read_result(unperturbed_run["result"]) if unperturbed_run else None
    physics = (qres[quantum_runs[0]["name"]].config if quantum_runs else cres.config).get("physics", {})

    # ---- energy table
    energy = [{"curve": "classical", "hbar": "", "eps": float(classical_run["role"]["eps"]), "t": t, "E1": e,
               "E1_err": de} for t, e, de in zip(tc, Ec, Ec_err)]
    for r in quantum_runs + ([unperturbed_run] if unperturbed_run else []):
        res = ures if r is unperturbed_run else qres[r["name"]]
        curve = "unperturbed" if r is unperturbed_run else "quantum"
        energy += [{"curve": curve, "hbar": float(r["role"]["hbar"]), "eps": float(r["role"]["eps"]), "t": t,
                    "E1": e, "E1_err": 0.0} for t, e in zip(res.series["t"], res.series["E1"])]

    # ---- distributions and fits
    dist_rows, fits_rows, dists = [], [], []
    for h in v["distribution_hbar"]:
        run = next((r for r in quantum_runs if same(r["role"]["hbar"], h)), None)
        if run is None:
            raise common.MissingResult(f"fig2: no quantum run at distribution_hbar = {h}")
        res = qres[run["name"]]
        t, P = final_distribution(res, run_n_kicks(run), run["result"])
        fit = fit_distribution(res.momenta, P)
        dists.append((float(h), t, np.asarray(res.momenta, float), P, fit))
        dist_rows += [{"hbar": float(h), "t": t, "p": p, "P": x} for p, x in zip(res.momenta, P)]
        fits_rows += fit_rows(float(h), fit, {"t": t})

    tables = [(TABLES[0], energy), (TABLES[1], dist_rows), (TABLES[2], fits_rows)]
    for name, rows in tables:
        common.write_table(out_dir / name, rows)

    # ---- measures
    meas = {r["name"]: against_classical(qres[r["name"]].series["t"], qres[r["name"]].series["E1"], tc, Ec)
            for r in quantum_runs}
    umeas = against_classical(ures.series["t"], ures.series["E1"], tc, Ec) if ures else None

    # ---- figure
    _draw(plt, out_dir / "fig2.png", tc, Ec, Ec_err, quantum_runs, qres, unperturbed_run, ures, dists, v)

    # ---- comparisons
    n_kicks = int(v["n_kicks"])
    short = f"t_f = {n_kicks} < the paper's {PAPER_T_F}" if n_kicks < PAPER_T_F else ""
    comparisons = [
        _compare_follow(quantum_runs, meas, short),
        _compare_localised(quantum_runs, meas, short),
        _compare_unperturbed(unperturbed_run, umeas, quantum_runs, qres, ures, short),
        _compare_ordering(quantum_runs, qres, short),
        _compare_distributions(dists, short, n_kicks, classical_shape(cres, n_kicks)),
    ]

    conv_rows = [common.convergence_row(r) for r in quantum_runs + [unperturbed_run]
                 if r is not None and r.get("convergence")]
    resolution = [common.resolution_row(r) for r in runs]
    notes = [
        "E1 = <p1^2>/2; classical band: one standard error of the ensemble mean; quantum curves are "
        "deterministic (E1_err = 0 in the table).",
        "ratio_f = E1_q(t_f)/E1_c(t_f) (= eta of Fig. 4); ratio_late: mean of E1_q/E1_c over [t_f/2, t_f]; "
        "growth: late-half least-squares slope of E1_q over that of E1_c.",
        f"fits: least squares on ln P1(n) against |p| and p^2 over modes {FIT_SKIP_MODES + 1}.. the last with "
        f"P >= {FIT_FLOOR:g} max P (contiguous); 'better' = smaller rms residual in ln P.",
        "distributions: P1(n) at the positive p_n = hbar n pi / L (table); the plot shows P1/2 at +-p_n; "
        "kurtosis <p^4>/<p^2>^2 (3 Gaussian, 6 exponential) beside the fits.",
    ]
    if v.get("description"):
        notes.append(f"variant: {v['description']}")
    cn = convergence_note(conv_rows)
    if cn:
        notes.append(cn)
    notes += common.convergence_notes(conv_rows)
    common.flag_unaccepted(comparisons, conv_rows)
    if unperturbed_run is not None:
        notes.append(f"the eps = 0 run (particles independent): scheme {ures.attrs.get('scheme')}, "
                     f"hbar = {g3(unperturbed_run['role']['hbar'])}, grid {ures.attrs.get('N1')}.")

    parameters = {
        "hbar": [float(r["role"]["hbar"]) for r in quantum_runs],
        "distribution_hbar": [float(h) for h in v["distribution_hbar"]],
        "unperturbed_hbar": float(unperturbed_run["role"]["hbar"]) if unperturbed_run else None,
        "mass_ratio": float(v["mass_ratio"]), "eps": float(v["eps"]), "n_kicks": n_kicks,
        "trajectories": int(v["trajectories"]),
        **{k: physics.get(k) for k in ("K1", "K2", "lam", "L", "interaction") if k in physics},
        "fit_floor": FIT_FLOOR, "fit_skip_modes": FIT_SKIP_MODES,
    }
    return {
        "title": "Fig. 2: classical and quantum mean energy of particle 1; momentum distributions at t_f",
        "parameters": parameters,
        "resolution": resolution,
        "convergence": conv_rows,
        "comparisons": comparisons,
        "notes": notes,
        "tables": list(TABLES),
        "image": "fig2.png",
    }


# --------------------------------------------------------------------------- comparisons
def _compare_follow(quantum_runs, meas, short) -> dict:
    paper = f"quantum E1 follows the classical line at hbar = {PAPER_HBAR_CLASSICAL:g}"
    rule = f"rule: agrees if |ratio - 1| <= {FOLLOW_TOL:g} at t_f and over the late half, partly <= {FOLLOW_PARTLY:g}"
    if not quantum_runs:
        return {"quantity": "E1_q vs E1_c at the smallest hbar", "paper": paper, "project": "no quantum run",
                "verdict": "not compared", "cause": ""}
    r = quantum_runs[0]
    h, m = float(r["role"]["hbar"]), meas[r["name"]]
    verdict = follows_verdict(m["ratio_f"], m["ratio_late"])
    causes = []
    if h > PAPER_HBAR_CLASSICAL * (1 + 1e-9):
        causes.append(f"smallest hbar here is {g3(h)} (the paper's {PAPER_HBAR_CLASSICAL:g} left to the paper variant)")
    if short:
        causes.append(short)
    causes.append("classical ensemble statistics")
    return {"quantity": f"E1_q / E1_c at the smallest hbar ({g3(h)})", "paper": paper,
            "project": f"hbar = {g3(h)}: ratio_f = {g3(m['ratio_f'])}, ratio_late = {g3(m['ratio_late'])}, "
                       f"growth = {g3(m['growth'])}; {rule}",
            "verdict": verdict, "cause": "; ".join(causes)}


def _compare_localised(quantum_runs, meas, short) -> dict:
    paper = f"E1 localises (saturates) at hbar = {PAPER_HBAR_LOCALISED:g}"
    rule = f"rule: localised if ratio_f <= {LOCAL_RATIO:g} and growth <= {LOCAL_GROWTH:g} (partly: one of them)"
    if not quantum_runs:
        return {"quantity": "localisation at the largest hbar", "paper": paper, "project": "no quantum run",
                "verdict": "not compared", "cause": ""}
    r = quantum_runs[-1]
    h, m = float(r["role"]["hbar"]), meas[r["name"]]
    verdict = localised_verdict(m["ratio_f"], m["growth"])
    causes = []
    if not same(h, PAPER_HBAR_LOCALISED):
        causes.append(f"largest hbar here is {g3(h)}, not {PAPER_HBAR_LOCALISED:g}")
    causes += [c for c in (short,) if c]
    causes.append("quantum fluctuations of E1 in the late-half slope; the interaction form is a reading of the paper")
    return {"quantity": f"localisation at the largest hbar ({g3(h)})", "paper": paper,
            "project": f"hbar = {g3(h)}: ratio_f = {g3(m['ratio_f'])}, growth = {g3(m['growth'])} "
                       f"(late slopes {g3(m['slope_q'])} vs classical {g3(m['slope_c'])}); {rule}",
            "verdict": verdict, "cause": "; ".join(causes)}


def _compare_unperturbed(run, m, quantum_runs, qres, ures, short) -> dict:
    paper = f"eps = 0 localises even at hbar = {PAPER_HBAR_CLASSICAL:g} (E1 eventually suppressed)"
    if run is None or m is None:
        return {"quantity": "unperturbed (eps = 0) run", "paper": paper, "project": "no eps = 0 run",
                "verdict": "not compared", "cause": ""}
    h = float(run["role"]["hbar"])
    verdict = localised_verdict(m["ratio_f"], m["growth"])
    text = (f"eps = 0, hbar = {g3(h)}: ratio_f = {g3(m['ratio_f'])}, growth = {g3(m['growth'])}; "
            f"rule as above (ratio_f <= {LOCAL_RATIO:g}, growth <= {LOCAL_GROWTH:g})")
    twin = next((r for r in quantum_runs if same(r["role"]["hbar"], h)), None)
    if twin is not None:
        e_eps = float(qres[twin["name"]].series["E1"][-1])
        e_0 = float(ures.series["E1"][-1])
        text += f"; E1(t_f) with eps / without = {g3(e_eps / e_0)}"
    causes = []
    if not same(h, PAPER_HBAR_CLASSICAL):
        causes.append(f"hbar = {g3(h)}, not {PAPER_HBAR_CLASSICAL:g}")
    if short:
        causes.append(f"{short}: the localisation time at small hbar is long, the paper says 'after long time'")
    else:
        causes.append("the localisation time at small hbar is comparable to t_f")
    return {"quantity": f"unperturbed eps = 0 at hbar = {g3(h)}", "paper": paper, "project": text,
            "verdict": verdict, "cause": "; ".join(causes)}


def _compare_ordering(quantum_runs, qres, short) -> dict:
    paper = "curves ordered top to bottom hbar = 0.01 .. 0.05: E1 falls as hbar grows"
    if len(quantum_runs) < 2:
        return {"quantity": "E1(t_f) ordering in hbar", "paper": paper, "project": "fewer than two hbar",
                "verdict": "not compared", "cause": ""}
    hs = [float(r["role"]["hbar"]) for r in quantum_runs]
    e_f = [float(qres[r["name"]].series["E1"][-1]) for r in quantum_runs]
    e_late = []
    for r in quantum_runs:
        s = qres[r["name"]].series
        e_late.append(float(np.mean(np.asarray(s["E1"], float)[late_mask(s["t"])])))
    inv_f, inv_late = count_inversions(e_f), count_inversions(e_late)
    verdict = "agrees" if inv_f == 0 else "partly" if inv_late == 0 or inv_f == 1 else "differs"
    pairs = ", ".join(f"{g3(h)}: {g3(e)}" for h, e in zip(hs, e_f))
    return {"quantity": "E1(t_f) against hbar", "paper": paper,
            "project": f"E1(t_f) per hbar {pairs}; inversions at t_f {inv_f}, of late-half means {inv_late}; "
                       "rule: agrees if strictly decreasing at t_f, partly if the late-half means are "
                       "or one pair is inverted",
            "verdict": verdict,
            "cause": "quantum fluctuations of E1 at t_f between neighbouring hbar" + (f"; {short}" if short else "")}


def _compare_distributions(dists, short, n_kicks, classical) -> dict:
    paper = (f"P1(p) at t = {PAPER_T_F}: Gaussian at hbar = {PAPER_DISTRIBUTION_HBAR[0]:g}, exponential "
             f"(localised) at hbar = {PAPER_DISTRIBUTION_HBAR[1]:g}")
    if not dists:
        return {"quantity": "momentum distribution form", "paper": paper, "project": "no distribution",
                "verdict": "not compared", "cause": ""}
    parts = []
    for h, t, _, _, fit in dists:
        parts.append(f"hbar = {g3(h)} (t = {t}): {fit.better} (rms Gauss {g3(fit.gaussian.rms)}, exp "
                     f"{g3(fit.exponential.rms)}; zeta = {g3(fit.gaussian.width)}, xi = {g3(fit.exponential.width)}; "
                     f"kurtosis {g3(fit.kurtosis)})")
    if classical is not None:
        parts.append(f"classical |p1| at t = {classical['t']}: kurtosis {g3(classical['kurtosis'])}, histogram "
                     f"prefers {classical['fit'].better}")
    rule = "rule: agrees if the smallest hbar prefers Gaussian and the largest exponential, partly if one does"
    if len(dists) < 2:
        verdict = "not compared"
    else:
        verdict = verdict_of([dists[0][4].better == "gaussian", dists[-1][4].better == "exponential"])
    used = [h for h, *_ in dists]
    causes = []
    if not (same(used[0], PAPER_DISTRIBUTION_HBAR[0]) and same(used[-1], PAPER_DISTRIBUTION_HBAR[-1])):
        causes.append(f"hbar used {', '.join(g3(h) for h in used)}")
    if n_kicks != PAPER_T_F:
        causes.append(f"t = {n_kicks}, not {PAPER_T_F}")
    causes.append("mode-to-mode fluctuations of P1 dominate the rms residuals")
    if classical is not None and classical["fit"].better != "gaussian":
        causes.append("the classical distribution of this model is itself not Gaussian at t_f")
    elif classical is None:
        causes.append("the classical distribution at t_f (the diffusive reference) was not recorded")
    return {"quantity": "form of the momentum distribution at t_f", "paper": paper,
            "project": "; ".join(parts) + f"; {rule}", "verdict": verdict, "cause": "; ".join(causes)}


# --------------------------------------------------------------------------- drawing
def shades(n: int) -> list:
    """Black for the smallest hbar to mid grey for the largest (the paper draws all in black)."""
    return [str(0.65 * i / max(n - 1, 1)) for i in range(n)]


def _draw(plt, path, tc, Ec, Ec_err, quantum_runs, qres, unperturbed_run, ures, dists, v) -> None:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    ax.fill_between(tc, Ec - Ec_err, Ec + Ec_err, color="tab:red", alpha=0.25, lw=0)
    ax.plot(tc, Ec, color="tab:red", lw=1.6, label="classical")
    for r, c in zip(quantum_runs, shades(len(quantum_runs))):
        s = qres[r["name"]].series
        ax.plot(s["t"], s["E1"], color=c, lw=1.1, label=f"quantum, hbar = {g3(r['role']['hbar'])}")
    if unperturbed_run is not None:
        ax.plot(ures.series["t"], ures.series["E1"], color="tab:blue", ls="--", lw=1.2,
                label=f"eps = 0, hbar = {g3(unperturbed_run['role']['hbar'])}")
    ax.set_xlabel("t")
    ax.set_ylabel("E1")
    ax.set_xlim(0, float(tc.max()))
    ax.set_ylim(bottom=0)
    ax.set_title(f"(a) m = {g3(v['mass_ratio'])}, eps = {g3(v['eps'])}", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")

    colours = ["tab:blue", "black", "tab:green", "tab:purple", "tab:orange"]
    lo = math.inf
    for (h, t, p, P, fit), c in zip(dists, colours):
        pp, PP = mirror(p, P)
        bx.semilogy(pp, PP, color=c, lw=0.8, label=f"hbar = {g3(h)}, t = {t}")
        grid = np.linspace(-fit.p_hi, fit.p_hi, 401) if math.isfinite(fit.p_hi) else np.array([])
        g, e = fit.gaussian, fit.exponential
        if grid.size and math.isfinite(g.width):
            bx.semilogy(grid, g.p_of(grid) / 2, color="tab:red", ls="-.", lw=1.0,
                        label=f"Gauss ({g3(h)}), zeta = {g3(g.width)}+-{g3(g.width_err)} (rms {g3(g.rms)})")
        if grid.size and math.isfinite(e.width):
            bx.semilogy(grid, e.p_of(grid) / 2, color="tab:red", ls="--", lw=1.0,
                        label=f"exp ({g3(h)}), xi = {g3(e.width)}+-{g3(e.width_err)} (rms {g3(e.rms)})")
        lo = min(lo, FIT_FLOOR * float(np.max(P)) / 2 / 30)
    p_max = max((fit.p_hi for *_, fit in dists if math.isfinite(fit.p_hi)), default=math.nan)
    if math.isfinite(p_max):
        bx.set_xlim(-1.15 * p_max, 1.15 * p_max)
    if math.isfinite(lo):
        bx.set_ylim(bottom=lo)
    bx.set_xlabel("p")
    bx.set_ylabel("P1(p)")
    bx.set_title("(b) momentum distribution at t_f", fontsize=10)
    bx.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    common.save_figure(fig, path)
    plt.close(fig)
