"""Fig. 3 of the paper: the random-kick model (one particle, kicks ``K + dK_n``, ``dK_n`` uniform
in ``[-W, W]``, averaged over realisations) against the classical line and the two-particle model.

(a) ``E = <p^2>/2`` against ``t`` at ``hbar = hbar_a`` for every ``W`` of ``W_a``; (b) at
``W = W_b`` for every ``hbar`` of ``hbar_b``; both with the classical ensemble of the same kicked
particle without noise (dashed red). (c) Momentum distributions at ``t = n_kicks`` of the
random-kick model (``W = W_b``, ``hbar`` in ``compare_hbar``) and of Fig. 2's two-particle runs
at the same ``hbar``, with the better of the fits of :mod:`kickedpair.reproduce.fits`.

Measures: ``ratio_f`` and ``growth`` against the classical line as in Fig. 2
(:func:`kickedpair.reproduce.figkit.against_classical`); for (c) the Kolmogorov distance of the
two distributions in ``|p|`` on their common modes (:func:`fits.kolmogorov_distance`, chosen over
the Hellinger distance, also tabulated, because it is blind to mode-to-mode fluctuations), the
ratio of the fitted widths and whether the same form fits better.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import common
from .figkit import (FOLLOW_TOL, LOCAL_GROWTH, against_classical, classical_energy, comparison,
                     count_inversions, final_distribution, finish_distributions, finish_energy, joined, num, panels,
                     run_at, run_n_kicks, same, shades, short_run, summary, variant_note, verdict_of)
from .fits import (FIT_FLOOR, FIT_SKIP_MODES, fit_distribution, hellinger_distance, kolmogorov_distance,
                   mirror)

TABLES = ("fig3_energy.csv", "fig3_distributions.csv", "fig3_compare.csv")

# Verdict rules (see the comparisons' texts); FOLLOW_TOL and LOCAL_GROWTH are Fig. 2's (figkit).
DIFFUSIVE_GROWTH = 0.5    # the largest W "diffuses": late growth >= 0.5 of the classical one
DISTANCE_TOL = 0.15       # distributions "resemble": Kolmogorov distance <= 0.15 ...
WIDTH_TOL = 1.5           # ... fitted widths within a factor 1.5 ... and the same better form

# The paper's setting (and figkit.PAPER_T_F), used only to name the causes of a difference.
PAPER_COMPARE_HBAR = (0.01, 0.05)
PAPER_HBAR_A = 0.01
PAPER_W_B = 0.01


# --------------------------------------------------------------------------- verdict rules
def width_ratio(fit_a, fit_b) -> float:
    """Fitted width of ``a`` over that of ``b``, in the form that fits ``b`` better."""
    return fit_a.form(fit_b.better).width / fit_b.form(fit_b.better).width


def within_factor(ratio: float, tol: float = WIDTH_TOL) -> bool:
    return bool(math.isfinite(ratio) and 1.0 / tol <= ratio <= tol)


def resemble_checks(row: dict) -> list[bool]:
    """The three checks of comparison 3 for one row of the compare table."""
    return [row["kolmogorov"] <= DISTANCE_TOL, row["better_random_kick"] == row["better_two_particle"],
            within_factor(row["width_ratio"])]


def noise_checks(Ws: list[float], ratio_f: list[float], growth: list[float]) -> list[bool | None]:
    """Comparison 1 (W ascending): E(t_f) increasing in W, growth(W = 0) <= LOCAL_GROWTH,
    growth(largest W) >= DIFFUSIVE_GROWTH; None where a check cannot be made."""
    checks = [count_inversions(ratio_f, decreasing=False) == 0 if len(Ws) > 1 else None]
    zero = next((i for i, W in enumerate(Ws) if W == 0.0), None)
    g0 = growth[zero] if zero is not None else float("nan")
    checks.append(bool(g0 <= LOCAL_GROWTH) if math.isfinite(g0) else None)
    gmax = growth[-1] if Ws and Ws[-1] > 0 else float("nan")
    checks.append(bool(gmax >= DIFFUSIVE_GROWTH) if math.isfinite(gmax) else None)
    return checks


def hbar_checks(ratios: list[float]) -> list[bool | None]:
    """Comparison 2 (hbar ascending): ratio_f decreasing in hbar, and within FOLLOW_TOL of 1 at
    the smallest hbar."""
    return [count_inversions(ratios) == 0 if len(ratios) > 1 else None,
            bool(abs(ratios[0] - 1.0) <= FOLLOW_TOL) if ratios and math.isfinite(ratios[0]) else None]


# --------------------------------------------------------------------------- load
def _noise_run(noise_runs, h: float, W: float) -> dict:
    return run_at(noise_runs, f"fig3: no random-kick run at hbar = {h}, W = {W}", hbar=h, W=W)


def _pair(h: float, rk: dict, two_runs, nres, tres) -> dict:
    """The random-kick run and Fig. 2's two-particle run at ``h``, with their distributions at
    one time (the random-kick run records one at Fig. 2's t_f as well)."""
    two = run_at(two_runs, f"fig3: no two-particle run (Fig. 2) at hbar = {h}", hbar=h)
    rres, qres = nres[rk["name"]], tres[two["name"]]
    t_2p, P_2p = final_distribution(qres, run_n_kicks(two), two["result"])
    t_rk, P_rk = final_distribution(rres, t_2p if t_2p in rres.distributions else run_n_kicks(rk), rk["result"])
    return {"hbar": h, "rres": rres, "qres": qres, "t_rk": t_rk, "P_rk": P_rk, "t_2p": t_2p, "P_2p": P_2p}


def load(plan: dict) -> SimpleNamespace:
    """The random-kick runs, the classical run and Fig. 2's two-particle runs with their results;
    the runs of panel (a) (hbar_a, W descending) and (b) (W_b, hbar ascending), the pairs of (c)."""
    v, runs = plan["variant"], plan["runs"]
    noise_runs = [r for r in runs if r["engine"] == "noise"]
    two_runs = [r for r in plan.get("extra_runs", []) if r["engine"] == "quantum"]
    nres = {r["name"]: common.read_result(r["result"]) for r in noise_runs}
    cres = common.read_result(next(r for r in runs if r["engine"] == "classical")["result"])
    tres = {r["name"]: common.read_result(r["result"]) for r in two_runs}
    hbar_a, W_b = float(v["hbar_a"]), float(v["W_b"])
    panel_a = [_noise_run(noise_runs, hbar_a, W) for W in sorted(map(float, v["W_a"]), reverse=True)]
    panel_b = [_noise_run(noise_runs, h, W_b) for h in sorted(map(float, v["hbar_b"]))]
    pairs = [_pair(h, _noise_run(noise_runs, h, W_b), two_runs, nres, tres)
             for h in sorted(map(float, v["compare_hbar"]))]
    tc, Ec, Ec_err = classical_energy(cres)
    return SimpleNamespace(variant=v, n_kicks=int(v["n_kicks"]), noise_runs=noise_runs, two_runs=two_runs,
                           nres=nres, cres=cres, tc=tc, Ec=Ec, Ec_err=Ec_err, panel_a=panel_a, panel_b=panel_b,
                           pairs=pairs, convergence=[common.convergence_row(r) for r in runs + two_runs
                                                     if r.get("convergence")],
                           resolution=[common.resolution_row(r) for r in runs + two_runs])


def energy(d: SimpleNamespace, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``t``, ``E = <p^2>/2`` and its error of a random-kick run."""
    return classical_energy(d.nres[r["name"]], "p_sq")


# --------------------------------------------------------------------------- measure
def compare_row(pair: dict, W_b: float, fit_rk, fit_2p) -> dict:
    """The random-kick and two-particle distributions of one hbar side by side, and <p^2> of
    both at each run's t_f and at the latest time both recorded."""
    rs, qs, P_rk, P_2p = pair["rres"].series, pair["qres"].series, pair["P_rk"], pair["P_2p"]
    t_common = min(float(rs["t"][-1]), float(qs["t"][-1]))
    psq_rk, psq_2p = float(np.interp(t_common, rs["t"], rs["p_sq"])), float(np.interp(t_common, qs["t"], qs["p1_sq"]))
    return {"hbar": pair["hbar"], "W": W_b, "t_random_kick": pair["t_rk"], "t_two_particle": pair["t_2p"],
            "p_sq_random_kick": float(rs["p_sq"][-1]), "p_sq_two_particle": float(qs["p1_sq"][-1]),
            "t_common": t_common, "p_sq_random_kick_common": psq_rk, "p_sq_two_particle_common": psq_2p,
            "p_sq_ratio_common": psq_rk / psq_2p,
            "xi_random_kick": fit_rk.exponential.width, "xi_two_particle": fit_2p.exponential.width,
            "zeta_random_kick": fit_rk.gaussian.width, "zeta_two_particle": fit_2p.gaussian.width,
            "better_random_kick": fit_rk.better, "better_two_particle": fit_2p.better,
            "kurtosis_random_kick": fit_rk.kurtosis, "kurtosis_two_particle": fit_2p.kurtosis,
            "width_ratio": width_ratio(fit_rk, fit_2p), "kolmogorov": kolmogorov_distance(P_rk, P_2p),
            "hellinger": hellinger_distance(P_rk, P_2p)}


def measure(d: SimpleNamespace) -> SimpleNamespace:
    """against_classical of every random-kick run (by name); per pair the fits (random-kick,
    two-particle) and the row of the compare table."""
    fits = [(fit_distribution(p["rres"].momenta, p["P_rk"]), fit_distribution(p["qres"].momenta, p["P_2p"]))
            for p in d.pairs]
    return SimpleNamespace(
        against={r["name"]: against_classical(*energy(d, r)[:2], d.tc, d.Ec) for r in d.noise_runs},
        compare_rows=[compare_row(p, float(d.variant["W_b"]), *f) for p, f in zip(d.pairs, fits)], fits=fits)


# --------------------------------------------------------------------------- judge
def judge(d: SimpleNamespace, m: SimpleNamespace) -> list[dict]:
    comparisons = [_compare_noise(d, m), _compare_hbar(d, m), _compare_distributions(m.compare_rows)]
    common.flag_unaccepted(comparisons, d.convergence)
    return comparisons


def _compare_noise(d, m) -> dict:
    hbar_a = float(d.variant["hbar_a"])
    by_W = sorted(d.panel_a, key=lambda r: float(r["role"]["W"]))
    Ws = [float(r["role"]["W"]) for r in by_W]
    ratio_f = [m.against[r["name"]]["ratio_f"] for r in by_W]   # E(t_f) over one classical E_c(t_f)
    growth = [m.against[r["name"]]["growth"] for r in by_W]
    per = ", ".join(f"W = {num(W)}: ratio_f {num(r)}, growth {num(g)}" for W, r, g in zip(Ws, ratio_f, growth))
    return comparison(
        f"E(t) against W at hbar = {num(hbar_a)}",
        "at hbar = 0.01 the energy grows with W (0.005 .. 0.01); W = 0 localises",
        f"{per}; rule: E(t_f) increasing in W, growth(W = 0) <= {LOCAL_GROWTH:g}, growth(largest W) >= "
        f"{DIFFUSIVE_GROWTH:g}; all: agrees, some: partly", verdict_of(noise_checks(Ws, ratio_f, growth)),
        joined("" if same(hbar_a, PAPER_HBAR_A) else f"hbar_a = {num(hbar_a)}, not {PAPER_HBAR_A:g}",
               short_run(d.n_kicks), "finite realisations (growth from a late-half slope); localisation time at "
               "small hbar vs t_f"))


def _compare_hbar(d, m) -> dict:
    W_b = float(d.variant["W_b"])
    ratios = [m.against[r["name"]]["ratio_f"] for r in d.panel_b]
    per = ", ".join(f"hbar = {num(r['role']['hbar'])}: {num(x)}" for r, x in zip(d.panel_b, ratios))
    return comparison(
        f"E(t_f)/E_c(t_f) against hbar at W = {num(W_b)}",
        "at W = 0.01 the quantum energy approaches the classical line as hbar falls (0.05 .. 0.01)",
        f"ratio_f per hbar {per}; rule: ratio_f decreasing in hbar and |ratio_f - 1| <= {FOLLOW_TOL:g} at the "
        "smallest hbar; both: agrees, one: partly", verdict_of(hbar_checks(ratios)),
        joined("" if same(W_b, PAPER_W_B) else f"W_b = {num(W_b)}, not {PAPER_W_B:g}", short_run(d.n_kicks),
               "finite realisations; classical ensemble statistics"))


def _compare_distributions(rows) -> dict:
    paper = ("the random-kick distributions (W = 0.01) resemble the two-particle ones (m = 0.001) at "
             "hbar = 0.01 and 0.05, both for DL and diffusion")
    if not rows:
        return comparison("random-kick vs two-particle distributions", paper, "no compare_hbar", "not compared")
    parts = [f"hbar = {num(r['hbar'])}: Kolmogorov {num(r['kolmogorov'])}, width ratio {num(r['width_ratio'])}, "
             f"better {r['better_random_kick']} / {r['better_two_particle']}" for r in rows]
    used = [r["hbar"] for r in rows]
    return comparison(
        "random-kick vs two-particle P(p) at t_f", paper,
        "; ".join(parts) + f"; rule per hbar: Kolmogorov <= {DISTANCE_TOL:g}, same better form, width ratio (of "
        f"the two-particle better form) within x{WIDTH_TOL:g}; all: agrees, some: partly",
        verdict_of([c for r in rows for c in resemble_checks(r)]),
        joined("" if same(used[0], PAPER_COMPARE_HBAR[0]) and same(used[-1], PAPER_COMPARE_HBAR[-1])
               else f"hbar used {', '.join(num(h) for h in used)}, not 0.01 and 0.05",
               f"different times: random-kick t = {int(rows[0]['t_random_kick'])}, two-particle t = "
               f"{int(rows[0]['t_two_particle'])} (diffusive widths grow with t)"
               if any(int(r["t_random_kick"]) != int(r["t_two_particle"]) for r in rows) else "",
               "the interaction is not white noise: the comparison is the paper's analogy, not an identity"))


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    d = load(plan)
    m = measure(d)
    comparisons = judge(d, m)
    write_tables(out_dir, d, m)
    draw(out_dir / "fig3.png", d, m)
    return summary("Fig. 3: random-kick model, mean energy against W and hbar; distributions against two particles",
                   _parameters(d), d.resolution, d.convergence, comparisons, _notes(d, m), TABLES, "fig3.png")


def write_tables(out_dir: Path, d: SimpleNamespace, m: SimpleNamespace) -> None:
    # energy: every random-kick run once, then the classical line
    energy_rows = [{"curve": "random-kick", "hbar": float(r["role"]["hbar"]), "W": float(r["role"]["W"]),
                    "t": ti, "E": e, "E_err": de}
                   for r in sorted(d.noise_runs, key=lambda r: (float(r["role"]["hbar"]), float(r["role"]["W"])))
                   for ti, e, de in zip(*energy(d, r))]
    energy_rows += [{"curve": "classical", "hbar": "", "W": 0.0, "t": ti, "E": e, "E_err": de}
                    for ti, e, de in zip(d.tc, d.Ec, d.Ec_err)]
    W_b, dist_rows = float(d.variant["W_b"]), []
    for p in d.pairs:
        dist_rows += [{"model": "random-kick", "hbar": p["hbar"], "W": W_b, "t": p["t_rk"], "p": pn, "P": x}
                      for pn, x in zip(p["rres"].momenta, p["P_rk"])]
        dist_rows += [{"model": "two-particle", "hbar": p["hbar"], "W": "", "t": p["t_2p"], "p": pn, "P": x}
                      for pn, x in zip(p["qres"].momenta, p["P_2p"])]
    for name, rows in zip(TABLES, (energy_rows, dist_rows, m.compare_rows)):
        common.write_table(out_dir / name, rows)


def _notes(d: SimpleNamespace, m: SimpleNamespace) -> list[str]:
    K = float(d.cres.config.get("physics", {}).get("K1", float("nan")))
    W_max = max(float(r["role"]["W"]) for r in d.noise_runs)
    t2 = sorted({int(r["t_two_particle"]) for r in m.compare_rows})
    trk = sorted({int(r["t_random_kick"]) for r in m.compare_rows})
    return [
        "E = <p^2>/2 averaged over the realisations (band: standard error over them); classical: the same kicked "
        "particle without noise (engine classical, eps = 0), E = <p1^2>/2.",
        "classically the noise is negligible: it changes the mean squared kick by W^2/(3 K^2) = "
        f"{num(W_max**2 / (3 * K**2))} of K^2 at W = {num(W_max)}, K = {num(K)}, so one classical line serves every W.",
        "ratio_f = E(t_f)/E_c(t_f); growth: late-half least-squares slope of E over the classical one.",
        "(c): Kolmogorov distance max|F_rk - F_2p| of the |p| distributions on the common modes (envelope; blind to "
        "mode-to-mode fluctuations); the Hellinger distance is tabulated too. Fits as in Fig. 2 (floor "
        f"{FIT_FLOOR:g} of max P, skip {FIT_SKIP_MODES} modes); (c) draws the better form of each.",
        "random-kick runs: the one-particle map is exact per kick, so their check is grid doubling alone "
        "(kickedpair noise --check-convergence, every realisation over noise.convergence_kicks kicks; "
        "half_step does not apply) besides the tail guard.",
        *([f"(c) compares distributions at different times: random-kick t = {trk}, two-particle t = {t2} "
           "(Fig. 2's n_kicks); <p^2> is also compared at the common time t_common."] if t2 != trk else []),
        *variant_note(d.variant), *common.convergence_notes(d.convergence)]


def _parameters(d: SimpleNamespace) -> dict:
    v = d.variant
    return {
        "K": float(d.cres.config.get("physics", {}).get("K1", float("nan"))),
        "hbar_a": float(v["hbar_a"]), "W_a": [float(w) for w in v["W_a"]], "W_b": float(v["W_b"]),
        "hbar_b": [float(h) for h in v["hbar_b"]], "compare_hbar": sorted(map(float, v["compare_hbar"])),
        "realisations": int(v["realisations"]), "n_kicks": d.n_kicks, "trajectories": int(v["trajectories"]),
        "two_particle": ", ".join(sorted({f"m = {num(r['role']['mass_ratio'])}, eps = {num(r['role']['eps'])}, "
                                          f"n_kicks = {run_n_kicks(r)}" for r in d.two_runs})),
        "fit_floor": FIT_FLOOR, "fit_skip_modes": FIT_SKIP_MODES,
    }


# --------------------------------------------------------------------------- draw
def draw(path: Path, d: SimpleNamespace, m: SimpleNamespace) -> None:
    with panels(path, 1, 3, (15.5, 4.4)) as axes:
        _draw_energy(axes[0], d, d.panel_a, "W", f"(a) hbar = {num(d.variant['hbar_a'])}")
        _draw_energy(axes[1], d, d.panel_b, "hbar", f"(b) W = {num(d.variant['W_b'])}")
        _draw_distributions(axes[2], d.pairs, m.fits, d.variant)


def _draw_energy(ax, d: SimpleNamespace, runs, key: str, title: str) -> None:
    for r, c in zip(runs, shades(len(runs))):
        t, E, dE = energy(d, r)
        ax.fill_between(t, E - dE, E + dE, color=c, alpha=0.2, lw=0)
        ax.plot(t, E, color=c, lw=1.1, label=f"{key} = {num(r['role'][key])}")
    ax.plot(d.tc, d.Ec, color="tab:red", ls="--", lw=1.4, label="classical, W = 0")
    finish_energy(ax, float(d.tc.max()), "E = <p^2>/2", title)


def _draw_distributions(cx, pairs, fits, v) -> None:
    p_max, drawn = 0.0, []
    for pair, (fit_rk, fit_2p), c1, c2 in zip(pairs, fits, ["tab:blue", "tab:green", "tab:purple", "tab:orange"],
                                              ["black", "0.45", "0.3", "0.6"]):
        h = pair["hbar"]
        for p, P, fit, c, label in (
                (pair["qres"].momenta, pair["P_2p"], fit_2p, c2, f"two-particle, hbar = {num(h)}, t = {pair['t_2p']}"),
                (pair["rres"].momenta, pair["P_rk"], fit_rk, c1, f"random-kick, hbar = {num(h)}, t = {pair['t_rk']}")):
            cx.semilogy(*mirror(p, P), color=c, lw=0.8, label=label)
            f = fit.form(fit.better)
            if math.isfinite(f.width) and math.isfinite(fit.p_hi):
                grid = np.linspace(-fit.p_hi, fit.p_hi, 401)
                name = "zeta" if fit.better == "gaussian" else "xi"
                cx.semilogy(grid, f.p_of(grid) / 2, color=c, ls="-." if fit.better == "gaussian" else "--", lw=1.0,
                            alpha=0.8, label=f"  {fit.better} fit, {name} = {num(f.width)}")
                p_max = max(p_max, fit.p_hi)
            drawn.append(P)
    finish_distributions(cx, p_max, drawn, "P(p)", f"(c) W = {num(v['W_b'])} vs two particles")
