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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import common
from .figkit import (FOLLOW_TOL, LOCAL_GROWTH, against_classical, check, classical_energy, comparison,
                     count_inversions, final_distribution, late_mask, num, run_n_kicks, same, shades, summary,
                     verdict_of)
from .fits import FIT_FLOOR, FIT_SKIP_MODES, fit_distribution, mirror

TABLES = ("fig2_energy.csv", "fig2_distributions.csv", "fig2_fits.csv")

# Verdict rules (see the comparisons' texts); FOLLOW_TOL (0.2) and LOCAL_GROWTH (0.25), shared
# with Fig. 3, are in figkit.
FOLLOW_PARTLY = 0.5     # "follows the classical line": |ratio - 1| <= FOLLOW_TOL at t_f and over the
                        # late half, within 0.5 for "partly"
LOCAL_RATIO = 0.5       # "localised": ratio_f <= 0.5 and late growth <= LOCAL_GROWTH of the classical one

# The paper's setting, used only to name the causes of a difference.
PAPER_T_F = 500
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
    """One line: the largest relative change of <p1^2> and purity over the checked runs."""
    if not rows:
        return None
    parts = _largest_changes(rows, (("p1_sq", "p1_sq"), ("purity", "purity")))
    text = f"convergence over the first {rows[0]['kicks']} kicks, largest relative change: " + "; ".join(parts)
    end = _largest_changes(rows, (("p1_sq", "p1_sq"), ("purity_abs", "purity (absolute)")), prefix="end_")
    return text + ("; over the last kicks, from each run's final state: " + "; ".join(end) if end else "")


# --------------------------------------------------------------------------- load
@dataclass
class Fig2Data:
    """The variant and the runs' results as read."""

    variant: dict
    runs: list[dict]
    classical_run: dict
    quantum_runs: list[dict]            # eps != 0, ascending hbar
    unperturbed_run: dict | None        # eps = 0
    cres: common.Result
    qres: dict[str, common.Result]
    ures: common.Result | None
    tc: np.ndarray
    Ec: np.ndarray
    Ec_err: np.ndarray
    distributions: list[tuple[float, int, np.ndarray, np.ndarray]]   # (hbar, t, p, P) at t_f
    convergence: list[dict]
    resolution: list[dict]

    @property
    def n_kicks(self) -> int:
        return int(self.variant["n_kicks"])

    def quantum_and_unperturbed(self) -> list[tuple[dict, common.Result, str]]:
        """(run, result, curve name) of every quantum run, the unperturbed one last."""
        out = [(r, self.qres[r["name"]], "quantum") for r in self.quantum_runs]
        if self.unperturbed_run is not None:
            out.append((self.unperturbed_run, self.ures, "unperturbed"))
        return out


def _final_distributions(variant, quantum_runs, qres) -> list[tuple[float, int, np.ndarray, np.ndarray]]:
    out = []
    for h in variant["distribution_hbar"]:
        run = next((r for r in quantum_runs if same(r["role"]["hbar"], h)), None)
        if run is None:
            raise common.MissingResult(f"fig2: no quantum run at distribution_hbar = {h}")
        res = qres[run["name"]]
        t, P = final_distribution(res, run_n_kicks(run), run["result"])
        out.append((float(h), t, np.asarray(res.momenta, float), P))
    return out


def load(plan: dict) -> Fig2Data:
    runs = plan["runs"]
    classical_run = next(r for r in runs if r["engine"] == "classical")
    quantum_runs = sorted((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) != 0.0),
                          key=lambda r: float(r["role"]["hbar"]))
    unperturbed_run = next((r for r in runs if r["engine"] == "quantum" and float(r["role"]["eps"]) == 0.0), None)
    cres = common.read_result(classical_run["result"])
    qres = {r["name"]: common.read_result(r["result"]) for r in quantum_runs}
    ures = common.read_result(unperturbed_run["result"]) if unperturbed_run else None
    checked = [r for r in quantum_runs + [unperturbed_run] if r is not None and r.get("convergence")]
    return Fig2Data(plan["variant"], runs, classical_run, quantum_runs, unperturbed_run, cres, qres, ures,
                    *classical_energy(cres), _final_distributions(plan["variant"], quantum_runs, qres),
                    [common.convergence_row(r) for r in checked], [common.resolution_row(r) for r in runs])


