"""Aggregation of a sweep: ``eta = Dq / Dc``, exponential fits and thresholds (MODEL.md section 4).

Plain functions of arrays and rows, and a command line used by the workflow::

    python -m kickedpair.sweep.aggregate RESULTS/PRESET [--allow-missing]

From result files to tidy tables (:func:`aggregate_sweep`): one row per cell, one per mass ratio
with the fit (:func:`fit_exponential`) and both thresholds (:func:`crossing`, never extrapolated),
as CSV and HDF5, the missing cells listed.

Threshold flags: ``ok``; ``below_grid`` (``eta`` is already below the level at the smallest
``hbar``); ``above_grid`` (``eta`` stays above the level up to the largest ``hbar``);
``not_bracketed`` (no usable point, or the crossing falls next to or across cells without a
result, so the grid points around it are not both known).

With ``initial_sensitivity`` each cell also has a classical run from the quantum initial
ensemble, and the cell table the columns :data:`QUANTUM_INITIAL_COLUMNS` (eta against it).

Errors: ``eta_err`` combines ``Dq_err`` (the quantum run's kick-to-kick fluctuation at t_f) and
``Dc_err`` (the ensemble's); the fit of ``alpha`` is weighted by them (:func:`fit_exponential`);
each threshold has a one-standard-error interval ``[_lo, _hi]`` and a ``_resolved`` flag
(:func:`threshold_interval`).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import h5py
import numpy as np

from .. import io as _io
from . import plan as _plan

CELL_COLUMNS = ("m", "hbar", "Dc", "Dc_err", "Dq", "Dq_err", "eta", "eta_err", "status", "detail")
#: with initial_sensitivity: the cell's classical run from the quantum initial ensemble, and eta against it
QUANTUM_INITIAL_COLUMNS = ("Dc_quantum_initial", "Dc_quantum_initial_err", "eta_quantum_initial",
                           "eta_quantum_initial_err", "quantum_initial_detail")
THRESHOLD_COLUMNS = (
    "m", "Dc", "Dc_err", "n_cells", "n_ok", "alpha", "alpha_err", "a", "a_err", "n_fit",
    "fit_hbar_lo", "fit_hbar_hi", "fit_flag", "fit_weights", "chi2_red",
    "hbar_c", "hbar_c_flag", "hbar_c_lo", "hbar_c_hi", "hbar_c_resolved",
    "hbar_DL", "hbar_DL_flag", "hbar_DL_lo", "hbar_DL_hi", "hbar_DL_resolved",
)
OK = "ok"


class MissingCellsError(RuntimeError):
    """Cells of the grid have no usable result and the aggregation was not allowed to skip them."""

    def __init__(self, missing: Sequence[Mapping[str, Any]]):
        self.missing = list(missing)
        super().__init__(
            f"{len(self.missing)} cell(s) of the grid have no usable result:\n"
            + "\n".join(map(_describe, self.missing))
            + "\nre-run them (a quantum cell resumes from its checkpoint), or aggregate what is"
            " there with --config allow_missing=true")


def _describe(c: Mapping[str, Any]) -> str:
    return f"  {c['name']}: {c['status']}" + (f" ({c['detail']})" if c.get("detail") else "")


# --------------------------------------------------------------------------- numbers
def eta_with_error(Dq: float, Dq_err: float, Dc: float, Dc_err: float) -> tuple[float, float]:
    """``eta = Dq / Dc`` and its standard error (independent errors, first order)."""
    if not (np.isfinite(Dq) and np.isfinite(Dc)) or Dc <= 0:
        return math.nan, math.nan
    eta = Dq / Dc
    rel = math.hypot(Dq_err / Dq if Dq else 0.0, Dc_err / Dc)
    err = abs(eta) * rel if Dq else Dq_err / Dc
    return float(eta), float(err)


def fit_exponential(hbar: Sequence[float], eta: Sequence[float],
                    window: Sequence[float] = (0.12, 1.0),
                    eta_err: Sequence[float] | None = None) -> dict[str, Any]:
    """Least squares fit of ``ln eta = a - alpha * hbar`` over the points with ``lo <= eta <= hi``.

    Without ``eta_err`` (or where a selected point has no positive finite error) the fit is
    unweighted and the standard errors come from the residuals, ``s^2 (X^T X)^-1`` with
    ``s^2 = RSS / (n - 2)`` (``fit_weights = 'residuals'``).  With them, each point is weighted
    by ``1 / sigma^2``, ``sigma = eta_err / eta`` the error of ``ln eta``, and the covariance is
    ``(X^T W X)^-1`` scaled by the reduced chi-square when that exceeds 1 (the points scatter
    more than their errors say), ``fit_weights = 'errors'``; ``chi2_red`` is reported.
    Returns ``a``, ``a_err``, ``alpha``, ``alpha_err``, ``n_fit``, the ``hbar`` range used and a
    ``fit_flag``: ``ok``, ``no_error_estimate`` (exactly two points) or ``too_few_points``.
    """
    h, e, (lo, hi) = np.asarray(hbar, dtype=float), np.asarray(eta, dtype=float), window
    err = np.full(h.shape, math.nan) if eta_err is None else np.asarray(eta_err, dtype=float)
    with np.errstate(invalid="ignore"):
        sel = np.isfinite(h) & np.isfinite(e) & (e > 0) & (e >= lo) & (e <= hi)
    n = int(sel.sum())
    out: dict[str, Any] = {"a": math.nan, "a_err": math.nan, "alpha": math.nan, "alpha_err": math.nan, "n_fit": n,
                           "fit_hbar_lo": math.nan, "fit_hbar_hi": math.nan, "fit_flag": "too_few_points",
                           "fit_weights": "residuals", "chi2_red": math.nan}
    if n < 2 or np.unique(h[sel]).size < 2:
        return out
    x, y, sigma = h[sel], np.log(e[sel]), err[sel] / e[sel]
    weighted = bool(np.all(np.isfinite(sigma) & (sigma > 0)))
    w = 1.0 / sigma**2 if weighted else np.ones(n)
    X = np.column_stack([np.ones(n), -x])
    XtW = X.T * w
    cov_w = np.linalg.inv(XtW @ X)
    coef = cov_w @ (XtW @ y)
    out.update(a=float(coef[0]), alpha=float(coef[1]), fit_hbar_lo=float(x.min()),
               fit_hbar_hi=float(x.max()), fit_weights="errors" if weighted else "residuals")
    if n == 2 and not weighted:
        out["fit_flag"] = "no_error_estimate"
        return out
    resid = y - X @ coef
    chi2_red = float(w @ resid**2) / (n - 2) if n > 2 else math.nan
    cov = cov_w * (max(chi2_red, 1.0) if n > 2 else 1.0) if weighted else cov_w * chi2_red
    out.update(a_err=float(math.sqrt(max(cov[0, 0], 0.0))), alpha_err=float(math.sqrt(max(cov[1, 1], 0.0))),
               fit_flag=OK, chi2_red=chi2_red if weighted else math.nan)
    return out


def crossing(hbar: Sequence[float], eta: Sequence[float], level: float) -> tuple[float, str]:
    """First crossing of ``eta = level`` in increasing ``hbar``.

    ``hbar``: the whole grid of one mass ratio, ascending; ``eta``: its values, NaN where a
    cell has no usable result.  The crossing lies between the last point above the level
    and the first point at or below it, ``ln eta`` interpolated linearly in ``hbar``.
    Returns ``(value, flag)``; the value is NaN unless the flag is ``ok``.
    """
    value, flag, _ = crossing_bracket(hbar, eta, level)
    return value, flag


def crossing_bracket(hbar: Sequence[float], eta: Sequence[float],
                     level: float) -> tuple[float, str, tuple[int, int] | None]:
    """:func:`crossing` and the indices ``(i, j)`` of the grid points it lies between (``(0, 0)``
    for a crossing on the first grid point; None unless the flag is ``ok``)."""
    h, e = np.asarray(hbar, dtype=float), np.asarray(eta, dtype=float)
    if h.shape != e.shape:
        raise ValueError("crossing: hbar and eta differ in length")
    if h.size > 1 and np.any(np.diff(h) <= 0):
        raise ValueError("crossing: hbar must be strictly increasing")
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(e) & (e > 0)
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return math.nan, "not_bracketed", None
    below = [j for j in idx if e[j] <= level]
    if not below:
        return math.nan, "above_grid" if idx[-1] == h.size - 1 else "not_bracketed", None
    j = int(below[0])
    before = idx[idx < j]
    if before.size == 0:
        if j != 0:
            return math.nan, "not_bracketed", None  # cells without a result below the first point
        if e[0] == level:
            return float(h[0]), OK, (0, 0)
        return math.nan, "below_grid", None
    i = int(before[-1])
    if j - i > 1:
        return math.nan, "not_bracketed", None  # the bracket spans cells without a result
    li, lj, ll = math.log(e[i]), math.log(e[j]), math.log(level)
    t = (ll - li) / (lj - li)
    return float(h[i] + t * (h[j] - h[i])), OK, (i, j)


def bracket(hbar: Sequence[float], eta: Sequence[float], level: float) -> tuple[float, float]:
    """The grid points ``(h_i, h_j)`` between which :func:`crossing` finds ``eta = level``
    (NaN, NaN when it finds none; ``(h_0, h_0)`` for a crossing on the first grid point)."""
    ij = crossing_bracket(hbar, eta, level)[2]
    if ij is None:
        return math.nan, math.nan
    return float(hbar[ij[0]]), float(hbar[ij[1]])


def threshold_interval(hbar: Sequence[float], eta: Sequence[float], eta_err: Sequence[float],
                       level: float) -> tuple[float, float, bool]:
    """Where ``eta = level`` is crossed by ``eta - eta_err`` (``lo``: a lower curve crosses
    earlier) and by ``eta + eta_err`` (``hi``), each by :func:`crossing`: the threshold's
    one-standard-error interval.  ``resolved`` is True when both ends exist and lie inside the
    bracket of the central crossing: the errors then place the threshold between those two
    grid points.  Otherwise a point between them cannot split the bracket either (the errors
    alone allow the crossing outside it), and the threshold is not resolved by the errors."""
    e, err = np.asarray(eta, dtype=float), np.asarray(eta_err, dtype=float)
    with np.errstate(invalid="ignore"):
        lower = np.where(np.isfinite(e), np.maximum(e - err, np.finfo(float).tiny), np.nan)
    lo, lo_flag = crossing(hbar, lower, level)
    hi, hi_flag = crossing(hbar, e + err, level)
    h_i, h_j = bracket(hbar, e, level)
    resolved = lo_flag == OK and hi_flag == OK and h_i <= lo <= hi <= h_j
    return lo, hi, bool(resolved)


# --------------------------------------------------------------------------- reading
@dataclass
class ResultInfo:
    status: str            # ok, missing, incomplete, unreadable, invalid
    value: float = math.nan
    err: float = math.nan
    config: dict = field(default_factory=dict)
    detail: str = ""


def read_result(path: str | Path, value_attr: str) -> ResultInfo:
    """The root attributes ``value_attr`` and ``value_attr + '_err'`` of a result file."""
    path = Path(path)
    if not path.exists():
        return ResultInfo("missing")
    try:
        result = _io.read_result(path, series=False)
    except _io.IncompleteResult as exc:
        detail = {"missing": "", "incomplete": f"{path.name} has no complete=True"}.get(
            exc.state, f"{path.name}: {exc.reason}")
        return ResultInfo(exc.state, detail=detail)
    try:
        value = float(result.attrs[value_attr])
        err = float(result.attrs.get(f"{value_attr}_err", math.nan))
    except (KeyError, ValueError, TypeError) as exc:
        return ResultInfo("unreadable", detail=f"{path.name}: {exc}")
    if not math.isfinite(value):
        return ResultInfo("invalid", value, err, result.config, f"{value_attr} = {value}")
    if value_attr == "Dq" and err == 0.0:
        err = _fluctuation_error(path, result.config)
    return ResultInfo(OK, value, err, result.config)


def _fluctuation_error(path: Path, config: Mapping[str, Any]) -> float:
    """``Dq_err`` of a quantum file written before the runs recorded one (they wrote 0): the same
    estimate (:func:`kickedpair.analysis.endpoint_fluctuation`) from its ``/series/p1_sq``."""
    from ..analysis import endpoint_fluctuation
    from ..params import QuantumNumerics

    window = config.get("quantum", {}).get("error_window", QuantumNumerics.error_window)
    try:
        series = _io.read_result(path).series
        t, p1_sq = np.asarray(series["t"], dtype=float), np.asarray(series["p1_sq"], dtype=float)
    except (_io.IncompleteResult, KeyError):
        return math.nan
    return endpoint_fluctuation(t, p1_sq, float(window)) / float(t[-1])


_SHARED_PHYSICS = ("K1", "K2", "eps", "lam", "L", "interaction", "coupling_scales_with_hbar", "mass_ratio")


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _inconsistency(cl: ResultInfo, qu: ResultInfo, m: float, hbar: float) -> str:
    """Why the classical and quantum files cannot be divided, or ''."""
    cp, qp = cl.config.get("physics", {}), qu.config.get("physics", {})
    if "mass_ratio" in qp and not _close(qp["mass_ratio"], m):
        return f"quantum file has mass_ratio {qp['mass_ratio']}, expected {m}"
    if "hbar" in qp and qp["hbar"] is not None and not _close(qp["hbar"], hbar):
        return f"quantum file has hbar {qp['hbar']}, expected {hbar}"
    for key in _SHARED_PHYSICS:
        if key in cp and key in qp and not _close(cp[key], qp[key]):
            return f"physics.{key} differs: classical {cp[key]}, quantum {qp[key]}"
    tc, tq = cl.config.get("classical", {}).get("n_kicks"), qu.config.get("quantum", {}).get("n_kicks")
    if tc is not None and tq is not None and tc != tq:
        return f"t_f differs: classical n_kicks {tc}, quantum n_kicks {tq}"
    return ""


# --------------------------------------------------------------------------- tables
def _read(sweep_dir: Path, entry: Mapping[str, Any], attr: str, positive: bool = False) -> ResultInfo:
    """The result of a cell; when it is not usable, the status summariser's word on it in front
    of the detail; ``positive``: a value <= 0 is invalid."""
    from .status import classify

    info = read_result(sweep_dir / entry["result"], attr)
    if positive and info.status == OK and info.value <= 0:
        info = ResultInfo("invalid", info.value, info.err, info.config, f"{attr} = {info.value} <= 0")
    if info.status != OK:
        state = classify(sweep_dir, entry)
        text = ": ".join(p for p in (state.get("state", ""), state.get("detail")) if p)
        info.detail = "; ".join(p for p in (text, info.detail) if p)
    return info


def collect(sweep_dir: str | Path, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per ``(m, hbar)`` cell of the manifest's grid, in grid order."""
    sweep_dir = Path(sweep_dir)
    entries = {(c["kind"], c["m"], c.get("hbar")): c for c in manifest["cells"]}
    classical = {m: _read(sweep_dir, entries[("classical", m, None)], "Dc", positive=True)
                 for m in manifest["mass_ratio"]}
    rows = []
    # every (m, hbar) of a rectangular grid; an adaptive sweep's cells, each m with its own hbar values
    pairs = [(m, h) for m, h in itertools.product(manifest["mass_ratio"], manifest["hbar"])
             if not manifest.get("adaptive") or ("quantum", m, h) in entries]
    for m, hbar in pairs:
        cl, entry = classical[m], entries[("quantum", m, hbar)]
        qu = _read(sweep_dir, entry, "Dq")
        row = {"m": float(m), "hbar": float(hbar), "Dc": cl.value, "Dc_err": cl.err,
               "Dq": qu.value, "Dq_err": qu.err, "eta": math.nan, "eta_err": math.nan,
               "status": OK, "detail": "", "name": entry["name"]}
        if cl.status != OK:  # the classical reference of this m is the first thing to fix
            row.update(status=f"classical_{cl.status}", detail=f"classical m={m}: {cl.detail or cl.status}"
                       + (f"; quantum: {qu.detail}" if qu.status != OK else ""))
        elif qu.status != OK:
            row.update(status=f"quantum_{qu.status}", detail=qu.detail)
        elif why := _inconsistency(cl, qu, float(m), float(hbar)):
            row.update(status="inconsistent", detail=why)
        else:
            row["eta"], row["eta_err"] = eta_with_error(qu.value, qu.err, cl.value, cl.err)
        if ("classical", m, hbar) in entries:
            row.update(_quantum_initial(sweep_dir, entries[("classical", m, hbar)], qu, float(m), float(hbar)))
        rows.append(row)
    return rows


