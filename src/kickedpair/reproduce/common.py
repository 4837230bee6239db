"""What every figure module shares: reading run results, tables, fits, the figure summary.

A figure module ``kickedpair.reproduce.figN`` defines

    TABLES: tuple[str, ...]      # the CSV files it writes, e.g. ("fig2_energy.csv", ...)
    def make(plan: dict, out_dir: Path) -> dict   # draws figN.png, writes TABLES, returns a summary

``plan`` is the JSON written by the workflow (:meth:`FigurePlan.as_dict`): ``variant`` (the
figure's config block, validated) and ``runs`` / ``extra_runs`` (each with ``engine``, ``name``,
``role``, ``config``, ``result`` and, for checked quantum runs, ``convergence``).

The summary (checked by :func:`check_summary`, rendered by :mod:`kickedpair.reproduce.report`):

    title        one line
    parameters   {name: value} as used
    resolution   [row, ...]   one per run: run, engine, grid / trajectories, substeps, n_kicks, wall_s
    convergence  [row, ...]   one per checked quantum run (see convergence_row)
    comparisons  [{quantity, paper, project, verdict, cause}]; verdict one of VERDICTS;
                 cause: the likely reason when the verdict is not "agrees"
    notes        [str]        what else a reader must know (choices, caveats)
    tables       TABLES;  image  "figN.png"
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..io import write_bytes_atomic, write_text_atomic

VERDICTS = ("agrees", "partly", "differs", "not compared")
SUMMARY_KEYS = ("title", "parameters", "resolution", "convergence", "comparisons", "notes", "tables", "image")


class MissingResult(RuntimeError):
    """A result a figure or the report needs is missing or incomplete."""


# --------------------------------------------------------------------------- reading
@dataclass
class Result:
    path: str
    attrs: dict
    series: dict[str, np.ndarray]
    distributions: dict[int, np.ndarray]   # t -> P1(n) (quantum) or P(n) (noise)
    momenta: np.ndarray | None             # p_n of the sine basis (quantum: particle 1)
    snapshots: dict[int, dict[str, np.ndarray]]  # classical: t -> {p1, p2}
    estimates: dict
    config: dict


def read_result(path: str | os.PathLike) -> Result:
    """An engine's HDF5 result; :class:`MissingResult` if absent or not marked complete."""
    from ..io import IncompleteResult, open_result

    path = str(path)
    try:
        f = open_result(path)
    except IncompleteResult as exc:  # missing, unreadable or without complete=True
        raise MissingResult(str(exc)) from None
    with f:
        groups = {k: f[k].values() if k in f else [] for k in ("distributions", "snapshots")}
        return Result(
            path, _attrs(f), {k: np.asarray(v[()]) for k, v in f["series"].items()} if "series" in f else {},
            {int(g.attrs["t"]): np.asarray(g["P1" if "P1" in g else "P"][()]) for g in groups["distributions"]},
            next((np.asarray(f[k][()]) for k in ("momenta", "momenta1") if k in f), None),
            {int(g.attrs["t"]): {k: np.asarray(v[()]) for k, v in g.items()} for g in groups["snapshots"]},
            _attrs(f["estimates"]) if "estimates" in f else {},
            json.loads(f["params"].attrs["config_json"]) if "params" in f else {})


def _attrs(obj) -> dict:
    return {k: _plain(v) for k, v in obj.attrs.items()}


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, bytes):
        return v.decode()
    return v


def resolution_row(run: Mapping[str, Any]) -> dict:
    """Grid / ensemble, steps and cost of one run, from its result file."""
    r = read_result(run["result"])
    a, cfg = r.attrs, r.config
    row: dict[str, Any] = {"run": run["name"], "engine": run["engine"]}
    if run["engine"] == "classical":
        row.update(grid=f"{cfg['classical']['n_trajectories']} trajectories",
                   substeps=a.get("steps_per_kick"), n_kicks=cfg["classical"]["n_kicks"])
    elif run["engine"] == "quantum":
        row.update(grid=f"{a['N1']} x {a['N2']}", substeps=a.get("substeps"),
                   scheme=a.get("scheme"), n_kicks=cfg["quantum"]["n_kicks"])
    else:
        row.update(grid=f"N = {a['N']}, {cfg['noise']['realisations']} realisations",
                   substeps=1, n_kicks=cfg["noise"]["n_kicks"])
    row.update(ranks=a.get("n_ranks"), wall_s=round(float(a.get("wall_time_s", float("nan"))), 1))
    return row


#: the variants of a convergence check and the changes each reports per stretch (relative, and
#: the purity's absolute)
CONVERGENCE_TESTS = ("half_step", "double_grid")
CONVERGENCE_CHANGES = ("p1_sq", "p2_sq", "purity", "purity_abs")


