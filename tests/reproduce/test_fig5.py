"""Fig. 5 (purity versus time per K2): the figure from tiny runs, and its fits on exact decays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.reproduce import fig5
from kickedpair.reproduce.common import VERDICTS, check_summary, finite, read_table

FIT_COLUMNS = ["hbar", "K2", "beta", "beta_err", "rms_power", "gamma", "gamma_err", "rms_exp", "better",
               "purity_tf", "t_half"]


@pytest.fixture(scope="module")
def built(tiny_runs):
    from kickedpair.reproduce.figure import make_figure

    plan, out = tiny_runs("fig5")
    return plan, out, make_figure("fig5", plan, out)


# --------------------------------------------------------------------------- tiny variant
def test_figure_and_summary(built):
    plan, out, summary = built
    assert (out / "fig5.png").stat().st_size > 0
    assert (out / "fig5.json").is_file()
    check_summary(summary, out, "fig5")
    assert summary["tables"] == list(fig5.TABLES)
    assert len(summary["resolution"]) == len(plan["runs"]) == 2
    assert len(summary["convergence"]) == 2
    assert summary["parameters"]["hbar"] == pytest.approx(0.25)
    assert summary["parameters"]["coupling eps*hbar"] == pytest.approx(20.0 * 0.25)
    assert len(summary["comparisons"]) == 5
    for c in summary["comparisons"][:4]:
        assert c["verdict"] in VERDICTS
        assert "hbar=0.25" in c["project"]
    # one K2 >= 0.09 only: the independence claim cannot be tested; one hbar: no trend
    assert summary["comparisons"][2]["verdict"] == "not compared"
    assert summary["comparisons"][4]["verdict"] == "not compared"


def test_purity_table(built):
    plan, out, _ = built
    rows = read_table(out / "fig5_purity.csv")
    assert list(rows[0]) == ["hbar", "K2", "t", "purity"]
    assert finite(r[k] for r in rows for k in ("hbar", "K2", "t", "purity"))
    n = plan["variant"]["n_kicks"]
    assert len(rows) == len(plan["runs"]) * (n + 1)
    for r in rows:
        p = float(r["purity"])
        assert 0 < p <= 1 + 1e-9
        if float(r["t"]) == 0:
            assert p == pytest.approx(1.0, abs=1e-9)


def test_fits_table(built):
    plan, out, _ = built
    rows = read_table(out / "fig5_fits.csv")
    assert list(rows[0]) == FIT_COLUMNS
    assert sorted(float(r["K2"]) for r in rows) == [0.0, 0.12]
    numeric = [c for c in FIT_COLUMNS if c not in ("better", "t_half")]
    assert finite(r[c] for r in rows for c in numeric)
    for r in rows:
        assert r["better"] in ("power", "exponential", "indistinguishable")
        assert float(r["beta"]) > 0 and float(r["gamma"]) > 0          # the purity decays
        t_half = float(r["t_half"])                                       # nan: not reached by t_f
        assert math.isnan(t_half) or 0 < t_half <= plan["variant"]["n_kicks"]


# --------------------------------------------------------------------------- fits on exact decays
T = np.arange(0, 101, dtype=float)
WINDOW = [0.1, 1.0]


def test_exact_power_law():
    beta = 0.37
    purity = np.where(T >= 1, 0.9 * np.maximum(T, 1) ** -beta, 1.0)
    f = fig5.decay_fits(T, purity, 100, WINDOW, WINDOW)
    assert f["beta"] == pytest.approx(beta, rel=1e-10)
    assert f["beta_err"] < 1e-8 and f["rms_power"] < 1e-10
    assert f["n_power"] == 91
    assert f["rms_exp"] > 0.05
    assert f["better"] == "power"


def test_exact_exponential():
    gamma = 0.045
    purity = 0.8 * np.exp(-gamma * T)
    f = fig5.decay_fits(T, purity, 100, WINDOW, WINDOW)
    assert f["gamma"] == pytest.approx(gamma, rel=1e-10)
    assert f["gamma_err"] < 1e-8 and f["rms_exp"] < 1e-10
    assert f["rms_power"] > 0.05
    assert f["better"] == "exponential"


def test_window_and_t_half():
    purity = np.exp(-0.1 * T)
    mask = fig5.window_mask(T, purity, 100, [0.2, 0.5])
    assert T[mask].min() == 20 and T[mask].max() == 50
    assert fig5.crossing_time(T, purity) == pytest.approx(math.log(2) / 0.1, rel=1e-12)
    assert math.isnan(fig5.crossing_time(T, np.ones_like(T)))


def test_verdict_rules():
    assert fig5.better_form(0.010, 0.011) == "indistinguishable"
    assert fig5.better_form(0.0, 0.0) == "indistinguishable"
    assert fig5.better_form(0.01, 0.05) == "power"
    assert fig5.better_form(0.05, 0.01) == "exponential"
    assert fig5.group_verdict(["power", "power"], "power") == "agrees"
    assert fig5.group_verdict(["power", "indistinguishable"], "power") == "partly"
    assert fig5.group_verdict(["exponential"], "power") == "differs"
    assert fig5.group_verdict([], "power") == "not compared"
    assert fig5.same_decay_verdict(0.05, 5.0, 0.1) == "agrees"
    assert fig5.same_decay_verdict(0.5, 1.0, 0.1) == "agrees"      # within errors
    assert fig5.same_decay_verdict(0.5, 5.0, 0.1) == "partly"
    assert fig5.same_decay_verdict(0.5, 5.0, 0.5) == "differs"
    assert fig5.contrast_verdict(["power"] * 3, ["exponential"] * 2, True) == "agrees"
    assert fig5.contrast_verdict(["power"] * 3, ["exponential"] * 2, False) == "partly"
    assert fig5.contrast_verdict(["exponential"] * 3, ["exponential"] * 2, False) == "differs"


# --------------------------------------------------------------------------- make() on exact decays
def _fake_result(path, K2, hbar, purity):
    """A complete quantum result file holding only what fig5.make reads."""
    import json

    import h5py

    config = {"physics": {"K1": 5.0, "K2": K2, "eps": 20.0, "lam": 10.0, "L": math.pi, "mass_ratio": 0.01,
                          "interaction": "gaussian", "coupling_scales_with_hbar": True, "hbar": hbar},
              "quantum": {"n_kicks": len(purity) - 1}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs.update({"complete": True, "N1": 1023, "N2": 63, "substeps": 50, "scheme": "light_exact",
                        "wall_time_s": 1.0, "n_ranks": 1})
        f.create_group("params").attrs["config_json"] = json.dumps(config)
        s = f.create_group("series")
        s["t"] = np.arange(len(purity), dtype=float)
        s["purity"] = purity


def _exact_plan(tmp_path, decays: dict, n: int = 60) -> dict:
    """A plan whose runs hold exact purity curves: ``decays[(hbar, K2)] = ("power", beta)`` or
    ``("exp", gamma)``."""
    t = np.arange(n + 1, dtype=float)
    runs = []
    for (hbar, K2), (form, rate) in decays.items():
        purity = np.exp(-rate * t) if form == "exp" else np.maximum(t, 1.0) ** -rate
        result = tmp_path / f"hbar={hbar:g}+K2={K2:g}" / "quantum.h5"
        _fake_result(result, K2, hbar, purity)
        runs.append({"figure": "fig5", "engine": "quantum", "name": f"hbar={hbar:g}+K2={K2:g}",
                     "role": {"K2": K2, "hbar": hbar}, "config": {}, "result": str(result)})
    hbars = sorted({h for h, _ in decays}, reverse=True)
    return {"figure": "fig5", "runs": runs, "extra_runs": [],
            "variant": {"hbar": hbars, "n_kicks": n, "power_window": [0.1, 1.0], "exp_window": [0.1, 1.0],
                        "description": ""}}


def test_make_on_exact_decays(tmp_path):
    """Power laws for K2 <= 0.05 and one exponential for K2 >= 0.09: every claim of the paper holds."""
    from kickedpair.reproduce.figure import make_figure

    decays = {(0.1, K2): d for K2, d in ((0.0, ("power", 0.2)), (0.03, ("power", 0.25)), (0.05, ("power", 0.3)),
                                          (0.09, ("exp", 0.05)), (0.12, ("exp", 0.05)))}
    out = tmp_path / "out"
    summary = make_figure("fig5", _exact_plan(tmp_path, decays), out)
    assert [c["verdict"] for c in summary["comparisons"]] == ["agrees"] * 4 + ["not compared"]
    rows = {float(r["K2"]): r for r in read_table(out / "fig5_fits.csv")}
    assert float(rows[0.03]["beta"]) == pytest.approx(0.25, rel=1e-5)   # CSV: 6 digits
    assert float(rows[0.12]["gamma"]) == pytest.approx(0.05, rel=1e-5)
    assert float(rows[0.09]["t_half"]) == pytest.approx(math.log(2) / 0.05, rel=1e-5)
    assert [rows[k]["better"] for k in sorted(rows)] == ["power"] * 3 + ["exponential"] * 2
    assert summary["parameters"]["coupling eps*hbar"] == pytest.approx(2.0)


def test_scan_judges_at_the_smallest_hbar_and_the_trend_over_all(tmp_path):
    """At hbar = 0.2 every K2 decays as a power law (no contrast), at 0.05 the paper's contrast:
    comparisons 1-4 are those of 0.05 and the contrast grows as hbar falls."""
    from kickedpair.reproduce.figure import make_figure

    decays = {}
    for K2 in (0.0, 0.05, 0.09, 0.12):
        decays[(0.2, K2)] = ("power", 0.3)
        decays[(0.05, K2)] = ("power", 0.3) if K2 <= 0.05 else ("exp", 0.04)
    out = tmp_path / "out"
    summary = make_figure("fig5", _exact_plan(tmp_path, decays), out)
    verdicts = [c["verdict"] for c in summary["comparisons"]]
    assert verdicts == ["agrees"] * 5, verdicts
    assert all("hbar=0.05" in c["project"] for c in summary["comparisons"][:4])
    assert summary["parameters"]["hbar"] == [0.2, 0.05]
    rows = read_table(out / "fig5_fits.csv")
    assert sorted({float(r["hbar"]) for r in rows}) == [0.05, 0.2] and len(rows) == 8
    assert (out / "fig5.png").stat().st_size > 0
    # the contrast reversed (paper-like at the largest hbar only): the trend differs
    flipped = {(0.2 if h == 0.05 else 0.05, K2): d for (h, K2), d in decays.items()}
    summary = make_figure("fig5", _exact_plan(tmp_path / "flipped", flipped), tmp_path / "out2")
    assert summary["comparisons"][4]["verdict"] == "differs"
    assert summary["comparisons"][1]["verdict"] == "differs"   # at 0.05 now every K2 is a power law


def test_form_gap_and_trend_rules():
    power, expo = {"rms_power": 0.01, "rms_exp": 0.1}, {"rms_power": 0.1, "rms_exp": 0.01}
    assert fig5.form_gap([power], [expo]) == pytest.approx(2 * math.log(10))
    assert fig5.form_gap([power], [power]) == pytest.approx(0.0)
    assert math.isnan(fig5.form_gap([], [expo]))
    assert fig5.trend_verdict([0.0, 1.0, 2.0]) == "agrees"
    assert fig5.trend_verdict([0.0, 2.0, 1.0]) == "partly"      # larger at the end, not monotone
    assert fig5.trend_verdict([1.0, 1.0]) == "partly"           # monotone, not larger
    assert fig5.trend_verdict([2.0, 1.0]) == "differs"
    assert fig5.trend_verdict([1.0, float("nan")]) == "not compared"


def test_gamma_difference_and_convergence_max():
    rel, z = fig5.gamma_difference({"gamma": 0.09, "gamma_err": 0.003}, {"gamma": 0.11, "gamma_err": 0.004})
    assert rel == pytest.approx(0.2) and z == pytest.approx(0.02 / 0.005)
    rel, z = fig5.gamma_difference({"gamma": 0.1, "gamma_err": 0.0}, {"gamma": 0.1, "gamma_err": 0.0})
    assert rel == 0.0 and z == math.inf
    nan = float("nan")
    rows = [{"half_step_purity": -0.002, "double_grid_purity": nan},
            {"half_step_purity": 0.001, "double_grid_purity": 0.004, "end_half_step_purity_abs": -0.03}]
    assert fig5.convergence_max(rows) == pytest.approx(0.03)
    assert fig5.convergence_max(rows[:1]) == pytest.approx(0.002)
    assert math.isnan(fig5.convergence_max([]))
