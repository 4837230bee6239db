"""Sweep analysis: eta, exponential fits, thresholds, tables, figures, missing cells, status."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from kickedpair.sweep import aggregate as agg
from kickedpair.sweep import figures, plan, status

# --------------------------------------------------------------------------- fits
HBAR = np.array([0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.1])


def decaying(alpha: float, a: float = 0.0, floor: float = 0.0) -> np.ndarray:
    """eta = exp(a - alpha hbar), held at ``floor`` where it would fall below it."""
    return np.maximum(np.exp(a - alpha * HBAR), floor)


@pytest.mark.parametrize("alpha,a", [(20.0, 0.0), (45.0, 0.05), (8.0, -0.02)])
def test_fit_recovers_exact_exponential(alpha, a):
    eta = decaying(alpha, a)
    fit = agg.fit_exponential(HBAR, eta, (0.12, 1.0))
    sel = (eta >= 0.12) & (eta <= 1.0)
    assert fit["n_fit"] == sel.sum() >= 3
    assert fit["alpha"] == pytest.approx(alpha, rel=1e-10)
    assert fit["a"] == pytest.approx(a, abs=1e-10)
    assert fit["alpha_err"] == pytest.approx(0.0, abs=1e-8)
    assert fit["fit_flag"] == "ok"
    assert fit["fit_hbar_lo"] == HBAR[sel].min() and fit["fit_hbar_hi"] == HBAR[sel].max()


def test_fit_ignores_plateau_outside_window():
    eta = decaying(30.0, floor=0.1)  # a plateau at 0.1, as the paper sees
    fit = agg.fit_exponential(HBAR, eta, (0.12, 1.0))
    assert fit["alpha"] == pytest.approx(30.0, rel=1e-10)


def test_fit_standard_errors_match_least_squares_formula():
    rng = np.random.default_rng(1)
    h = np.linspace(0.005, 0.06, 9)
    y = 0.02 - 25.0 * h + rng.normal(0, 0.05, h.size)
    fit = agg.fit_exponential(h, np.exp(y), (1e-6, 10.0))
    X = np.column_stack([np.ones_like(h), -h])
    coef, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    cov = res[0] / (h.size - 2) * np.linalg.inv(X.T @ X)
    assert fit["alpha"] == pytest.approx(coef[1])
    assert fit["alpha_err"] == pytest.approx(math.sqrt(cov[1, 1]))
    assert fit["a_err"] == pytest.approx(math.sqrt(cov[0, 0]))
    assert 0 < fit["alpha_err"] < 5


def test_fit_too_few_points():
    fit = agg.fit_exponential([0.01, 0.02, 0.03], [1.0, 0.05, 0.04], (0.12, 1.0))
    assert fit["fit_flag"] == "too_few_points" and math.isnan(fit["alpha"])
    two = agg.fit_exponential([0.01, 0.02], [0.9, 0.5], (0.12, 1.0))
    assert two["fit_flag"] == "no_error_estimate"
    assert two["alpha"] == pytest.approx(math.log(0.9 / 0.5) / 0.01)
    assert math.isnan(two["alpha_err"])


def test_weighted_fit_error_covers_alpha_and_grows_when_points_scatter_beyond_their_errors():
    """With errors, the fit weights each ln eta by 1/sigma^2; alpha_err covers the true alpha in
    ~68% of noisy grids whose stated errors are right, and still when they understate the
    scatter threefold (the covariance is scaled by the reduced chi-square)."""
    h = np.linspace(0.01, 0.1, 8)
    sigma = np.linspace(0.03, 0.15, h.size)  # relative errors growing with hbar, as Dq's do
    rng = np.random.default_rng(7)
    for scatter, stated in ((1.0, 1.0), (3.0, 1.0)):
        hits, runs = 0, 1000
        for _ in range(runs):
            eta = np.exp(0.05 - 20.0 * h + scatter * sigma * rng.normal(size=h.size))
            fit = agg.fit_exponential(h, eta, (1e-6, 10.0), eta * sigma * stated)
            assert fit["fit_weights"] == "errors" and fit["fit_flag"] == "ok"
            hits += abs(fit["alpha"] - 20.0) <= fit["alpha_err"]
        assert 0.63 <= hits / runs <= 0.76, (scatter, hits / runs)


def test_weighted_fit_of_two_points_takes_its_error_from_the_points():
    two = agg.fit_exponential([0.01, 0.02], [0.9, 0.5], (0.12, 1.0), [0.09, 0.05])
    assert two["fit_flag"] == "ok" and two["fit_weights"] == "errors"
    assert two["alpha"] == pytest.approx(math.log(0.9 / 0.5) / 0.01)
    assert two["alpha_err"] == pytest.approx(math.hypot(0.1, 0.1) / 0.01)
    assert math.isnan(two["chi2_red"])
    # a point without a usable error: the fit falls back to the residuals
    mixed = agg.fit_exponential([0.01, 0.02, 0.03], [0.9, 0.5, 0.3], (0.12, 1.0), [0.09, math.nan, 0.03])
    assert mixed["fit_weights"] == "residuals"


# --------------------------------------------------------------------------- thresholds
def test_threshold_log_linear_interpolation_is_exact_for_exponentials():
    alpha = 15.0
    eta = decaying(alpha)
    for level in (0.9, 0.5, 0.25):
        value, flag = agg.crossing(HBAR, eta, level)
        assert flag == "ok"
        assert value == pytest.approx(-math.log(level) / alpha, rel=1e-12)


def test_threshold_interval_from_the_errors_of_the_bracketing_points():
    alpha = 15.0
    eta = decaying(alpha)
    err = 0.02 * eta
    lo, hi, resolved = agg.threshold_interval(HBAR, eta, err, 0.5)
    central = -math.log(0.5) / alpha
    assert lo == pytest.approx(-math.log(0.5 / 0.98) / alpha, rel=1e-12)
    assert hi == pytest.approx(-math.log(0.5 / 1.02) / alpha, rel=1e-12)
    assert lo < central < hi and resolved
    assert agg.bracket(HBAR, eta, 0.5) == (0.04, 0.06)


def test_threshold_not_resolved_when_the_errors_allow_it_outside_its_bracket():
    """eta not monotone within its errors (the quick sweep's 0.43, 0.64, 0.42 at m = 1e-3): the
    central crossing of 0.5 is bracketed, but eta + err crosses in another bracket."""
    h = np.array([0.06, 0.09, 0.12, 0.18, 0.24])
    eta = np.array([0.80, 0.47, 0.64, 0.42, 0.20])
    err = 0.1 * eta
    value, flag = agg.crossing(h, eta, 0.5)
    assert flag == "ok" and 0.06 < value < 0.09
    lo, hi, resolved = agg.threshold_interval(h, eta, err, 0.5)
    assert lo < value and hi > 0.12  # the upper curve stays above 0.5 until after 0.12
    assert not resolved
    # the same points with errors too small to matter: resolved
    assert agg.threshold_interval(h, eta, 1e-3 * eta, 0.5)[2]
    # an error so large that eta - err <= 0: the lower curve is below the level on the whole grid
    lo, hi, resolved = agg.threshold_interval(h, eta, 2.0 * eta, 0.5)
    assert math.isnan(lo) and not resolved
    # no errors at all: no interval
    lo, hi, resolved = agg.threshold_interval(h, eta, np.full(h.size, math.nan), 0.5)
    assert math.isnan(lo) and math.isnan(hi) and not resolved


def test_threshold_between_unevenly_decaying_points():
    h = [0.01, 0.02]
    value, flag = agg.crossing(h, [0.95, 0.45], 0.9)
    t = (math.log(0.9) - math.log(0.95)) / (math.log(0.45) - math.log(0.95))
    assert flag == "ok" and value == pytest.approx(0.01 + 0.01 * t)


def test_threshold_never_reached_is_nan_with_flag():
    eta = np.full(HBAR.size, 0.95)
    assert agg.crossing(HBAR, eta, 0.9)[1] == "above_grid"
    assert math.isnan(agg.crossing(HBAR, eta, 0.9)[0])
    plateau = decaying(20.0, floor=0.15)  # decays but saturates above 0.1
    value, flag = agg.crossing(HBAR, plateau, 0.1)
    assert math.isnan(value) and flag == "above_grid"
    assert agg.crossing(HBAR, plateau, 0.9)[1] == "ok"


def test_threshold_below_grid_is_nan_with_flag():
    eta = decaying(300.0)  # already 0.22 at the smallest hbar
    value, flag = agg.crossing(HBAR, eta, 0.9)
    assert math.isnan(value) and flag == "below_grid"
    exact, flag = agg.crossing([0.01, 0.02], [0.9, 0.5], 0.9)
    assert flag == "ok" and exact == 0.01


def test_threshold_first_crossing_of_non_monotone_curve():
    h = [0.01, 0.02, 0.03, 0.04, 0.05]
    eta = [1.0, 0.8, 0.95, 0.5, 0.05]
    value, flag = agg.crossing(h, eta, 0.9)
    assert flag == "ok" and 0.01 < value < 0.02
    value, flag = agg.crossing(h, eta, 0.1)
    assert flag == "ok" and 0.04 < value < 0.05


def test_threshold_not_bracketed_across_missing_cells():
    h = [0.01, 0.02, 0.03, 0.04]
    assert agg.crossing(h, [1.0, np.nan, 0.5, 0.3], 0.9) == (pytest.approx(np.nan, nan_ok=True), "not_bracketed")
    assert agg.crossing(h, [np.nan, 0.5, 0.3, 0.2], 0.9)[1] == "not_bracketed"
    assert agg.crossing(h, [1.0, 0.95, 0.92, np.nan], 0.9)[1] == "not_bracketed"
    assert agg.crossing(h, [np.nan] * 4, 0.9)[1] == "not_bracketed"
    # a gap elsewhere does not matter
    value, flag = agg.crossing(h, [1.0, np.nan, 0.95, 0.5], 0.9)
    assert flag == "ok" and 0.03 < value < 0.04


def test_eta_error_propagation():
    eta, err = agg.eta_with_error(0.05, 0.001, 0.1, 0.002)
    assert eta == pytest.approx(0.5)
    assert err == pytest.approx(0.5 * math.hypot(0.02, 0.02))
    assert all(math.isnan(v) for v in agg.eta_with_error(0.05, 0.001, 0.0, 0.0))


# --------------------------------------------------------------------------- files
def _h5(path: Path, attrs: dict, config: dict, complete: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.create_group("params").attrs["config_json"] = json.dumps(config)
        s = f.create_group("series")
        s.create_dataset("t", data=np.arange(11))
        s.create_dataset("p1_sq", data=np.linspace(0, 1, 11))
        f.attrs["complete"] = complete


ALPHA = {"0.01": 40.0, "1": 12.0}
DC = {"0.01": 0.2, "1": 0.5}


def make_sweep(root: Path, skip=(), guard=(), hbar=("0.02", "0.04", "0.08", "0.16")) -> Path:
    """A sweep folder as the workflow leaves it, with synthetic results."""
    config = {
        "preset": "synthetic",
        "presets": {"synthetic": {"hbar": [float(h) for h in hbar], "mass_ratio": [0.01, 1.0],
                                  "n_kicks": 10, "trajectories": 100}},
        "results": str(root),
        "physics": {"eps": 2.0},
    }
    sweep = plan.build_plan(config)
    d = Path(sweep.sweep_dir)
    d.mkdir(parents=True)
    (d / plan.MANIFEST).write_text(json.dumps(sweep.manifest()))
    for m in sweep.mass_ratio:
        _h5(Path(sweep.path(plan.CLASSICAL_RESULT, m=m)), {"Dc": DC[m], "Dc_err": 0.01 * DC[m]},
            sweep.classical_config(m))
    for c in sweep.cells:
        if c.name in skip or c.name in guard:
            continue
        eta = math.exp(-ALPHA[c.m] * float(c.hbar))
        _h5(Path(sweep.path(plan.QUANTUM_RESULT, m=c.m, hbar=c.hbar)),
            {"Dq": eta * DC[c.m], "Dq_err": 0.02 * eta * DC[c.m]}, sweep.quantum_config(c.m, c.hbar))
    for name in guard:
        m, h = (kv.split("=")[1] for kv in name.split(","))
        log = Path(sweep.path(plan.QUANTUM_LOG, m=m, hbar=h))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"{plan.LOG_START} 2024-01-01T00:00:00Z on node1: 2 rank(s)\n"
                       f"[{name}] kick 10/100\n"
                       f"kickedpair quantum: cell {name}: guard 'norm' tripped at t=12: value 1.0003\n"
                       f"{plan.LOG_EXIT} 3\n")
    return d


def test_quantum_files_without_an_error_get_it_from_their_series(tmp_path):
    """Files written before the runs recorded Dq_err hold 0: the aggregation computes the error
    from /series/p1_sq as the runs now do (kickedpair.analysis.endpoint_fluctuation)."""
    d = make_sweep(tmp_path)
    sweep = plan.build_plan({"preset": "synthetic", "results": str(tmp_path), "physics": {"eps": 2.0},
                             "presets": {"synthetic": {"hbar": [0.02, 0.04, 0.08, 0.16], "mass_ratio": [0.01, 1.0],
                                                       "n_kicks": 10, "trajectories": 100}}})
    c = sweep.cells[0]
    path = Path(sweep.path(plan.QUANTUM_RESULT, m=c.m, hbar=c.hbar))
    t = np.arange(11.0)
    p1_sq = 0.09 * t + 0.01 * (-1.0) ** t
    with h5py.File(path, "r+") as f:
        f.attrs["Dq"], f.attrs["Dq_err"] = p1_sq[-1] / 10, 0.0
        del f["series/p1_sq"]
        f["series"].create_dataset("p1_sq", data=p1_sq)
    agg.aggregate_sweep(d)
    rows = {(plan.fmt(r["m"]), plan.fmt(r["hbar"])): r for r in agg.read_csv(d / plan.TABLES["cells_csv"])}
    row = rows[(plan.fmt(c.m), plan.fmt(c.hbar))]
    from kickedpair.analysis import endpoint_fluctuation
    assert row["Dq_err"] == pytest.approx(endpoint_fluctuation(t, p1_sq, 0.2) / 10, rel=1e-12)
    assert row["Dq_err"] > 0.0005  # 0.01 about the line: more than half of that over t_f = 10
    assert row["eta_err"] > row["eta"] * math.hypot(0.01, 0.01)  # it reaches eta's error


def test_quantum_initial_columns_divide_dq_by_the_cells_own_classical_run(tmp_path):
    config = {"preset": "synthetic", "results": str(tmp_path), "physics": {"eps": 2.0}, "initial_sensitivity": True,
              "presets": {"synthetic": {"hbar": [0.02, 0.04], "mass_ratio": [0.01], "n_kicks": 10,
                                        "trajectories": 100}}}
    sweep = plan.build_plan(config)
    qi_runs = [r for r in sweep.runs() if r.folder.startswith("classical_quantum_initial/")]
    assert [r.folder for r in qi_runs] == ["classical_quantum_initial/m=0.01/hbar=0.02",
                                           "classical_quantum_initial/m=0.01/hbar=0.04"]
    assert qi_runs[0].config["classical"]["initial"] == "quantum" and qi_runs[0].config["physics"]["hbar"] == 0.02
    assert "initial" not in sweep.classical_config("0.01")["classical"]
    d = Path(sweep.sweep_dir)
    d.mkdir(parents=True)
    (d / plan.MANIFEST).write_text(json.dumps(sweep.manifest()))
    _h5(d / plan.CLASSICAL_RESULT.format(m="0.01"), {"Dc": 0.2, "Dc_err": 0.002}, sweep.classical_config("0.01"))
    for c in sweep.cells:
        _h5(d / plan.QUANTUM_RESULT.format(m=c.m, hbar=c.hbar), {"Dq": 0.1, "Dq_err": 0.001},
            sweep.quantum_config(c.m, c.hbar))
    # hbar = 0.02: its quantum-initial run; hbar = 0.04: a file of the wrong ensemble
    _h5(d / qi_runs[0].result, {"Dc": 0.25, "Dc_err": 0.005}, qi_runs[0].config)
    _h5(d / qi_runs[1].result, {"Dc": 0.25, "Dc_err": 0.005}, sweep.classical_config("0.01"))
    agg.aggregate_sweep(d)
    rows = agg.read_csv(d / plan.TABLES["cells_csv"])
    assert list(rows[0]) == list(agg.CELL_COLUMNS + agg.QUANTUM_INITIAL_COLUMNS)
    first, second = rows
    assert first["eta"] == pytest.approx(0.5) and first["eta_quantum_initial"] == pytest.approx(0.4)
    assert first["eta_quantum_initial_err"] == pytest.approx(0.4 * math.hypot(0.01, 0.02))
    assert math.isnan(second["eta_quantum_initial"])
    assert "classical.initial = uniform" in second["quantum_initial_detail"]
    assert second["status"] == "ok" and second["eta"] == pytest.approx(0.5)  # eta itself is unaffected


def test_aggregate_tables_and_thresholds(tmp_path):
    d = make_sweep(tmp_path)
    result = agg.aggregate_sweep(d)
    assert result["missing"] == []
    cells = agg.read_csv(d / plan.TABLES["cells_csv"])
    assert len(cells) == 8
    assert list(cells[0]) == list(agg.CELL_COLUMNS)
    for row in cells:
        assert row["status"] == "ok"
        assert row["eta"] == pytest.approx(math.exp(-ALPHA[plan.fmt(row["m"])] * row["hbar"]))
        assert row["eta_err"] == pytest.approx(row["eta"] * math.hypot(0.02, 0.01))
    thr = {plan.fmt(r["m"]): r for r in agg.read_csv(d / plan.TABLES["thresholds_csv"])}
    assert set(thr) == {"0.01", "1"}
    # m = 0.01: eta = exp(-40 hbar) = 0.45 at hbar = 0.02 -> hbar_c below the grid
    assert thr["0.01"]["hbar_c_flag"] == "below_grid" and math.isnan(thr["0.01"]["hbar_c"])
    assert thr["0.01"]["hbar_DL"] == pytest.approx(math.log(10) / 40)
    # m = 1: eta = exp(-12 hbar): 0.79 at 0.02 (below 0.9), 0.15 at 0.16 (never 0.1)
    assert thr["1"]["hbar_c_flag"] == "below_grid"
    assert thr["1"]["hbar_DL_flag"] == "above_grid"
    assert thr["1"]["alpha"] == pytest.approx(12.0)
    assert thr["0.01"]["alpha"] == pytest.approx(40.0)
    cells_h5, thr_h5, meta = agg.read_tables(d / plan.TABLES["h5"])
    assert len(cells_h5) == 8 and len(thr_h5) == 2
    assert meta["n_missing"] == 0 and meta["complete"]
    assert meta["n_kicks"] == 10 and meta["trajectories"] == 100  # t_f and the ensemble behind Dc
    assert {r["hbar_DL_flag"] for r in thr_h5} == {"ok", "above_grid"}
    assert (d / plan.TABLES["missing"]).read_text() == ""


def test_aggregate_refuses_missing_cells_by_default(tmp_path):
    d = make_sweep(tmp_path, skip={"m=1,hbar=0.08"}, guard={"m=0.01,hbar=0.04"})
    with pytest.raises(agg.MissingCellsError) as err:
        agg.aggregate_sweep(d)
    text = str(err.value)
    assert "m=1,hbar=0.08" in text and "m=0.01,hbar=0.04" in text
    assert "guard 'norm' tripped" in text
    assert not (d / plan.TABLES["cells_csv"]).exists()
    assert agg.main([str(d)]) == 1


def test_aggregate_allow_missing_lists_them(tmp_path, capsys):
    d = make_sweep(tmp_path, skip={"m=1,hbar=0.08"}, guard={"m=0.01,hbar=0.04"})
    assert agg.main([str(d), "--allow-missing"]) == 0
    err = capsys.readouterr().err
    assert "2 of 8 cells" in err and "m=1,hbar=0.08" in err
    missing = (d / plan.TABLES["missing"]).read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in missing) == ["m=0.01,hbar=0.04", "m=1,hbar=0.08"]
    rows = {(plan.fmt(r["m"]), plan.fmt(r["hbar"])): r for r in agg.read_csv(d / plan.TABLES["cells_csv"])}
    assert rows[("1", "0.08")]["status"] == "quantum_missing"
    assert rows[("0.01", "0.04")]["status"] == "quantum_missing"
    assert "guard 'norm'" in rows[("0.01", "0.04")]["detail"]
    assert math.isnan(rows[("1", "0.08")]["eta"])
    _, thr, meta = agg.read_tables(d / plan.TABLES["h5"])
    assert meta["n_missing"] == 2
    assert {c["name"] for c in json.loads(meta["missing"])} == {"m=0.01,hbar=0.04", "m=1,hbar=0.08"}
    by_m = {plan.fmt(r["m"]): r for r in thr}
    # m = 0.01: eta = 0.45 (0.02), gap (0.04), 0.04 (0.08): the 0.1 crossing spans the gap
    assert by_m["0.01"]["hbar_DL_flag"] == "not_bracketed"


def test_inconsistent_files_are_not_divided(tmp_path):
    d = make_sweep(tmp_path)
    q = d / plan.QUANTUM_RESULT.format(m="1", hbar="0.04")
    with h5py.File(q, "a") as f:
        cfg = json.loads(f["params"].attrs["config_json"])
        cfg["physics"]["eps"] = 4.0
        f["params"].attrs["config_json"] = json.dumps(cfg)
    result = agg.aggregate_sweep(d, allow_missing=True)
    bad = [r for r in result["cells"] if r["status"] != "ok"]
    assert len(bad) == 1 and bad[0]["status"] == "inconsistent" and "eps" in bad[0]["detail"]


def test_figures_are_written(tmp_path):
    d = make_sweep(tmp_path, hbar=("0.005", "0.01", "0.02", "0.04", "0.08", "0.16", "0.32"))
    agg.aggregate_sweep(d)
    out = d / "figures"
    assert figures.main([str(d / plan.TABLES["h5"]), "--out-dir", str(out)]) == 0
    for name in ("phase_diagram.png", "phase_diagram.pdf", "eta_vs_hbar.png", "eta_vs_hbar.pdf"):
        assert (out / name).stat().st_size > 1000
    assert (out / "phase_diagram.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "phase_diagram.pdf").read_bytes()[:4] == b"%PDF"


def test_figures_with_missing_cells_and_log_axis(tmp_path, capsys):
    d = make_sweep(tmp_path, skip={"m=1,hbar=0.08", "m=1,hbar=0.16"})
    agg.aggregate_sweep(d, allow_missing=True)
    out = d / "figures"
    assert figures.main([str(d / plan.TABLES["h5"]), "--out-dir", str(out), "--hbar-scale", "log"]) == 0
    assert "2 cells missing" in capsys.readouterr().err
    assert (out / "phase_diagram.pdf").exists()


# --------------------------------------------------------------------------- status
def test_status_summary(tmp_path, capsys):
    d = make_sweep(tmp_path, skip={"m=1,hbar=0.08", "m=1,hbar=0.16", "m=0.01,hbar=0.16"},
                   guard={"m=0.01,hbar=0.04"})
    manifest = json.loads((d / plan.MANIFEST).read_text())
    entry = {e["name"]: e for e in manifest["cells"] if e["kind"] == "quantum"}
    # m=1,hbar=0.08: running (fresh log, no exit line, checkpoint present)
    ckpt = d / entry["m=1,hbar=0.08"]["checkpoint"]
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(b"state")
    log = d / entry["m=1,hbar=0.08"]["log"]
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"{plan.LOG_START} x\n[m=1,hbar=0.08] kick 40/100  elapsed 4.0s\n")
    # m=1,hbar=0.16: partial (checkpoint, stale log from a killed attempt)
    ckpt2 = d / entry["m=1,hbar=0.16"]["checkpoint"]
    ckpt2.parent.mkdir(parents=True, exist_ok=True)
    ckpt2.write_bytes(b"state")
    log2 = d / entry["m=1,hbar=0.16"]["log"]
    log2.write_text(f"{plan.LOG_START} x\n[m=1,hbar=0.16] kick 10/100\n")
    old = time.time() - 3600
    os.utime(log2, (old, old))
    # m=0.01,hbar=0.16: failed with a non-zero exit and no guard; a later attempt supersedes
    log3 = d / entry["m=0.01,hbar=0.16"]["log"]
    log3.parent.mkdir(parents=True, exist_ok=True)
    log3.write_text(f"{plan.LOG_START} a\nkickedpair quantum: cell m=0.01,hbar=0.16: guard 'tail' tripped\n"
                    f"{plan.LOG_EXIT} 3\n{plan.LOG_START} b\nkickedpair quantum: error: out of memory\n"
                    f"{plan.LOG_EXIT} 137\n")
    s = status.summarise(d)
    states = {c["name"]: c for c in s["cells"]}
    assert states["m=0.01"]["state"] == "done" and states["m=0.01"]["kind"] == "classical"
    assert states["m=0.01,hbar=0.02"]["state"] == "done"
    assert states["m=1,hbar=0.08"]["state"] == "running"
    assert "kick 40/100" in states["m=1,hbar=0.08"]["detail"]
    assert states["m=1,hbar=0.16"]["state"] == "partial"
    assert states["m=0.01,hbar=0.04"]["state"] == "failed"
    assert "guard 'norm' tripped at t=12: value 1.0003" in states["m=0.01,hbar=0.04"]["detail"]
    assert states["m=0.01,hbar=0.16"]["state"] == "failed"
    assert "exit status 137" in states["m=0.01,hbar=0.16"]["detail"]
    assert "guard" not in states["m=0.01,hbar=0.16"]["detail"]
    assert s["counts"] == {"done": 6, "running": 1, "partial": 1, "failed": 2, "missing": 0}
    assert not s["complete"]
    assert status.main([str(d)]) == 0
    text = capsys.readouterr().out
    assert "10 cells" in text and "guard 'norm'" in text and "m=0.01,hbar=0.02" not in text
    assert status.main([str(d), "--check"]) == 1
    capsys.readouterr()
    assert status.main([str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["failed"] == 2
    assert status.main([str(tmp_path / "nope")]) == 2


def test_status_missing_and_without_manifest(tmp_path):
    d = make_sweep(tmp_path, skip={"m=1,hbar=0.08"})
    s = status.summarise(d)
    assert [c["name"] for c in s["cells"] if c["state"] == "missing"] == ["m=1,hbar=0.08"]
    (d / plan.MANIFEST).unlink()
    s = status.summarise(d)
    assert not s["from_manifest"]
    assert s["counts"]["done"] == 9 and len(s["cells"]) == 9


# --------------------------------------------------------------------------- plan
def test_axes_and_formatting():
    from kickedpair.workflow_config import check_workflow_config

    assert plan.expand_axis({"log": [1e-3, 1.0, 7]}) == \
        ["0.001", "0.003162", "0.01", "0.03162", "0.1", "0.3162", "1"]
    assert plan.expand_axis({"linear": [0.02, 0.08, 4]}) == ["0.02", "0.04", "0.06", "0.08"]
    assert plan.expand_axis([0.16, 0.02, 0.04]) == ["0.02", "0.04", "0.16"]
    preset = {"mass_ratio": [1.0], "n_kicks": 5, "trajectories": 10}
    for bad in ([], [0.1, -0.1], {"log": [0.1, 0.01, 3]}, {"log": [0.1, 1, 0]}, [0.1, 0.10000001]):
        with pytest.raises(plan.ConfigError, match=r"^presets\.p\.hbar"):
            check_workflow_config({"preset": "p", "presets": {"p": {**preset, "hbar": bad}}})


def test_plan_rejects_bad_physics_with_the_key():
    base = {"preset": "p", "presets": {"p": {"hbar": [0.1], "mass_ratio": [1.0], "n_kicks": 5,
                                              "trajectories": 10}}}
    with pytest.raises(plan.ConfigError, match=r"physics\.lam"):
        plan.build_plan({**base, "physics": {"lam": -1}})
    with pytest.raises(plan.ConfigError, match=r"physics\.hbar: set by the sweep"):
        plan.build_plan({**base, "physics": {"hbar": 0.1}})
    with pytest.raises(plan.ConfigError, match=r"classical\.n_kicks"):
        plan.build_plan({**base, "classical": {"n_kicks": 3}})
    with pytest.raises(plan.ConfigError, match=r"coupling_scales_with_hbar"):
        plan.build_plan({**base, "physics": {"coupling_scales_with_hbar": True}})
    with pytest.raises(plan.ConfigError, match=r"^preset: unknown preset 'q'"):
        plan.build_plan({**base, "preset": "q"})
    p = plan.build_plan({**base, "physics": {"eps": 0.5}})
    assert p.quantum_config("1", "0.1") == {"physics": {"eps": 0.5, "mass_ratio": 1.0, "hbar": 0.1},
                                             "quantum": {"n_kicks": 5}}
    assert p.classical_config("1")["classical"] == {"n_kicks": 5, "n_trajectories": 10, "seed": 20200101}


def test_quantum_memory_grows_as_hbar_falls():
    from kickedpair.sweep.resources import cells_over_limit, estimate_grid, quantum_mem_mb

    cfg = lambda h, m=1e-3: {"physics": {"hbar": h, "mass_ratio": m}, "quantum": {"n_kicks": 500}}  # noqa: E731
    g01, g05 = estimate_grid(cfg(0.01)), estimate_grid(cfg(0.05))
    assert g01.N1 == 8191 and (g01.N1 + 1) & g01.N1 == 0  # MODEL.md: hbar = 0.01 needs ~8191
    assert g05.N1 < g01.N1 and g05.N2 == 31 and 63 <= g01.N2 <= 127
    settings = {"min_mb": 1, "max_mb": 10 ** 12}
    assert quantum_mem_mb(cfg(0.005, 1.0), 2, settings) > 10 * quantum_mem_mb(cfg(0.05, 1.0), 2, settings)
    # the per-row particle-2 propagators (light_exact: N1 N2^2 numbers in the set-up) against
    # plain Strang on the same grid
    strang = {"physics": {"hbar": 0.01}, "quantum": {"N1": 1023, "N2": 255, "scheme": "strang"}}
    light = {"physics": {"hbar": 0.01}, "quantum": {"N1": 1023, "N2": 255, "scheme": "light_exact"}}
    g = estimate_grid(strang)
    assert (g.N1, g.N2, g.scheme) == (1023, 255, "strang")
    extra = quantum_mem_mb(light, 1, settings) - quantum_mem_mb(strang, 1, settings)
    assert 1023 * 255 ** 2 * 16 / 2 ** 20 < extra < 1023 * 255 ** 2 * 40 / 2 ** 20
    # they would make m = 1 at small hbar enormous (the scheme auto takes there, plain Strang,
    # has none); the limit names the runs above it
    heavy = {"physics": {"hbar": 0.005, "mass_ratio": 1.0}, "quantum": {"n_kicks": 500, "scheme": "light_exact"}}
    big = cells_over_limit({"a": (heavy, 16), "b": (cfg(0.1, 1e-3), 16), "c": (cfg(0.005, 1.0), 16)}, 1_000_000)
    assert [o.name for o in big] == ["a"] and big[0].estimate_mb > 1e6
    assert estimate_grid(cfg(0.005, 1.0)).scheme == "strang"


def test_quantum_memory_request_covers_the_engines_own_check():
    """A cell's request (its Slurm allocation) is never below what the engine's memory check
    (kickedpair.limits) will ask of it, so a job the workflow sized is never refused by it."""
    from kickedpair.limits import quantum_estimate
    from kickedpair.params import parse_config
    from kickedpair.sweep.resources import quantum_mem_mb

    settings = {"min_mb": 1, "max_mb": 10 ** 12}
    for hbar, m in ((0.1, 1e-3), (0.03, 1e-3), (0.01, 1e-2), (0.02, 0.1)):
        cell = {"physics": {"hbar": hbar, "mass_ratio": m}, "quantum": {"n_kicks": 500}}
        for ranks in (1, 2, 16):
            engine = ranks * quantum_estimate(parse_config(cell), ranks).mb
            assert quantum_mem_mb(cell, ranks, settings) >= engine, (hbar, m, ranks)