def kicks_span(t0: int, n_kicks: int) -> str:
    """The kicks a stretch of a convergence check covers, ``t = t0..t0 + n_kicks``."""
    return f"t = {int(t0)}..{int(t0) + int(n_kicks)}"


def convergence_row(run: Mapping[str, Any]) -> dict:
    """Changes of <p1^2>, <p2^2>, purity at twice the substeps and on doubled grids (``kickedpair
    quantum --check-convergence``), per stretch: ``start`` names the kicks of the start stretch
    (``t = 0..kicks``), whose changes are the unprefixed keys (``half_step_p1_sq``, ...) and
    ``start_*_purity_abs``; ``end`` names those of the end stretch (``t = n_kicks..``), whose
    changes are the ``end_*`` keys."""
    from ..io import IncompleteResult, read_result as read_file

    path = run.get("convergence")
    if not path or not os.path.exists(path):
        raise MissingResult(f"{path or run['name']}: convergence report missing")
    try:
        a = _attrs(read_file(path, series=False))
    except IncompleteResult as exc:  # unreadable or without complete=True
        raise MissingResult(str(exc)) from None
    nan, tests = float("nan"), CONVERGENCE_TESTS

    def take(*keys: str) -> dict:
        return {k: a.get(k, nan) for k in keys}

    row = {"run": run["name"], "kicks": a["n_kicks"], "start": kicks_span(a.get("start_t0", 0), a["n_kicks"]),
           "base": f"{a['base_N1']} x {a['base_N2']}, {a['base_substeps']} substeps ({a['base_scheme']})",
           **take(*(f"{t}_{q}" for t in tests for q in ("p1_sq", "p2_sq", "purity")))}
    if a.get("base_scheme") == "exact map":  # the random-kick model: a grid check, no verdict
        return row
    # the quantum check's verdict over both stretches (kickedpair.quantum.convergence); a start
    # stretch that covers the whole run needs no end stretch
    end, whole = "end" in str(a.get("stretches", "")).split(","), bool(a.get("whole_run", False))
    row.update(take(*(f"start_{t}_purity_abs" for t in tests)),
               end=(kicks_span(a["end_t0"], a["end_n_kicks"]) if end
                    else "not needed (the start stretch covers the whole run)" if whole else "not checked"))
    row.update(take(*(f"end_{t}_{q}" for t in tests for q in ("p1_sq", "purity_abs")), "tol_p1", "tol_purity"))
    row.update(take(*(f"end_{t}_{q}" for t in tests for q in ("p2_sq", "purity"))))
    verdict = a.get("verdict", "not judged")
    row["accepted"] = verdict == "converged" and (end or whole)
    row["verdict"] = verdict if end or whole or "verdict" not in a else f"{verdict} (start only)"
    if not row["accepted"]:
        row["verdict_reason"] = a.get("verdict_reason") or ("the end stretch was not checked" if not end else "")
    return row


def convergence_stretches(row: Mapping[str, Any]) -> list[dict]:
    """A convergence row as the lines of a table, one per checked stretch: ``kicks`` the span of
    the stretch, then ``{test} {change}`` for each variant and change (NaN where the check does
    not report it); the run's ``base`` on its first line, its ``verdict`` (over both stretches)
    on each."""
    def start_key(t: str, q: str) -> str:
        return f"start_{t}_{q}" if q == "purity_abs" else f"{t}_{q}"

    stretches = [(row.get("start") or kicks_span(0, row["kicks"]), start_key)]
    if str(row.get("end", "")).startswith("t = "):
        stretches.append((row["end"], lambda t, q: f"end_{t}_{q}"))
    return [{"run": row["run"], "kicks": span, "base": "" if i else row.get("base", ""),
             **{f"{t} {q}": row.get(key(t, q), float("nan")) for t in CONVERGENCE_TESTS for q in CONVERGENCE_CHANGES},
             "verdict": row.get("verdict", "")} for i, (span, key) in enumerate(stretches)]