# --------------------------------------------------------------------------- measure
@dataclass
class Fig2Measures:
    against: dict[str, dict]            # run name -> against_classical of the quantum runs
    unperturbed: dict | None            # against_classical of the eps = 0 run
    dists: list[tuple]                  # (hbar, t, p, P, DistributionFit)
    classical: dict | None              # classical_shape at t_f


def measure(data: Fig2Data) -> Fig2Measures:
    tc, Ec = data.tc, data.Ec
    against = {r["name"]: against_classical(data.qres[r["name"]].series["t"], data.qres[r["name"]].series["E1"],
                                            tc, Ec) for r in data.quantum_runs}
    ures = data.ures
    unperturbed = against_classical(ures.series["t"], ures.series["E1"], tc, Ec) if ures else None
    dists = [(h, t, p, P, fit_distribution(p, P)) for h, t, p, P in data.distributions]
    return Fig2Measures(against, unperturbed, dists, classical_shape(data.cres, data.n_kicks))


# --------------------------------------------------------------------------- judge
def judge(data: Fig2Data, m: Fig2Measures) -> list[dict]:
    short = f"t_f = {data.n_kicks} < the paper's {PAPER_T_F}" if data.n_kicks < PAPER_T_F else ""
    comparisons = [
        _compare_follow(data.quantum_runs, m.against, short),
        _compare_localised(data.quantum_runs, m.against, short),
        _compare_unperturbed(data.unperturbed_run, m.unperturbed, data.quantum_runs, data.qres, data.ures, short),
        _compare_ordering(data.quantum_runs, data.qres, short),
        _compare_distributions(m.dists, short, data.n_kicks, m.classical),
    ]
    common.flag_unaccepted(comparisons, data.convergence)
    return comparisons


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    data = load(plan)
    m = measure(data)
    comparisons = judge(data, m)
    write_tables(out_dir, data, m)
    _draw(plt, out_dir / "fig2.png", data, m.dists)
    return summary("Fig. 2: classical and quantum mean energy of particle 1; momentum distributions at t_f",
                   _parameters(data), data.resolution, data.convergence, comparisons, _notes(data),
                   TABLES, "fig2.png")


def write_tables(out_dir: Path, data: Fig2Data, m: Fig2Measures) -> None:
    energy = [{"curve": "classical", "hbar": "", "eps": float(data.classical_run["role"]["eps"]), "t": t, "E1": e,
               "E1_err": de} for t, e, de in zip(data.tc, data.Ec, data.Ec_err)]
    for r, res, curve in data.quantum_and_unperturbed():
        energy += [{"curve": curve, "hbar": float(r["role"]["hbar"]), "eps": float(r["role"]["eps"]), "t": t,
                    "E1": e, "E1_err": 0.0} for t, e in zip(res.series["t"], res.series["E1"])]
    dist_rows, fits_rows = [], []
    for h, t, p, P, fit in m.dists:
        dist_rows += [{"hbar": h, "t": t, "p": pn, "P": x} for pn, x in zip(p, P)]
        fits_rows += fit_rows(h, fit, {"t": t})
    for name, rows in zip(TABLES, (energy, dist_rows, fits_rows)):
        common.write_table(out_dir / name, rows)