def _quantum_initial(sweep_dir: Path, entry: Mapping[str, Any], qu: ResultInfo, m: float, hbar: float) -> dict:
    """The columns of a cell's classical run from the quantum initial ensemble: its Dc and eta
    against it (NaN, and why in ``quantum_initial_detail``, when either run is not usable)."""
    qi = _read(sweep_dir, entry, "Dc", positive=True)
    out = dict.fromkeys(QUANTUM_INITIAL_COLUMNS[:4], math.nan) | {"quantum_initial_detail": ""}
    out["Dc_quantum_initial"], out["Dc_quantum_initial_err"] = qi.value, qi.err
    if qi.status != OK:
        out["quantum_initial_detail"] = f"classical {entry['name']}: {qi.detail or qi.status}"
    elif qu.status == OK:
        if why := _inconsistency(qi, qu, m, hbar) or _initial_mismatch(qi, hbar):
            out["quantum_initial_detail"] = why
        else:
            eta, err = eta_with_error(qu.value, qu.err, qi.value, qi.err)
            out["eta_quantum_initial"], out["eta_quantum_initial_err"] = eta, err
    return out


def _initial_mismatch(qi: ResultInfo, hbar: float) -> str:
    """Why a classical file is not the quantum-initial run of the cell at ``hbar``, or ''."""
    initial = qi.config.get("classical", {}).get("initial", "uniform")
    if initial != "quantum":
        return f"the quantum-initial classical file has classical.initial = {initial}"
    h = qi.config.get("physics", {}).get("hbar")
    if h is not None and _close(h, hbar):
        return ""
    return f"the quantum-initial classical file has hbar {h}, expected {hbar}"