def spans_by_stretch(rows: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """The distinct spans of the start and of the end stretches of the checked ``rows``, each
    joined by " / " ("" when no row has an end stretch)."""
    rows = list(rows)
    starts = dict.fromkeys(r.get("start") or kicks_span(0, r["kicks"]) for r in rows)
    ends = dict.fromkeys(r["end"] for r in rows if str(r.get("end", "")).startswith("t = "))
    return " / ".join(starts), " / ".join(ends)


def stretch_spans(rows: Iterable[Mapping[str, Any]]) -> str:
    """The spans of the stretches of the checked ``rows``: ``start t = 0..10, end t = 60..70``
    (each distinct span once, joined by " / " when the runs differ)."""
    starts, ends = spans_by_stretch(rows)
    return f"start {starts}" + (f", end {ends}" if ends else "")


def convergence_notes(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The stretches and tolerances of the quantum runs' verdicts, and one line per run not
    accepted (a run is accepted only when its check, start and end stretch, says 'converged')."""
    judged = [r for r in rows if "accepted" in r]
    if not judged:
        return []
    return [f"convergence verdict (start and end stretch, {stretch_spans(judged)}; twice the substeps and "
            f"doubled grids): converged when {tolerance_rule(judged)}; {sum(r['accepted'] for r in judged)} of "
            f"{len(judged)} checked runs accepted",
            *(f"NOT ACCEPTED: run {r['run']}: {r['verdict']}"
              + (f" ({r['verdict_reason']})" if r.get("verdict_reason") else "")
              + "; its curves are shown but are not resolved to the stated tolerances"
              for r in judged if not r["accepted"])]


def tolerance_rule(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rule of the convergence verdict at the tolerances of the judged ``rows`` (each distinct one)."""
    tols = sorted({(float(r["tol_p1"]), float(r["tol_purity"])) for r in rows})
    return ("every pointwise relative change of <p1^2> is below " + " / ".join(f"{p:g}" for p, _ in tols)
            + " and every absolute change of the purity below " + " / ".join(f"{q:g}" for _, q in tols))


def flag_unaccepted(comparisons: list[dict], rows: Iterable[Mapping[str, Any]]) -> None:
    """Name the figure's runs that are not accepted in the cause of each of its comparisons."""
    bad = [r["run"] for r in rows if r.get("accepted") is False]
    if not bad:
        return
    flag = f"resolution: run{'s' if len(bad) > 1 else ''} {', '.join(bad)} not converged (convergence table)"
    for c in comparisons:
        c["cause"] = f"{c['cause']}; {flag}" if c.get("cause") else flag


# --------------------------------------------------------------------------- writing
def write_table(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """CSV with the union of the rows' keys as columns (first-seen order), written atomically."""
    rows = list(rows)
    if not rows:
        raise ValueError(f"{path}: no rows to write")
    cols = list(dict.fromkeys(k for r in rows for k in r))

    def put(fh) -> None:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows({k: _cell(r.get(k, "")) for k in cols} for r in rows)
    return write_text_atomic(path, put)


def _cell(v: Any) -> Any:
    return f"{float(v):.6g}" if isinstance(v, (float, np.floating)) else v


def read_table(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(path, lambda fh: json.dump(obj, fh, indent=2, default=_json_default, allow_nan=True))


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.generic, np.ndarray)):
        return _plain(v)
    raise TypeError(f"not JSON serialisable: {v!r}")


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` to ``path`` (folders created) through the project's one atomic writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, data)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """PNG at 130 dpi, written atomically."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    return write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------- fits
@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope * x by least squares, with standard errors and the rms residual."""

    slope: float
    intercept: float
    slope_err: float
    intercept_err: float
    rms: float
    n: int


def fit_line(x: Iterable[float], y: Iterable[float]) -> LineFit:
    x, y = np.asarray(list(x), float), np.asarray(list(y), float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 2 or np.ptp(x) == 0:
        nan = float("nan")
        return LineFit(nan, nan, nan, nan, nan, n)
    A = np.vstack([x, np.ones(n)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    cov = float(resid @ resid) / max(n - 2, 1) * np.linalg.inv(A.T @ A)
    return LineFit(float(coef[0]), float(coef[1]), float(math.sqrt(cov[0, 0])),
                   float(math.sqrt(cov[1, 1])), float(math.sqrt(np.mean(resid**2))), n)


def finite(values: Iterable[Any]) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def check_summary(summary: Mapping[str, Any], out_dir: Path, figure: str) -> None:
    """The summary has every key, a known verdict per comparison, and its files exist."""
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise ValueError(f"{figure}: summary lacks {missing}")
    for c in summary["comparisons"]:
        for k in ("quantity", "paper", "project", "verdict"):
            if k not in c:
                raise ValueError(f"{figure}: comparison {c!r} lacks {k!r}")
        if c["verdict"] not in VERDICTS:
            raise ValueError(f"{figure}: verdict {c['verdict']!r} not one of {VERDICTS}")
        if c["verdict"] in ("partly", "differs") and not c.get("cause"):
            raise ValueError(f"{figure}: comparison {c['quantity']!r} differs but names no cause")
    for name in [summary["image"], *summary["tables"]]:
        if not (out_dir / name).is_file():
            raise ValueError(f"{figure}: {name} was not written")