def _notes(data: Fig2Data) -> list[str]:
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
    if data.variant.get("description"):
        notes.append(f"variant: {data.variant['description']}")
    cn = convergence_note(data.convergence)
    if cn:
        notes.append(cn)
    notes += common.convergence_notes(data.convergence)
    if data.unperturbed_run is not None:
        notes.append(f"the eps = 0 run (particles independent): scheme {data.ures.attrs.get('scheme')}, "
                     f"hbar = {num(data.unperturbed_run['role']['hbar'])}, grid {data.ures.attrs.get('N1')}.")
    return notes


def _parameters(data: Fig2Data) -> dict:
    v, u = data.variant, data.unperturbed_run
    first = data.qres[data.quantum_runs[0]["name"]] if data.quantum_runs else data.cres
    physics = first.config.get("physics", {})
    return {
        "hbar": [float(r["role"]["hbar"]) for r in data.quantum_runs],
        "distribution_hbar": [float(h) for h in v["distribution_hbar"]],
        "unperturbed_hbar": float(u["role"]["hbar"]) if u else None,
        "mass_ratio": float(v["mass_ratio"]), "eps": float(v["eps"]), "n_kicks": data.n_kicks,
        "trajectories": int(v["trajectories"]),
        **{k: physics.get(k) for k in ("K1", "K2", "lam", "L", "interaction") if k in physics},
        "fit_floor": FIT_FLOOR, "fit_skip_modes": FIT_SKIP_MODES,
    }


# --------------------------------------------------------------------------- comparisons
def _compare_follow(quantum_runs, meas, short) -> dict:
    paper = f"quantum E1 follows the classical line at hbar = {PAPER_HBAR_CLASSICAL:g}"
    rule = f"rule: agrees if |ratio - 1| <= {FOLLOW_TOL:g} at t_f and over the late half, partly <= {FOLLOW_PARTLY:g}"
    if not quantum_runs:
        return comparison("E1_q vs E1_c at the smallest hbar", paper, "no quantum run", "not compared")
    r = quantum_runs[0]
    h, m = float(r["role"]["hbar"]), meas[r["name"]]
    verdict = follows_verdict(m["ratio_f"], m["ratio_late"])
    causes = []
    if h > PAPER_HBAR_CLASSICAL * (1 + 1e-9):
        causes.append(f"smallest hbar here is {num(h)} (the paper's {PAPER_HBAR_CLASSICAL:g} left to the paper variant)")
    if short:
        causes.append(short)
    causes.append("classical ensemble statistics")
    return comparison(f"E1_q / E1_c at the smallest hbar ({num(h)})", paper,
                      f"hbar = {num(h)}: ratio_f = {num(m['ratio_f'])}, ratio_late = {num(m['ratio_late'])}, "
                      f"growth = {num(m['growth'])}; {rule}", verdict, "; ".join(causes))


def _compare_localised(quantum_runs, meas, short) -> dict:
    paper = f"E1 localises (saturates) at hbar = {PAPER_HBAR_LOCALISED:g}"
    rule = f"rule: localised if ratio_f <= {LOCAL_RATIO:g} and growth <= {LOCAL_GROWTH:g} (partly: one of them)"
    if not quantum_runs:
        return comparison("localisation at the largest hbar", paper, "no quantum run", "not compared")
    r = quantum_runs[-1]
    h, m = float(r["role"]["hbar"]), meas[r["name"]]
    verdict = localised_verdict(m["ratio_f"], m["growth"])
    causes = []
    if not same(h, PAPER_HBAR_LOCALISED):
        causes.append(f"largest hbar here is {num(h)}, not {PAPER_HBAR_LOCALISED:g}")
    causes += [c for c in (short,) if c]
    causes.append("quantum fluctuations of E1 in the late-half slope; the interaction form is a reading of the paper")
    return comparison(f"localisation at the largest hbar ({num(h)})", paper,
                      f"hbar = {num(h)}: ratio_f = {num(m['ratio_f'])}, growth = {num(m['growth'])} "
                      f"(late slopes {num(m['slope_q'])} vs classical {num(m['slope_c'])}); {rule}",
                      verdict, "; ".join(causes))


