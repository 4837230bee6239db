"""Fig. 4: eta = Dq/Dc against hbar per mass ratio with exponential fits (a), and the phase
diagram hbar_c(m), hbar_DL(m) (b), both from the aggregated sweep of the same preset (or of the
preset the variant's ``sweep`` names).

The sweep's analysis (``kickedpair.sweep.aggregate``) already fitted ``ln eta = a - alpha hbar``
over the decaying part and located the thresholds; this module draws them side by side and
compares with what the paper reports: exponential decay, a plateau near 0.1, alpha growing as
m falls.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..sweep.aggregate import OK, read_tables
from ..sweep.figures import eta_vs_hbar, phase_diagram
from ..sweep.plan import fmt
from .common import MissingResult, resolution_row, write_table
from .figkit import comparison, judged, panels, summary
from .plan import FIGURE_TABLES

TABLES = FIGURE_TABLES["fig4"]

# Stated rules of the verdicts
SIGNIFICANT = 2.0        # alpha differs from 0 / from another alpha by this many standard errors
PLATEAU_CHANGE = 0.3     # plateau: eta changes by less than 30% between the two largest hbar
PLATEAU_BAND = (0.05, 0.2)  # "near 0.1"


def _sel(rows, masses):
    keep = {fmt(m) for m in masses}
    return [r for r in rows if fmt(float(r["m"])) in keep]


def plateau(hbar: np.ndarray, eta: np.ndarray) -> dict:
    """eta at the two largest hbar, their relative change and whether that is a plateau near 0.1."""
    ok = np.isfinite(eta)
    h, e = hbar[ok], eta[ok]
    if len(h) < 2:
        return {"eta_last": math.nan, "change": math.nan, "flat": False, "near_0.1": False}
    order = np.argsort(h)
    e1, e2 = e[order][-2], e[order][-1]
    change = abs(e2 - e1) / max(abs(e1), 1e-300)
    return {"eta_last": float(e2), "change": float(change), "flat": bool(change < PLATEAU_CHANGE),
            "near_0.1": bool(PLATEAU_BAND[0] <= e2 <= PLATEAU_BAND[1])}


def alpha_grows_as_m_falls(thresholds: list[dict]) -> tuple[str, str]:
    """Verdict and text: alpha at consecutive masses (ascending m) must decrease by > 2 sigma."""
    rows = sorted((t for t in thresholds if np.isfinite(t["alpha"])), key=lambda t: t["m"])
    if len(rows) < 2:
        return "not compared", "fewer than two mass ratios with a fitted alpha"
    steps, parts = [], []
    for lo, hi in zip(rows, rows[1:]):
        err = math.hypot(lo["alpha_err"] if np.isfinite(lo["alpha_err"]) else 0.0,
                         hi["alpha_err"] if np.isfinite(hi["alpha_err"]) else 0.0)
        diff = lo["alpha"] - hi["alpha"]
        steps.append(diff > SIGNIFICANT * err if err > 0 else diff > 0)
    for t in rows:
        parts.append(f"alpha(m={t['m']:g}) = {t['alpha']:.3g} +- {t['alpha_err']:.2g}")
    verdict = "agrees" if all(steps) else ("partly" if any(steps) or all(
        a["alpha"] > b["alpha"] for a, b in zip(rows, rows[1:])) else "differs")
    return verdict, "; ".join(parts)


def exponential_verdict(thresholds: list[dict]) -> str:
    """Comparison 1: ``agrees`` if every mass ratio has a fitted alpha above SIGNIFICANT standard
    errors, ``partly`` if some have, else ``differs``."""
    fitted = [t for t in thresholds if np.isfinite(t["alpha"])]
    sig = [t for t in fitted if np.isfinite(t["alpha_err"]) and t["alpha"] > SIGNIFICANT * t["alpha_err"]]
    return "agrees" if fitted and len(sig) == len(thresholds) else "partly" if sig else "differs"


def plateau_verdict(plats: list[dict]) -> str:
    """Comparison 2: ``agrees`` if every mass ratio has a flat plateau near 0.1, ``partly`` if some
    has or any is flat, else ``differs``."""
    n_ok = sum(p["flat"] and p["near_0.1"] for p in plats)
    return "agrees" if n_ok == len(plats) else "partly" if n_ok or any(p["flat"] for p in plats) else "differs"


def _resolution(sweep: dict, masses) -> list[dict]:
    """Grid, substeps and cost of every quantum cell of the sweep shown (from its result file)."""
    manifest_path = Path(sweep["manifest"])
    rows = []
    for cell in _sel(json.loads(manifest_path.read_text())["cells"], masses):
        if cell["kind"] == "quantum":
            path = manifest_path.parent / cell["result"]
            rows.append(resolution_row({"name": cell["name"], "engine": "quantum", "result": str(path)})
                        if path.is_file() else {"run": cell["name"], "engine": "quantum", "grid": "missing"})
    return rows


# --------------------------------------------------------------------------- load
def load(plan: dict) -> SimpleNamespace:
    """The sweep's cells and thresholds at the variant's mass ratios, its metadata and analysis
    settings, the hbar of the cells (``grid``) and t_f."""
    h5 = plan["sweep"]["h5"]
    if not Path(h5).is_file():
        raise MissingResult(f"{h5}: missing (the sweep's tables)")
    cells, thresholds, meta = read_tables(h5)
    masses = plan["variant"]["mass_ratio"]
    cells, thresholds = _sel(cells, masses), _sel(thresholds, masses)
    if not thresholds:
        raise MissingResult(f"{h5}: no mass ratio of {masses} in the sweep")
    return SimpleNamespace(plan=plan, cells=cells, thresholds=thresholds, meta=meta, masses=masses,
                           analysis=plan["sweep"].get("analysis", {}), grid=sorted({float(c["hbar"]) for c in cells}),
                           n_kicks=int(meta.get("n_kicks", 0)) if "n_kicks" in meta else None)


# --------------------------------------------------------------------------- measure
def measure(data: SimpleNamespace) -> list[tuple[float, dict]]:
    """The plateau of eta (:func:`plateau`) per mass ratio, over its cells that ran."""
    plats = []
    for t in data.thresholds:
        pts = sorted((c for c in data.cells if c["m"] == t["m"] and c["status"] == OK), key=lambda c: c["hbar"])
        plats.append((t["m"], plateau(np.array([c["hbar"] for c in pts], float),
                                      np.array([c["eta"] for c in pts], float))))
    return plats


# --------------------------------------------------------------------------- judge
def judge(data: SimpleNamespace, plats: list[tuple[float, dict]]) -> list[dict]:
    thresholds = data.thresholds
    v3, text3 = alpha_grows_as_m_falls(thresholds)
    return [
        judged("eta decays exponentially in hbar (ln eta = a - alpha hbar over eta in the fit window)",
               "exponential decay of eta with hbar",
               "; ".join(f"m={t['m']:g}: alpha = {t['alpha']:.3g} +- {t['alpha_err']:.2g} from "
                         f"{int(t['n_fit'])} points" for t in thresholds) or "no fit",
               exponential_verdict(thresholds), "too few grid points inside the fit window at this grid and t_f"),
        judged(f"plateau of eta at large hbar (change < {PLATEAU_CHANGE:.0%} between the two largest "
               f"hbar, value in [{PLATEAU_BAND[0]}, {PLATEAU_BAND[1]}])", "eta decays to a plateau near 0.1",
               "; ".join(f"m={m:g}: eta(hbar_max) = {p['eta_last']:.3g}, change {p['change']:.0%}" for m, p in plats),
               plateau_verdict([p for _, p in plats]),
               f"finite t_f ({data.n_kicks} kicks here; the paper's 500): Dq = <p1^2>(t_f)/t_f of a localised state "
               "keeps falling as 1/t_f, so eta at large hbar has not settled; the grid may stop short of the "
               "plateau"),
        judged("alpha grows as m falls (each step in m significant at 2 sigma)", "alpha grows as m falls",
               text3, v3, "few mass ratios and few points per fit at this grid; short t_f"),
        comparison("thresholds hbar_c (eta = 0.9) and hbar_DL (eta = 0.1)",
                   "phase diagram Fig. 4b (values not given in the text)",
                   "; ".join(f"m={t['m']:g}: hbar_c = {_threshold(t, 'hbar_c')}, "
                             f"hbar_DL = {_threshold(t, 'hbar_DL')}" for t in thresholds),
                   "not compared"),
    ]


def _threshold(t: dict, key: str) -> str:
    """``0.052 [0.049, 0.056] (ok)``: the value, its interval from eta's errors, its flag (and
    'not resolved by the errors' when the interval leaves the bracketing cells)."""
    text = f"{t[key]:.3g}"
    if math.isfinite(float(t.get(f"{key}_lo", math.nan))) and math.isfinite(float(t.get(f"{key}_hi", math.nan))):
        text += f" [{t[f'{key}_lo']:.3g}, {t[f'{key}_hi']:.3g}]"
    flag = t[f"{key}_flag"]
    if flag == "ok" and f"{key}_resolved" in t and str(t[f"{key}_resolved"]) != "True":
        flag += ", not resolved by the errors"
    return f"{text} ({flag})"


# --------------------------------------------------------------------------- make
def make(plan: dict, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    data = load(plan)
    comparisons = judge(data, measure(data))
    draw(out_dir / "fig4.png", data)
    write_tables(out_dir, data)
    a = data.analysis
    drawn = plan["sweep"].get("preset") or plan.get("preset")
    parameters = {"preset": plan.get("preset"), "sweep": f"preset {drawn}", "mass_ratio": [fmt(m) for m in data.masses],
                  "hbar grid": [fmt(h) for h in data.grid], "n_kicks (t_f)": data.n_kicks,
                  "trajectories": data.meta.get("trajectories"), "eta fit window": a.get("fit_window"),
                  "eta_c, eta_dl": [a.get("eta_c"), a.get("eta_dl")]}
    notes = [f"Drawn from the sweep of preset {drawn} (its tables/sweep.h5); every cell's grid, substeps and "
             "timings are in its quantum.h5 (kickedpair status lists them).",
             "Dc and Dq are <p1^2>(t_f)/t_f, the paper's definition; eta's error combines Dc's ensemble "
             "error and Dq's: the kick-to-kick fluctuation of the one wave function's <p1^2>(t) about its "
             "trend over the last quantum.error_window of the run. The fit of alpha is weighted by these "
             "errors, and each threshold carries the interval where eta -+ its error crosses the level."]
    return summary("eta = Dq/Dc against hbar with exponential fits, and the phase diagram", parameters,
                   _resolution(plan["sweep"], data.masses), [], comparisons, notes, TABLES, "fig4.png")


def draw(path: Path, data: SimpleNamespace) -> None:
    scale = data.analysis.get("hbar_scale", "linear")
    with panels(path, 1, 2, (11, 4.4)) as (ax_a, ax_b):
        eta_vs_hbar(data.cells, data.thresholds, [], data.meta, scale, ax=ax_a)
        phase_diagram(data.thresholds, [], data.grid, data.meta, scale, ax=ax_b)
        ax_a.set_title("(a) " + ax_a.get_title(), fontsize=10)
        ax_b.set_title("(b) " + ax_b.get_title(), fontsize=10)


def write_tables(out_dir: Path, data: SimpleNamespace) -> None:
    write_table(out_dir / "fig4_eta.csv", (
        {"mass_ratio": c["m"], **{k: c[k] for k in ("hbar", "Dc", "Dc_err", "Dq", "eta", "eta_err", "status")}}
        for c in sorted(data.cells, key=lambda c: (c["m"], c["hbar"]))))
    write_table(out_dir / "fig4_thresholds.csv", (
        {k: t[k] for k in ("m", "alpha", "alpha_err", "a", "n_fit", "fit_hbar_lo", "fit_hbar_hi",
                           "hbar_c", "hbar_c_flag", "hbar_c_lo", "hbar_c_hi", "hbar_c_resolved",
                           "hbar_DL", "hbar_DL_flag", "hbar_DL_lo", "hbar_DL_hi", "hbar_DL_resolved") if k in t}
        for t in sorted(data.thresholds, key=lambda t: t["m"])))
