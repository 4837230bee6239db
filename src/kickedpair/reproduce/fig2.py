"""Fig. 2 of the paper: the quantum to classical transition of particle 1's diffusion.

(a) Mean energy ``E1(t)`` of particle 1: the classical ensemble (``E1 = <p1^2>/2`` with its
standard error), the quantum runs at every ``hbar`` of the variant, the unperturbed quantum run
(``eps = 0``, dashed) and its classical line (the ``eps = 0`` ensemble, dotted). (b) Momentum
distributions ``P1`` at ``t = n_kicks`` for the variant's ``distribution_hbar``, mirrored to
``-p`` on a log axis, with the Gaussian and exponential fits of :mod:`kickedpair.reproduce.fits`.

Measures behind the verdicts (all from the data, rules stated with each comparison):

* ``ratio_f = E1_q(t_f) / E1_c(t_f)`` (this is ``eta = Dq / Dc`` of Fig. 4) and ``ratio_late``,
  the mean of ``E1_q / E1_c`` over the late half ``[t_f/2, t_f]``; each quantum run against the
  classical ensemble of its own coupling: the interacting runs against the ``eps`` ensemble, the
  unperturbed run against the ``eps = 0`` one;
* ``growth = s_q / s_c``: least-squares slopes of ``E1`` over the late half, quantum over
  classical. A localised run has stopped growing (``growth`` near 0), a diffusive one grows
  like the classical ensemble (``growth`` near 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

import numpy as np

from . import common
from .figkit import (FOLLOW_TOL, LOCAL_GROWTH, PAPER_T_F, against_classical, check, classical_energy, comparison,
                     count_inversions, final_distribution, finish_distributions, finish_energy, joined, late_mask,
                     num, panels, run_at, run_n_kicks, same, shades, short_run, summary, variant_note, verdict_of)
from .fits import FIT_FLOOR, FIT_SKIP_MODES, fit_distribution, mirror

TABLES = ("fig2_energy.csv", "fig2_distributions.csv", "fig2_fits.csv")

# Verdict rules (see the comparisons' texts); FOLLOW_TOL (0.2) and LOCAL_GROWTH (0.25), shared
# with Fig. 3, are in figkit.
FOLLOW_PARTLY = 0.5     # "follows the classical line": |ratio - 1| <= FOLLOW_TOL at t_f and over the
                        # late half, within 0.5 for "partly"
LOCAL_RATIO = 0.5       # "localised": ratio_f <= 0.5 and late growth <= LOCAL_GROWTH of the classical one

# The paper's setting (and figkit.PAPER_T_F), used only to name the causes of a difference.
PAPER_HBAR_CLASSICAL = 0.01
PAPER_HBAR_LOCALISED = 0.05
PAPER_DISTRIBUTION_HBAR = (0.01, 0.05)


# --------------------------------------------------------------------------- verdict rules
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
    return verdict_of([check(ratio_f, lambda r: r <= max_ratio), check(growth, lambda g: g <= max_growth)])


def ordering_verdict(inversions_f: int, inversions_late: int) -> str:
    """agrees: E1(t_f) strictly decreasing in hbar; partly: the late-half means are, or one pair
    at t_f is inverted; else differs."""
    return "agrees" if inversions_f == 0 else "partly" if inversions_late == 0 or inversions_f == 1 else "differs"


def distribution_verdict(better: Sequence[str]) -> str:
    """agrees: the smallest hbar prefers the Gaussian and the largest the exponential; partly: one."""
    if len(better) < 2:
        return "not compared"
    return verdict_of([better[0] == "gaussian", better[-1] == "exponential"])


# --------------------------------------------------------------------------- helpers
def fit_rows(hbar: float, fit, extra: Mapping[str, Any] | None = None) -> list[dict]:
    """One row per form: a, width (zeta or xi) with errors, rms in ln P, and the better form."""
    return [{"hbar": hbar, "form": f.form, "a": f.a, "a_err": f.a_err, "width": f.width, "width_err": f.width_err,
             "rms": f.rms, "better": fit.better, **(extra or {}), "kurtosis": fit.kurtosis, "n_points": f.n,
             "p_lo": fit.p_lo, "p_hi": fit.p_hi} for f in (fit.gaussian, fit.exponential)]


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


def _largest_changes(rows, keys, prefix: str = "") -> list[str]:
    """``label q value (run)`` of the largest finite |change| per (test, quantity) over the rows."""
    parts = []
    for test, label in (("half_step", "half step"), ("double_grid", "double grid")):
        for q, what in keys:
            vals = [(abs(float(r[f"{prefix}{test}_{q}"])), r["run"]) for r in rows
                    if math.isfinite(float(r.get(f"{prefix}{test}_{q}", float("nan"))))]
            if vals:
                v, name = max(vals)
                parts.append(f"{label} {what} {num(v)} ({name})")
    return parts


def convergence_note(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """One line: the largest relative change of <p1^2> and purity over the checked runs, over the
    start stretch and over the end stretch, each named by the kicks it covers."""
    if not rows:
        return None
    starts, ends = common.spans_by_stretch(rows)
    parts = _largest_changes(rows, (("p1_sq", "p1_sq"), ("purity", "purity")))
    text = f"convergence over the start stretch ({starts}), largest relative change: " + "; ".join(parts)
    end = _largest_changes(rows, (("p1_sq", "p1_sq"), ("purity_abs", "purity (absolute)")), prefix="end_")
    return text + (f"; over the end stretch ({ends}), from each run's final state: " + "; ".join(end) if end else "")


# --------------------------------------------------------------------------- load
def _final_distributions(variant, quantum_runs, qres) -> list[tuple[float, int, np.ndarray, np.ndarray]]:
    out = []
    for h in variant["distribution_hbar"]:
        run = run_at(quantum_runs, f"fig2: no quantum run at distribution_hbar = {h}", hbar=h)
        res = qres[run["name"]]
        t, P = final_distribution(res, run_n_kicks(run), run["result"])
        out.append((float(h), t, np.asarray(res.momenta, float), P))
    return out


def _classical_runs(runs, eps: float) -> tuple[dict, dict | None]:
    """The classical run of the variant's coupling and the eps = 0 one (the same run when eps = 0;
    None when the plan has none)."""
    classical = [r for r in runs if r["engine"] == "classical"]
    coupled = run_at(classical, f"fig2: no classical run at eps = {eps:g}", eps=eps)
    zero = next((r for r in classical if same(r["role"]["eps"], 0.0) and r is not coupled), None)
    return coupled, coupled if same(eps, 0.0) else zero


def load(plan: dict) -> SimpleNamespace:
    """The classical runs (the variant's eps and eps = 0), the quantum runs (eps != 0, ascending
    hbar), the unperturbed one (eps = 0) and their results; the distributions (hbar, t, p, P) at
    t_f; the convergence and resolution rows."""
    runs, v = plan["runs"], plan["variant"]
    classical_run, zero_classical_run = _classical_runs(runs, float(v["eps"]))
    quantum_runs = sorted((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) != 0.0),
                          key=lambda r: float(r["role"]["hbar"]))
    unperturbed_run = next((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) == 0.0), None)
    cres = common.read_result(classical_run["result"])
    qres = {r["name"]: common.read_result(r["result"]) for r in quantum_runs}
    ures = common.read_result(unperturbed_run["result"]) if unperturbed_run else None
    checked = [r for r in quantum_runs + [unperturbed_run] if r is not None and r.get("convergence")]
    tc, Ec, Ec_err = classical_energy(cres)
    zero = classical_energy(common.read_result(zero_classical_run["result"])) if zero_classical_run else None
    return SimpleNamespace(variant=v, n_kicks=int(v["n_kicks"]), classical_run=classical_run,
                           quantum_runs=quantum_runs, unperturbed_run=unperturbed_run, cres=cres, qres=qres,
                           ures=ures, tc=tc, Ec=Ec, Ec_err=Ec_err, zero_classical_run=zero_classical_run,
                           zero=zero,
                           distributions=_final_distributions(v, quantum_runs, qres),
                           convergence=[common.convergence_row(r) for r in checked],
                           resolution=[common.resolution_row(r) for r in runs])


# --------------------------------------------------------------------------- measure
def measure(d: SimpleNamespace) -> SimpleNamespace:
    """against_classical of every quantum run (by name) against the classical ensemble of the
    variant's eps, and of the unperturbed one against the eps = 0 ensemble; the fits of the
    distributions (hbar, t, p, P, fit); the classical shape at t_f."""
    def against(res, tc, Ec):
        return against_classical(res.series["t"], res.series["E1"], tc, Ec)

    unperturbed = against(d.ures, *d.zero[:2]) if d.ures is not None and d.zero is not None else None
    return SimpleNamespace(against={r["name"]: against(d.qres[r["name"]], d.tc, d.Ec) for r in d.quantum_runs},
                           unperturbed=unperturbed,
                           dists=[(h, t, p, P, fit_distribution(p, P)) for h, t, p, P in d.distributions],
                           classical=classical_shape(d.cres, d.n_kicks))


# --------------------------------------------------------------------------- judge
def judge(d: SimpleNamespace, m: SimpleNamespace) -> list[dict]:
    short = short_run(d.n_kicks)
    comparisons = [rule(d, m, short) for rule in (_compare_follow, _compare_localised, _compare_unperturbed,
                                                  _compare_ordering, _compare_distributions)]
    common.flag_unaccepted(comparisons, d.convergence)
    return comparisons


def _hbar(run) -> float:
    return float(run["role"]["hbar"])


def _compare_follow(d, m, short) -> dict:
    paper = f"quantum E1 follows the classical line at hbar = {PAPER_HBAR_CLASSICAL:g}"
    if not d.quantum_runs:
        return comparison("E1_q vs E1_c at the smallest hbar", paper, "no quantum run", "not compared")
    h, a = _hbar(d.quantum_runs[0]), m.against[d.quantum_runs[0]["name"]]
    return comparison(
        f"E1_q / E1_c at the smallest hbar ({num(h)})", paper,
        f"hbar = {num(h)}: ratio_f = {num(a['ratio_f'])}, ratio_late = {num(a['ratio_late'])}, "
        f"growth = {num(a['growth'])}; rule: agrees if |ratio - 1| <= {FOLLOW_TOL:g} at t_f and over the late "
        f"half, partly <= {FOLLOW_PARTLY:g}", follows_verdict(a["ratio_f"], a["ratio_late"]),
        joined(f"smallest hbar here is {num(h)} (the paper's {PAPER_HBAR_CLASSICAL:g} left to the paper variant)"
               if h > PAPER_HBAR_CLASSICAL * (1 + 1e-9) else "", short, "classical ensemble statistics"))


def _compare_localised(d, m, short) -> dict:
    paper = f"E1 localises (saturates) at hbar = {PAPER_HBAR_LOCALISED:g}"
    if not d.quantum_runs:
        return comparison("localisation at the largest hbar", paper, "no quantum run", "not compared")
    h, a = _hbar(d.quantum_runs[-1]), m.against[d.quantum_runs[-1]["name"]]
    return comparison(
        f"localisation at the largest hbar ({num(h)})", paper,
        f"hbar = {num(h)}: ratio_f = {num(a['ratio_f'])}, growth = {num(a['growth'])} "
        f"(late slopes {num(a['slope_q'])} vs classical {num(a['slope_c'])}); rule: localised if ratio_f <= "
        f"{LOCAL_RATIO:g} and growth <= {LOCAL_GROWTH:g} (partly: one of them)",
        localised_verdict(a["ratio_f"], a["growth"]),
        joined("" if same(h, PAPER_HBAR_LOCALISED) else f"largest hbar here is {num(h)}, not {PAPER_HBAR_LOCALISED:g}",
               short, "quantum fluctuations of E1 in the late-half slope; the interaction form is a reading of the "
               "paper"))


def _compare_unperturbed(d, m, short) -> dict:
    paper = f"eps = 0 localises even at hbar = {PAPER_HBAR_CLASSICAL:g} (E1 eventually suppressed)"
    run, a = d.unperturbed_run, m.unperturbed
    if run is None or a is None:
        return comparison("unperturbed (eps = 0) run", paper,
                          "no eps = 0 quantum run" if run is None else "no eps = 0 classical run", "not compared")
    h = _hbar(run)
    text = (f"eps = 0, hbar = {num(h)}, against the eps = 0 classical line: ratio_f = {num(a['ratio_f'])}, "
            f"growth = {num(a['growth'])}; rule as above (ratio_f <= {LOCAL_RATIO:g}, growth <= {LOCAL_GROWTH:g})")
    twin = next((r for r in d.quantum_runs if same(r["role"]["hbar"], h)), None)
    if twin is not None:
        e_eps, e_0 = float(d.qres[twin["name"]].series["E1"][-1]), float(d.ures.series["E1"][-1])
        text += f"; E1(t_f) with eps / without = {num(e_eps / e_0)}"
    return comparison(f"unperturbed eps = 0 at hbar = {num(h)}", paper, text,
                      localised_verdict(a["ratio_f"], a["growth"]),
                      joined("" if same(h, PAPER_HBAR_CLASSICAL) else f"hbar = {num(h)}, not {PAPER_HBAR_CLASSICAL:g}",
                             f"{short}: the localisation time at small hbar is long, the paper says 'after long "
                             "time'" if short else "the localisation time at small hbar is comparable to t_f"))


def _compare_ordering(d, m, short) -> dict:
    paper = "curves ordered top to bottom hbar = 0.01 .. 0.05: E1 falls as hbar grows"
    if len(d.quantum_runs) < 2:
        return comparison("E1(t_f) ordering in hbar", paper, "fewer than two hbar", "not compared")
    series = [d.qres[r["name"]].series for r in d.quantum_runs]
    e_f = [float(s["E1"][-1]) for s in series]
    e_late = [float(np.mean(np.asarray(s["E1"], float)[late_mask(s["t"])])) for s in series]
    inv_f, inv_late = count_inversions(e_f), count_inversions(e_late)
    pairs = ", ".join(f"{num(_hbar(r))}: {num(e)}" for r, e in zip(d.quantum_runs, e_f))
    return comparison("E1(t_f) against hbar", paper,
                      f"E1(t_f) per hbar {pairs}; inversions at t_f {inv_f}, of late-half means {inv_late}; "
                      "rule: agrees if strictly decreasing at t_f, partly if the late-half means are "
                      "or one pair is inverted", ordering_verdict(inv_f, inv_late),
                      joined("quantum fluctuations of E1 at t_f between neighbouring hbar", short))


def _compare_distributions(d, m, short) -> dict:
    paper = (f"P1(p) at t = {PAPER_T_F}: Gaussian at hbar = {PAPER_DISTRIBUTION_HBAR[0]:g}, exponential "
             f"(localised) at hbar = {PAPER_DISTRIBUTION_HBAR[1]:g}")
    if not m.dists:
        return comparison("momentum distribution form", paper, "no distribution", "not compared")
    parts = [f"hbar = {num(h)} (t = {t}): {fit.better} (rms Gauss {num(fit.gaussian.rms)}, exp "
             f"{num(fit.exponential.rms)}; zeta = {num(fit.gaussian.width)}, xi = {num(fit.exponential.width)}; "
             f"kurtosis {num(fit.kurtosis)})" for h, t, _, _, fit in m.dists]
    cl, used = m.classical, [h for h, *_ in m.dists]
    if cl is not None:
        parts.append(f"classical |p1| at t = {cl['t']}: kurtosis {num(cl['kurtosis'])}, histogram "
                     f"prefers {cl['fit'].better}")
    classical_cause = ("the classical distribution at t_f (the diffusive reference) was not recorded" if cl is None
                       else "the classical distribution of this model is itself not Gaussian at t_f"
                       if cl["fit"].better != "gaussian" else "")
    return comparison(
        "form of the momentum distribution at t_f", paper, "; ".join(parts) + "; rule: agrees if the smallest hbar "
        "prefers Gaussian and the largest exponential, partly if one does",
        distribution_verdict([fit.better for *_, fit in m.dists]),
        joined("" if same(used[0], PAPER_DISTRIBUTION_HBAR[0]) and same(used[-1], PAPER_DISTRIBUTION_HBAR[-1])
               else f"hbar used {', '.join(num(h) for h in used)}",
               f"t = {d.n_kicks}, not {PAPER_T_F}" if d.n_kicks != PAPER_T_F else "",
               "mode-to-mode fluctuations of P1 dominate the rms residuals", classical_cause))


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    d = load(plan)
    m = measure(d)
    comparisons = judge(d, m)
    write_tables(out_dir, d, m)
    draw(out_dir / "fig2.png", d, m)
    return summary("Fig. 2: classical and quantum mean energy of particle 1; momentum distributions at t_f",
                   _parameters(d), d.resolution, d.convergence, comparisons, _notes(d), TABLES, "fig2.png")


def write_tables(out_dir: Path, d: SimpleNamespace, m: SimpleNamespace) -> None:
    lines = [(d.classical_run, (d.tc, d.Ec, d.Ec_err))]
    if d.zero is not None and d.zero_classical_run is not d.classical_run:
        lines.append((d.zero_classical_run, d.zero))
    energy = [{"curve": "classical", "hbar": "", "eps": float(r["role"]["eps"]), "t": t, "E1": e, "E1_err": de}
              for r, line in lines for t, e, de in zip(*line)]
    curves = [(r, d.qres[r["name"]], "quantum") for r in d.quantum_runs]
    for r, res, curve in curves + ([(d.unperturbed_run, d.ures, "unperturbed")] if d.unperturbed_run else []):
        energy += [{"curve": curve, "hbar": float(r["role"]["hbar"]), "eps": float(r["role"]["eps"]), "t": t,
                    "E1": e, "E1_err": 0.0} for t, e in zip(res.series["t"], res.series["E1"])]
    dist_rows = [{"hbar": h, "t": t, "p": pn, "P": x} for h, t, p, P, _ in m.dists for pn, x in zip(p, P)]
    fits_rows = [row for h, t, _, _, fit in m.dists for row in fit_rows(h, fit, {"t": t})]
    for name, rows in zip(TABLES, (energy, dist_rows, fits_rows)):
        common.write_table(out_dir / name, rows)


def _notes(d: SimpleNamespace) -> list[str]:
    notes = [
        "E1 = <p1^2>/2; classical band: one standard error of the ensemble mean; quantum curves are "
        "deterministic (E1_err = 0 in the table).",
        "ratio_f = E1_q(t_f)/E1_c(t_f) (= eta of Fig. 4); ratio_late: mean of E1_q/E1_c over [t_f/2, t_f]; "
        "growth: late-half least-squares slope of E1_q over that of E1_c; E1_c is the classical ensemble of "
        "the run's own coupling: the variant's eps for the interacting runs, eps = 0 for the unperturbed one "
        "(classical rows of the energy table by their eps).",
        f"fits: least squares on ln P1(n) against |p| and p^2 over modes {FIT_SKIP_MODES + 1}.. the last with "
        f"P >= {FIT_FLOOR:g} max P (contiguous); 'better' = smaller rms residual in ln P.",
        "distributions: P1(n) at the positive p_n = hbar n pi / L (table); the plot shows P1/2 at +-p_n; "
        "kurtosis <p^4>/<p^2>^2 (3 Gaussian, 6 exponential) beside the fits.",
        *variant_note(d.variant), *filter(None, [convergence_note(d.convergence)]),
        *common.convergence_notes(d.convergence)]
    if d.unperturbed_run is not None:
        notes.append(f"the eps = 0 run (particles independent): scheme {d.ures.attrs.get('scheme')}, "
                     f"hbar = {num(d.unperturbed_run['role']['hbar'])}, grid {d.ures.attrs.get('N1')}.")
    return notes


def _parameters(d: SimpleNamespace) -> dict:
    v, u = d.variant, d.unperturbed_run
    physics = (d.qres[d.quantum_runs[0]["name"]] if d.quantum_runs else d.cres).config.get("physics", {})
    return {"hbar": [float(r["role"]["hbar"]) for r in d.quantum_runs],
            "distribution_hbar": [float(h) for h in v["distribution_hbar"]],
            "unperturbed_hbar": float(u["role"]["hbar"]) if u else None,
            "mass_ratio": float(v["mass_ratio"]), "eps": float(v["eps"]), "n_kicks": d.n_kicks,
            "trajectories": int(v["trajectories"]),
            **{k: physics.get(k) for k in ("K1", "K2", "lam", "L", "interaction") if k in physics},
            "fit_floor": FIT_FLOOR, "fit_skip_modes": FIT_SKIP_MODES}


# --------------------------------------------------------------------------- draw
def draw(path: Path, d: SimpleNamespace, m: SimpleNamespace) -> None:
    with panels(path, 1, 2, (11.5, 4.4)) as (ax, bx):
        _draw_energy(ax, d)
        _draw_distributions(bx, m.dists)


def _draw_energy(ax, d: SimpleNamespace) -> None:
    ax.fill_between(d.tc, d.Ec - d.Ec_err, d.Ec + d.Ec_err, color="tab:red", alpha=0.25, lw=0)
    ax.plot(d.tc, d.Ec, color="tab:red", lw=1.6, label=f"classical, eps = {num(d.classical_run['role']['eps'])}")
    for r, c in zip(d.quantum_runs, shades(len(d.quantum_runs))):
        s = d.qres[r["name"]].series
        ax.plot(s["t"], s["E1"], color=c, lw=1.1, label=f"quantum, hbar = {num(r['role']['hbar'])}")
    if d.unperturbed_run is not None:
        ax.plot(d.ures.series["t"], d.ures.series["E1"], color="tab:blue", ls="--", lw=1.2,
                label=f"eps = 0, hbar = {num(d.unperturbed_run['role']['hbar'])}")
    if d.unperturbed_run is not None and d.zero is not None:
        t0, E0, E0_err = d.zero
        ax.fill_between(t0, E0 - E0_err, E0 + E0_err, color="tab:blue", alpha=0.15, lw=0)
        ax.plot(t0, E0, color="tab:blue", ls=":", lw=1.4, label="classical, eps = 0")
    finish_energy(ax, float(d.tc.max()), "E1",
                  f"(a) m = {num(d.variant['mass_ratio'])}, eps = {num(d.variant['eps'])}")


def _draw_distributions(bx, dists) -> None:
    drawn = list(zip(dists, ["tab:blue", "black", "tab:green", "tab:purple", "tab:orange"]))
    for (h, t, p, P, fit), c in drawn:
        bx.semilogy(*mirror(p, P), color=c, lw=0.8, label=f"hbar = {num(h)}, t = {t}")
        grid = np.linspace(-fit.p_hi, fit.p_hi, 401) if math.isfinite(fit.p_hi) else np.array([])
        g, e = fit.gaussian, fit.exponential
        if grid.size and math.isfinite(g.width):
            bx.semilogy(grid, g.p_of(grid) / 2, color="tab:red", ls="-.", lw=1.0,
                        label=f"Gauss ({num(h)}), zeta = {num(g.width)}+-{num(g.width_err)} (rms {num(g.rms)})")
        if grid.size and math.isfinite(e.width):
            bx.semilogy(grid, e.p_of(grid) / 2, color="tab:red", ls="--", lw=1.0,
                        label=f"exp ({num(h)}), xi = {num(e.width)}+-{num(e.width_err)} (rms {num(e.rms)})")
    p_max = max((fit.p_hi for *_, fit in dists if math.isfinite(fit.p_hi)), default=math.nan)
    finish_distributions(bx, p_max, [P for (_, _, _, P, _), _ in drawn], "P1(p)", "(b) momentum distribution at t_f")