def _compare_unperturbed(run, m, quantum_runs, qres, ures, short) -> dict:
    paper = f"eps = 0 localises even at hbar = {PAPER_HBAR_CLASSICAL:g} (E1 eventually suppressed)"
    if run is None or m is None:
        return comparison("unperturbed (eps = 0) run", paper, "no eps = 0 run", "not compared")
    h = float(run["role"]["hbar"])
    verdict = localised_verdict(m["ratio_f"], m["growth"])
    text = (f"eps = 0, hbar = {num(h)}: ratio_f = {num(m['ratio_f'])}, growth = {num(m['growth'])}; "
            f"rule as above (ratio_f <= {LOCAL_RATIO:g}, growth <= {LOCAL_GROWTH:g})")
    twin = next((r for r in quantum_runs if same(r["role"]["hbar"], h)), None)
    if twin is not None:
        e_eps = float(qres[twin["name"]].series["E1"][-1])
        e_0 = float(ures.series["E1"][-1])
        text += f"; E1(t_f) with eps / without = {num(e_eps / e_0)}"
    causes = []
    if not same(h, PAPER_HBAR_CLASSICAL):
        causes.append(f"hbar = {num(h)}, not {PAPER_HBAR_CLASSICAL:g}")
    if short:
        causes.append(f"{short}: the localisation time at small hbar is long, the paper says 'after long time'")
    else:
        causes.append("the localisation time at small hbar is comparable to t_f")
    return comparison(f"unperturbed eps = 0 at hbar = {num(h)}", paper, text, verdict, "; ".join(causes))


def _compare_ordering(quantum_runs, qres, short) -> dict:
    paper = "curves ordered top to bottom hbar = 0.01 .. 0.05: E1 falls as hbar grows"
    if len(quantum_runs) < 2:
        return comparison("E1(t_f) ordering in hbar", paper, "fewer than two hbar", "not compared")
    hs = [float(r["role"]["hbar"]) for r in quantum_runs]
    e_f = [float(qres[r["name"]].series["E1"][-1]) for r in quantum_runs]
    e_late = []
    for r in quantum_runs:
        s = qres[r["name"]].series
        e_late.append(float(np.mean(np.asarray(s["E1"], float)[late_mask(s["t"])])))
    inv_f, inv_late = count_inversions(e_f), count_inversions(e_late)
    pairs = ", ".join(f"{num(h)}: {num(e)}" for h, e in zip(hs, e_f))
    return comparison("E1(t_f) against hbar", paper,
                      f"E1(t_f) per hbar {pairs}; inversions at t_f {inv_f}, of late-half means {inv_late}; "
                      "rule: agrees if strictly decreasing at t_f, partly if the late-half means are "
                      "or one pair is inverted", ordering_verdict(inv_f, inv_late),
                      "quantum fluctuations of E1 at t_f between neighbouring hbar" + (f"; {short}" if short else ""))


def _compare_distributions(dists, short, n_kicks, classical) -> dict:
    paper = (f"P1(p) at t = {PAPER_T_F}: Gaussian at hbar = {PAPER_DISTRIBUTION_HBAR[0]:g}, exponential "
             f"(localised) at hbar = {PAPER_DISTRIBUTION_HBAR[1]:g}")
    if not dists:
        return comparison("momentum distribution form", paper, "no distribution", "not compared")
    parts = []
    for h, t, _, _, fit in dists:
        parts.append(f"hbar = {num(h)} (t = {t}): {fit.better} (rms Gauss {num(fit.gaussian.rms)}, exp "
                     f"{num(fit.exponential.rms)}; zeta = {num(fit.gaussian.width)}, xi = {num(fit.exponential.width)}; "
                     f"kurtosis {num(fit.kurtosis)})")
    if classical is not None:
        parts.append(f"classical |p1| at t = {classical['t']}: kurtosis {num(classical['kurtosis'])}, histogram "
                     f"prefers {classical['fit'].better}")
    rule = "rule: agrees if the smallest hbar prefers Gaussian and the largest exponential, partly if one does"
    verdict = distribution_verdict([fit.better for *_, fit in dists])
    return comparison("form of the momentum distribution at t_f", paper, "; ".join(parts) + f"; {rule}", verdict,
                      "; ".join(_distribution_causes([h for h, *_ in dists], n_kicks, classical)))