def analyse(rows: Sequence[Mapping[str, Any]], analysis: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per mass ratio: the exponential fit and the two thresholds."""
    window = tuple(analysis.get("fit_window", (0.12, 1.0)))
    eta_c, eta_dl = float(analysis.get("eta_c", 0.9)), float(analysis.get("eta_dl", 0.1))
    out = []
    for m in sorted({r["m"] for r in rows}):
        cells = sorted((r for r in rows if r["m"] == m), key=lambda r: r["hbar"])
        h = np.array([r["hbar"] for r in cells])
        e = np.array([r["eta"] if r["status"] == OK else math.nan for r in cells])
        err = np.array([r["eta_err"] if r["status"] == OK else math.nan for r in cells])
        row = {"m": m, "Dc": cells[0]["Dc"], "Dc_err": cells[0]["Dc_err"], "n_cells": len(cells),
               "n_ok": int(sum(r["status"] == OK for r in cells)), **fit_exponential(h, e, window, err)}
        for name, level in (("hbar_c", eta_c), ("hbar_DL", eta_dl)):
            value, flag = crossing(h, e, level)
            lo, hi, resolved = threshold_interval(h, e, err, level)
            row.update({name: value, f"{name}_flag": flag, f"{name}_lo": lo, f"{name}_hi": hi,
                        f"{name}_resolved": resolved})
        out.append(row)
    return out


def missing_cells(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": r.get("name") or f"m={_plan.fmt(r['m'])},hbar={_plan.fmt(r['hbar'])}",
             "m": r["m"], "hbar": r["hbar"], "status": r["status"], "detail": r.get("detail", "")}
            for r in rows if r["status"] != OK]


def _csv_value(v: Any) -> Any:
    return ("nan" if math.isnan(v) else repr(v)) if isinstance(v, float) else v


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    def write(fh) -> None:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows([_csv_value(r.get(c, "")) for c in columns] for r in rows)

    _io.write_text_atomic(path, write)


def _number(v: str) -> Any:
    try:
        return float(v) if v != "" else v
    except ValueError:
        return v


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a table written by :func:`write_csv`, numbers as floats."""
    with open(path, newline="") as fh:
        return [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def _write_table(group: h5py.Group, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    group.attrs["columns"] = json.dumps(list(columns))
    for c in columns:
        values = [r.get(c, "") for r in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            group.create_dataset(c, data=np.asarray(values, dtype=float))
        else:
            group.create_dataset(c, data=np.asarray([str(v) for v in values], dtype=object),
                                 dtype=h5py.string_dtype())


def write_tables(paths: Mapping[str, str | Path], rows: Sequence[Mapping[str, Any]],
                 thresholds: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> None:
    """The cell and threshold tables as CSV and HDF5, and the list of missing cells, into
    ``paths`` (``cells_csv``, ``thresholds_csv``, ``h5``, ``missing``, any subset); they replace
    the previous tables only once all are written, so an error leaves those as they were."""
    from .files import replaced_together

    with replaced_together(list(paths.values())) as tmp_of:
        paths = {k: tmp_of[Path(v)] for k, v in paths.items()}
        missing = missing_cells(rows)
        columns = CELL_COLUMNS + (QUANTUM_INITIAL_COLUMNS if any(QUANTUM_INITIAL_COLUMNS[0] in r for r in rows) else ())
        if "cells_csv" in paths:
            write_csv(paths["cells_csv"], rows, columns)
        if "thresholds_csv" in paths:
            write_csv(paths["thresholds_csv"], thresholds, THRESHOLD_COLUMNS)
        if "missing" in paths:
            _io.write_text_atomic(paths["missing"], "".join(
                f"{c['name']}\t{c['status']}\t{c['detail']}\n" for c in missing))
        if "h5" in paths:
            def build(f: h5py.File) -> None:
                f.attrs["kind"] = "sweep"
                for k, v in meta.items():
                    f.attrs[k] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v)
                f.attrs.update(n_cells=len(rows), n_missing=len(missing), missing=json.dumps(missing))
                _write_table(f.create_group("cells"), rows, columns)
                _write_table(f.create_group("thresholds"), thresholds, THRESHOLD_COLUMNS)
                _write_table(f.create_group("missing"), missing, ("name", "m", "hbar", "status", "detail"))

            _io.write_atomic(paths["h5"], build)


def read_tables(path: str | Path) -> tuple[list[dict], list[dict], dict]:
    """``(cell rows, threshold rows, root attributes)`` of a ``sweep.h5`` file."""
    def rows_of(group: h5py.Group) -> list[dict]:
        columns = json.loads(group.attrs["columns"])
        data = [[v.decode() if isinstance(v, bytes) else (float(v) if isinstance(v, np.floating) else v)
                 for v in group[c][()]] for c in columns]
        return [{c: d[i] for c, d in zip(columns, data)} for i in range(len(data[0]) if data else 0)]

    with h5py.File(path, "r") as f:
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        return rows_of(f["cells"]), rows_of(f["thresholds"]), meta


# --------------------------------------------------------------------------- driver
def aggregate_sweep(sweep_dir: str | Path, allow_missing: bool = False,
                    out: Mapping[str, str | Path] | None = None,
                    manifest: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read every cell of the sweep, analyse, write the tables; returns rows and thresholds.
    Raises :class:`MissingCellsError` (nothing written) when a cell has no usable result and
    ``allow_missing`` is false."""
    sweep_dir, path = Path(sweep_dir), Path(sweep_dir) / _plan.MANIFEST
    try:
        manifest = dict(manifest) if manifest is not None else _plan.read_manifest(path, grid=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no sweep manifest (written by the workflow's first step)") from None
    rows = collect(sweep_dir, manifest)
    missing = missing_cells(rows)
    if missing and not allow_missing:
        raise MissingCellsError(missing)
    analysis = manifest.get("analysis", {})
    thresholds = analyse(rows, analysis)
    out = out if out is not None else {k: sweep_dir / v for k, v in _plan.TABLES.items()}
    meta = {"preset": manifest.get("preset", ""), "analysis": analysis,
            "n_kicks": manifest.get("n_kicks", -1), "trajectories": manifest.get("trajectories", -1),
            "physics": manifest.get("physics", {}),
            "hbar_grid": [float(h) for h in manifest["hbar"]],
            "mass_ratio_grid": [float(m) for m in manifest["mass_ratio"]]}
    write_tables(out, rows, thresholds, meta)
    return {"cells": rows, "thresholds": thresholds, "missing": missing}


def _fmt(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.4g}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kickedpair.sweep.aggregate",
                                description="eta = Dq/Dc, fits and thresholds of a sweep folder")
    p.add_argument("sweep_dir", help="RESULTS/PRESET, the folder holding sweep.json")
    p.add_argument("--allow-missing", action="store_true",
                   help="aggregate the cells present and list the others instead of failing")
    args = p.parse_args(argv)
    try:
        result = aggregate_sweep(args.sweep_dir, allow_missing=args.allow_missing)
    except (FileNotFoundError, _plan.ManifestError, MissingCellsError) as exc:
        print(f"aggregate: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, MissingCellsError) else 2
    missing = result["missing"]
    if missing:
        print(f"aggregate: WARNING: {len(missing)} of {len(result['cells'])} cells have no usable "
              "result and are left out (listed in tables/missing.txt):", *map(_describe, missing),
              sep="\n", file=sys.stderr)
    print(f"{'m':>10} {'Dc':>9} {'alpha':>9} {'+-':>8} {'hbar_c':>9} {'flag':>13} {'hbar_DL':>9} {'flag':>13}")
    for t in result["thresholds"]:
        print(f"{_fmt(t['m']):>10} {_fmt(t['Dc']):>9} {_fmt(t['alpha']):>9} {_fmt(t['alpha_err']):>8} "
              f"{_fmt(t['hbar_c']):>9} {t['hbar_c_flag']:>13} {_fmt(t['hbar_DL']):>9} {t['hbar_DL_flag']:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
