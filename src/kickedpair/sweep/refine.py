"""Where to put the next cells of an adaptive sweep: the hbar values that bracket the thresholds.

A plain function of one mass ratio's ``eta(hbar)`` (with errors) and the refinement settings;
the workflow calls it after each round and adds the cells it proposes.  For each level (``eta_c``,
``eta_dl``) the threshold is in one of these states:

``resolved``
    bracketed by two cells whose hbar differ by at most ``rel_width`` (relative to their
    geometric mean), or by adjacent values at the grid's :data:`~kickedpair.sweep.plan.SIG_DIGITS`
    significant digits;
``unsplittable``
    bracketed, but both bracketing cells are within one error of the level: a cell between them
    would be too, so the errors cannot split the bracket and the refinement stops there;
``refining``
    a cell is proposed at the geometric middle of the bracket;
``extending``
    the grid does not bracket it (eta already below the level at the smallest hbar, or still above
    at the largest): a cell is proposed a factor ``extend_factor`` beyond the edge, inside
    ``[hbar_min, hbar_max]``;
``below_range`` / ``above_range``
    not bracketed and the edge is at the range's end: reported, never extrapolated;
``not_bracketed``
    cells next to the crossing have no result (failed or missing): nothing is proposed until
    they do.

The crossing itself is :func:`kickedpair.sweep.aggregate.crossing` (first crossing in increasing
hbar, log-linear between the bracketing cells).

For an aggregated sweep folder, the next round's cells per mass ratio::

    python -m kickedpair.sweep.refine RESULTS/PRESET [--rel-width 0.05] [--hbar-min H] [--hbar-max H] [--json]

(by default the range is the grid's, one ``extend_factor`` wider at each end).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .aggregate import OK, crossing_bracket
from .plan import fmt

STATES = ("resolved", "unsplittable", "refining", "extending", "below_range", "above_range",
          "not_bracketed")
#: the states in which a threshold needs no more cells
FINAL = ("resolved", "unsplittable", "below_range", "above_range")


@dataclass(frozen=True)
class RefineSettings:
    """How far to refine: the levels, the target relative width of a bracket, where cells may go."""

    levels: tuple[float, ...] = (0.9, 0.1)
    rel_width: float = 0.05
    hbar_min: float = 1e-3
    hbar_max: float = 1.0
    extend_factor: float = 2.0


@dataclass(frozen=True)
class Threshold:
    level: float
    state: str
    value: float = math.nan          # the crossing, where bracketed
    lo: float = math.nan             # the bracketing cells
    hi: float = math.nan
    proposed: float | None = None    # the hbar of the next cell, if any


def relative_width(lo: float, hi: float) -> float:
    return (hi - lo) / math.sqrt(lo * hi)


def _cell(h: float) -> float:
    """The value a new cell runs with: as its folder names it."""
    return float(fmt(h))


def threshold_state(hbar: Sequence[float], eta: Sequence[float], eta_err: Sequence[float], level: float,
                    s: RefineSettings) -> Threshold:
    """The state of one threshold and the cell it asks for (``hbar`` ascending; NaN eta: no result)."""
    h, e, err = (np.asarray(a, dtype=float) for a in (hbar, eta, eta_err))
    value, flag, ij = crossing_bracket(h, e, level)
    known = set(map(fmt, h))
    if flag == OK:
        lo, hi = float(h[ij[0]]), float(h[ij[1]])
        if lo == hi or relative_width(lo, hi) <= s.rel_width:
            return Threshold(level, "resolved", value, lo, hi)
        if all(abs(math.log(e[k] / level)) <= err[k] / e[k] for k in ij):
            return Threshold(level, "unsplittable", value, lo, hi)
        mid = _cell(math.sqrt(lo * hi))
        if fmt(mid) in known:  # adjacent at the grid's precision
            return Threshold(level, "resolved", value, lo, hi)
        return Threshold(level, "refining", value, lo, hi, mid)
    if flag == "below_grid":
        edge, new, end = h[0], _cell(h[0] / s.extend_factor), "below_range"
        if new < s.hbar_min * (1 - 1e-12):
            new = _cell(s.hbar_min)
    elif flag == "above_grid":
        edge, new, end = h[-1], _cell(h[-1] * s.extend_factor), "above_range"
        if new > s.hbar_max * (1 + 1e-12):
            new = _cell(s.hbar_max)
    else:
        return Threshold(level, "not_bracketed")
    if fmt(new) in known or fmt(new) == fmt(edge):
        return Threshold(level, end)
    return Threshold(level, "extending", proposed=new)


def propose(hbar: Sequence[float], eta: Sequence[float], eta_err: Sequence[float],
            s: RefineSettings) -> tuple[list[float], list[Threshold]]:
    """The new hbar values (ascending, none already in the grid) and the state of every threshold."""
    order = np.argsort(np.asarray(hbar, dtype=float))
    h, e, err = (np.asarray(a, dtype=float)[order] for a in (hbar, eta, eta_err))
    states = [threshold_state(h, e, err, level, s) for level in s.levels]  # each proposes only new values
    return sorted({t.proposed for t in states if t.proposed is not None}), states


def done(states: Sequence[Threshold]) -> bool:
    return all(t.state in FINAL for t in states)


def refine_curve(measure, hbar: Sequence[float], s: RefineSettings, max_cells: int = 40,
                 max_rounds: int = 20) -> tuple[list[float], list[Threshold], int]:
    """The rounds of an adaptive sweep of one mass ratio against ``measure(hbar) -> (eta, eta_err)``
    (a model, or the engines): start from ``hbar``, add the proposed cells round by round until
    every threshold is final, ``max_cells`` cells are spent or ``max_rounds`` have run.  Returns
    the grid, the last states and the number of rounds after the first."""
    grid = sorted(set(map(_cell, hbar)))
    data = {h: measure(h) for h in grid}
    for rounds in range(max_rounds + 1):
        new, states = propose(grid, [data[h][0] for h in grid], [data[h][1] for h in grid], s)
        new = new[:max(0, max_cells - len(grid))]
        if done(states) or not new or rounds == max_rounds:
            return grid, states, rounds
        data.update({h: measure(h) for h in new})
        grid = sorted(grid + new)
    return grid, states, max_rounds


def sweep_proposals(sweep_dir: str | Path, s: RefineSettings) -> dict[str, tuple[list[float], list[Threshold]]]:
    """Per mass ratio (as its folder names it) of the aggregated sweep in ``sweep_dir``: the new
    hbar values and the threshold states, from ``tables/sweep.h5`` (eta of the usable cells)."""
    from .aggregate import OK as ok, read_tables
    from .plan import TABLES

    cells, _, _ = read_tables(Path(sweep_dir) / TABLES["h5"])
    out = {}
    for m in sorted({float(c["m"]) for c in cells}):
        rows = sorted((c for c in cells if float(c["m"]) == m), key=lambda c: float(c["hbar"]))
        usable = [c["status"] == ok for c in rows]
        out[fmt(m)] = propose([float(c["hbar"]) for c in rows],
                              [float(c["eta"]) if u else math.nan for c, u in zip(rows, usable)],
                              [float(c["eta_err"]) if u else math.nan for c, u in zip(rows, usable)], s)
    return out


def next_round(sweep_dir: str | Path, grid: dict[str, list[str]], round_: int, s: RefineSettings,
               max_cells: int, max_rounds: int) -> dict:
    """The record of round ``round_`` of an adaptive sweep whose cells so far are ``grid`` (m ->
    hbar values, as the folders name them): eta of every cell, read and checked as the
    aggregation does (:func:`kickedpair.sweep.aggregate.collect`), the thresholds' states, the
    cells of the next round (none once every threshold is final, the budget of ``max_cells`` per
    m is spent or ``max_rounds`` rounds have followed the first), and ``done``.  A cell without a
    usable result counts as no point (its neighbours' thresholds are ``not_bracketed``)."""
    from .aggregate import collect
    from .plan import CLASSICAL_DIR, QUANTUM_DIR, RUN_LOG, RUN_RESULT

    def entry(kind: str, folder: str, name: str, **where: str) -> dict:
        return {"kind": kind, **where, "name": name, "result": RUN_RESULT.format(run=folder, engine=kind),
                "log": RUN_LOG.format(run=folder, engine=kind)}

    cells = [entry("classical", CLASSICAL_DIR.format(m=m), f"m={m}", m=m) for m in grid] + [
        entry("quantum", QUANTUM_DIR.format(m=m, hbar=h), f"m={m},hbar={h}", m=m, hbar=h)
        for m, hbars in grid.items() for h in hbars]
    union = sorted({h for hbars in grid.values() for h in hbars}, key=float)
    rows = collect(sweep_dir, {"mass_ratio": list(grid), "hbar": union, "adaptive": True, "cells": cells})
    out = {"round": round_, "grid": {}, "new": {}, "thresholds": {}, "cells": {}}
    for m, hbars in grid.items():
        mine = sorted((r for r in rows if fmt(r["m"]) == m), key=lambda r: r["hbar"])
        new, states = propose([r["hbar"] for r in mine], [r["eta"] for r in mine], [r["eta_err"] for r in mine], s)
        room = max(0, max_cells - len(hbars)) if round_ < max_rounds else 0
        out["grid"][m] = sorted(hbars, key=float)
        out["new"][m] = [fmt(h) for h in new[:room]]
        out["thresholds"][m] = [asdict(t) for t in states]
        out["cells"][m] = [{"hbar": fmt(r["hbar"]), "eta": r["eta"], "eta_err": r["eta_err"], "status": r["status"]}
                           for r in mine]
    out["done"] = not any(out["new"].values())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kickedpair.sweep.refine",
                                 description="the hbar values of the next round of cells of an aggregated sweep")
    ap.add_argument("sweep_dir", help="RESULTS/PRESET, aggregated (tables/sweep.h5)")
    ap.add_argument("--rel-width", type=float, default=RefineSettings.rel_width,
                    help="target relative width of a threshold's bracket (default %(default)s)")
    ap.add_argument("--hbar-min", type=float, help="smallest hbar a cell may get (default: the grid's / 2)")
    ap.add_argument("--hbar-max", type=float, help="largest hbar a cell may get (default: the grid's * 2)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--round", type=int, help="(the workflow) write the record of this round of an adaptive sweep")
    ap.add_argument("--grid", help="(with --round) the cells so far, JSON: {m: [hbar, ...]}")
    ap.add_argument("--settings", help="(with --round) JSON: levels, rel_width, hbar_min, hbar_max, max_cells, "
                    "max_rounds")
    ap.add_argument("--out", type=Path, help="(with --round) the record's file")
    args = ap.parse_args(argv)
    sweep_dir = Path(args.sweep_dir)
    if args.round is not None:
        from ..io import write_text_atomic

        cfg = json.loads(args.settings)
        settings = RefineSettings(levels=tuple(cfg["levels"]), rel_width=cfg["rel_width"],
                                  hbar_min=cfg["hbar_min"], hbar_max=cfg["hbar_max"])
        record = next_round(sweep_dir, json.loads(args.grid), args.round, settings, cfg["max_cells"],
                            cfg["max_rounds"])
        write_text_atomic(args.out, json.dumps(record, indent=1) + "\n")
        for m, new in record["new"].items():
            states = ", ".join(t["state"] for t in record["thresholds"][m])
            print(f"round {args.round}: m={m}: {states}; next cells: {', '.join(new) or 'none'}")
        return 0
    try:
        manifest = json.loads((sweep_dir / "sweep.json").read_text())
        grid = [float(h) for h in manifest["hbar"]]
        analysis = manifest.get("analysis") or {}
        settings = RefineSettings(
            levels=(float(analysis.get("eta_c", 0.9)), float(analysis.get("eta_dl", 0.1))), rel_width=args.rel_width,
            hbar_min=args.hbar_min or min(grid) / RefineSettings.extend_factor,
            hbar_max=args.hbar_max or max(grid) * RefineSettings.extend_factor)
        result = sweep_proposals(sweep_dir, settings)
    except (OSError, KeyError, ValueError) as exc:
        print(f"refine: error: {sweep_dir}: {exc} (aggregate the sweep first)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({m: {"new_hbar": new, "thresholds": [asdict(t) for t in states]}
                          for m, (new, states) in result.items()}, indent=1))
        return 0
    for m, (new, states) in result.items():
        text = "; ".join(f"eta = {t.level:g}: {t.state}"
                         + (f" in [{fmt(t.lo)}, {fmt(t.hi)}]" if math.isfinite(t.lo) else "") for t in states)
        print(f"m={m}: {text}; next cells: {', '.join(map(fmt, new)) or 'none'}")
    return 0


__all__ = ["RefineSettings", "Threshold", "STATES", "FINAL", "threshold_state", "propose", "done",
           "refine_curve", "sweep_proposals", "relative_width"]

if __name__ == "__main__":
    sys.exit(main())