def _distribution_causes(used: list[float], n_kicks: int, classical) -> list[str]:
    causes = []
    if not (same(used[0], PAPER_DISTRIBUTION_HBAR[0]) and same(used[-1], PAPER_DISTRIBUTION_HBAR[-1])):
        causes.append(f"hbar used {', '.join(num(h) for h in used)}")
    if n_kicks != PAPER_T_F:
        causes.append(f"t = {n_kicks}, not {PAPER_T_F}")
    causes.append("mode-to-mode fluctuations of P1 dominate the rms residuals")
    if classical is not None and classical["fit"].better != "gaussian":
        causes.append("the classical distribution of this model is itself not Gaussian at t_f")
    elif classical is None:
        causes.append("the classical distribution at t_f (the diffusive reference) was not recorded")
    return causes


# --------------------------------------------------------------------------- drawing
def _draw(plt, path, data: Fig2Data, dists) -> None:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    _draw_energy(ax, data)
    _draw_distributions(bx, dists)
    fig.tight_layout()
    common.save_figure(fig, path)
    plt.close(fig)


def _draw_energy(ax, data: Fig2Data) -> None:
    tc, Ec, Ec_err = data.tc, data.Ec, data.Ec_err
    ax.fill_between(tc, Ec - Ec_err, Ec + Ec_err, color="tab:red", alpha=0.25, lw=0)
    ax.plot(tc, Ec, color="tab:red", lw=1.6, label="classical")
    for r, c in zip(data.quantum_runs, shades(len(data.quantum_runs))):
        s = data.qres[r["name"]].series
        ax.plot(s["t"], s["E1"], color=c, lw=1.1, label=f"quantum, hbar = {num(r['role']['hbar'])}")
    if data.unperturbed_run is not None:
        ax.plot(data.ures.series["t"], data.ures.series["E1"], color="tab:blue", ls="--", lw=1.2,
                label=f"eps = 0, hbar = {num(data.unperturbed_run['role']['hbar'])}")
    ax.set_xlabel("t")
    ax.set_ylabel("E1")
    ax.set_xlim(0, float(tc.max()))
    ax.set_ylim(bottom=0)
    ax.set_title(f"(a) m = {num(data.variant['mass_ratio'])}, eps = {num(data.variant['eps'])}", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")


def _draw_distributions(bx, dists) -> None:
    colours = ["tab:blue", "black", "tab:green", "tab:purple", "tab:orange"]
    lo = math.inf
    for (h, t, p, P, fit), c in zip(dists, colours):
        pp, PP = mirror(p, P)
        bx.semilogy(pp, PP, color=c, lw=0.8, label=f"hbar = {num(h)}, t = {t}")
        grid = np.linspace(-fit.p_hi, fit.p_hi, 401) if math.isfinite(fit.p_hi) else np.array([])
        g, e = fit.gaussian, fit.exponential
        if grid.size and math.isfinite(g.width):
            bx.semilogy(grid, g.p_of(grid) / 2, color="tab:red", ls="-.", lw=1.0,
                        label=f"Gauss ({num(h)}), zeta = {num(g.width)}+-{num(g.width_err)} (rms {num(g.rms)})")
        if grid.size and math.isfinite(e.width):
            bx.semilogy(grid, e.p_of(grid) / 2, color="tab:red", ls="--", lw=1.0,
                        label=f"exp ({num(h)}), xi = {num(e.width)}+-{num(e.width_err)} (rms {num(e.rms)})")
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
