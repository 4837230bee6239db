"""Fig. 1 (classical Dc versus m): the figure from tiny runs, and its verdict rules on made-up numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.reproduce import fig1
from kickedpair.reproduce.common import VERDICTS, check_summary, read_table

FIG1_COLUMNS = ("interaction", "eps", "mass_ratio", "Dc", "Dc_err", "slope_fit", "slope_fit_err",
                "slope_late", "n_kicks", "trajectories")
INSET_COLUMNS = ("interaction", "t", "p1_sq", "p1_sq_sem", "fit")


@pytest.fixture(scope="module")
def built(tiny_runs):
    from kickedpair.reproduce.figure import make_figure

    plan, out = tiny_runs("fig1")
    return plan, out, make_figure("fig1", plan, out)


def test_figure_and_summary(built):
    plan, out, summary = built
    assert (out / "fig1.png").stat().st_size > 0
    assert (out / "fig1.json").is_file()
    check_summary(summary, out, "fig1")
    assert len(summary["resolution"]) == len(plan["runs"])
    assert all(c["verdict"] in VERDICTS for c in summary["comparisons"])
    by_q = {c["quantity"]: c for c in summary["comparisons"]}
    # the tiny variant has neither m = 1e-3 nor eps = 0.1: those comparisons are not made
    for p in ("gaussian", "gaussian_width"):
        assert by_q[f"Dc at m = 1e-3, eps = 2 ({p})"]["verdict"] == "not compared"
        assert by_q[f"little m dependence of Dc at eps = 0.1 ({p})"]["verdict"] == "not compared"
        assert by_q[f"Dc falls with m towards the eps = 0 value, eps = 2, 4 ({p})"]["verdict"] != "not compared"
    assert summary["parameters"]["n_kicks (t_f)"] == 6
    assert summary["parameters"]["trajectories"] == 40


def test_fig1_table(built):
    plan, out, _ = built
    rows = read_table(out / "fig1.csv")
    assert len(rows) == len(plan["runs"]) == 2 * 2 * 2 + 1
    for col in FIG1_COLUMNS:
        assert col in rows[0]
    zero = [r for r in rows if float(r["eps"]) == 0.0]
    assert len(zero) == 1 and zero[0]["mass_ratio"] == "any" and zero[0]["interaction"] == "any"
    assert {r["interaction"] for r in rows} == {"gaussian", "gaussian_width", "any"}
    numeric = ("eps", "Dc", "Dc_err", "slope_fit", "slope_fit_err", "slope_late", "n_kicks", "trajectories")
    for r in rows:
        assert all(math.isfinite(float(r[c])) for c in numeric), r
        if r is not zero[0]:
            assert math.isfinite(float(r["mass_ratio"]))
        assert float(r["Dc"]) > 0 and float(r["Dc_err"]) > 0
        assert int(r["n_kicks"]) == 6 and int(r["trajectories"]) == 40


def test_inset_table(built):
    _, out, _ = built
    rows = read_table(out / "fig1_inset.csv")
    for col in INSET_COLUMNS:
        assert col in rows[0]
    assert {r["interaction"] for r in rows} == {"gaussian", "gaussian_width"}
    for r in rows:
        assert all(math.isfinite(float(r[c])) for c in INSET_COLUMNS[1:]), r
    t = [float(r["t"]) for r in rows if r["interaction"] == "gaussian"]
    assert t == list(range(7))


# --------------------------------------------------------------------------- synthetic
def test_inset_line_recovers_a_straight_line():
    t = np.arange(0, 21, dtype=float)
    d = {"t": t, "p1_sq": 0.3 + 0.087 * t, "fit_lo": 4.0, "fit_hi": 20.0}
    line = fig1.inset_line(d)
    assert line.slope == pytest.approx(0.087, rel=1e-12)
    assert line.intercept == pytest.approx(0.3, rel=1e-12)
    assert line.n == 17


def test_two_sigma_rule():
    assert fig1.within_sigma(0.0949, 0.087, 0.004)         # just inside 2 sigma
    assert not fig1.within_sigma(0.0951, 0.087, 0.004)
    assert not fig1.within_sigma(math.nan, 0.087, 0.004)
    # Dc within 2 sigma
    assert fig1.value_verdict(0.087, 0.090, 0.002, 0.2, 0.2, 0.001) == "agrees"
    # Dc off by 5 sigma, the late slope within 2 sigma
    assert fig1.value_verdict(0.087, 0.077, 0.002, 0.086, 0.05, 0.001) == "partly"
    # Dc off, fitted slope within 2 * max(Dc_err, slope_fit_err) = 2 * 0.003
    assert fig1.value_verdict(0.087, 0.077, 0.002, 0.05, 0.092, 0.003) == "partly"
    assert fig1.value_verdict(0.087, 0.040, 0.002, 0.05, 0.06, 0.001) == "differs"


def test_falls_towards_rule():
    # falls by 0.05 against 2 * hypot(0.01, 0.01) = 0.028, and ends closer to Dc0 = 0.08
    c = fig1.falls_towards(0.15, 0.01, 0.10, 0.01, 0.08)
    assert c["falls"] and c["towards"]
    assert c["drop"] == pytest.approx(0.05)
    assert c["combined_sigma"] == pytest.approx(math.sqrt(2) * 0.01)
    # a drop of 0.02 is within 2 combined sigma: does not fall, though it moves towards Dc0
    c2 = fig1.falls_towards(0.12, 0.01, 0.10, 0.01, 0.08)
    assert not c2["falls"] and c2["towards"]
    # rises away from Dc0
    c3 = fig1.falls_towards(0.10, 0.001, 0.15, 0.001, 0.08)
    assert not c3["falls"] and not c3["towards"]
    assert fig1.fall_verdict([c, c]) == "agrees"
    assert fig1.fall_verdict([c, c2]) == "partly"
    assert fig1.fall_verdict([c3]) == "differs"
    assert fig1.fall_verdict([]) == "not compared"


def test_flatness_rule():
    # identical values: chi^2 = 0, p = 1
    f = fig1.flatness([0.1, 0.1, 0.1], [0.01, 0.01, 0.01])
    assert f["chi2"] == pytest.approx(0.0) and f["p_value"] == pytest.approx(1.0) and f["dof"] == 2
    assert fig1.flat_verdict(f) == "agrees"
    # two points 0.1 and 0.12 with errors 0.001: mean 0.11, chi^2 = 2 * 10^2 = 200
    f2 = fig1.flatness([0.10, 0.12], [0.001, 0.001])
    assert f2["mean"] == pytest.approx(0.11)
    assert f2["chi2"] == pytest.approx(200.0)
    assert f2["rel_spread"] == pytest.approx(0.02 / 0.11)
    assert fig1.flat_verdict(f2) == "differs"
    f3 = fig1.flatness([0.100, 0.105], [0.0005, 0.0005])   # resolved, but a 5 % spread
    assert f3["p_value"] < 0.05 and fig1.flat_verdict(f3) == "partly"


def test_best_profile():
    # verdicts of comparisons [1, 2, 3]; the same on 2, then more agrees among 1 and 3
    best, score = fig1.best_profile({"gaussian": ["agrees", "agrees", "partly"],
                                     "gaussian_width": ["differs", "agrees", "partly"]})
    assert best == "gaussian" and score["gaussian"] == (3, 1, 1) and score["gaussian_width"] == (3, 0, 1)
    # the same on 2 and the same agrees: partly among 1 and 3 breaks the tie
    best, _ = fig1.best_profile({"gaussian": ["agrees", "partly", "differs"],
                                 "gaussian_width": ["agrees", "partly", "partly"]})
    assert best == "gaussian_width"
    best, _ = fig1.best_profile({"gaussian": ["agrees", "differs", "not compared"],
                                 "gaussian_width": ["agrees", "differs", "not compared"]})
    assert best is None
    best, _ = fig1.best_profile({"gaussian": ["not compared"] * 3, "gaussian_width": ["not compared"] * 3})
    assert best is None


def test_the_main_statement_is_weighed_first():
    # A fails the paper's main statement (2) but agrees on 1 and 3; B partly agrees on 2 and
    # differs on 3: B ranks first, whatever A's count among 1 and 3
    verdicts = {"A": ["agrees", "differs", "agrees"], "B": ["not compared", "partly", "differs"]}
    best, score = fig1.best_profile(verdicts)
    assert best == "B" and score["B"] > score["A"]
    assert fig1.top_profiles(verdicts) == ["B"]
    assert fig1.profiles_verdict(verdicts) == "partly"     # B's agreement: partly and differs
    # a profile that differs on 2 is never better than one that agrees on it
    assert fig1.best_profile({"A": ["agrees", "differs", "agrees"],
                              "B": ["differs", "agrees", "differs"]})[0] == "B"
    # agrees > partly > differs > not compared on 2
    for hi, lo in (("agrees", "partly"), ("partly", "differs"), ("differs", "not compared")):
        assert fig1.best_profile({"lo": ["agrees", lo, "agrees"], "hi": ["differs", hi, "differs"]})[0] == "hi"


def test_a_tie_names_both_and_no_winner():
    verdicts = {"gaussian": ["agrees", "partly", "differs"], "gaussian_width": ["differs", "partly", "agrees"]}
    assert fig1.best_profile(verdicts)[0] is None
    assert fig1.top_profiles(verdicts) == ["gaussian", "gaussian_width"]
    assert fig1.profiles_verdict(verdicts) == "partly"
    from types import SimpleNamespace

    c = fig1._compare_profiles(verdicts, SimpleNamespace(t_f=50, n_traj=100))
    assert "better: neither (tie: gaussian, gaussian_width)" in c["project"] and c["verdict"] == "partly"
    assert c["cause"]
    # the same rank, different agreement (a differs against a not compared): the lesser one
    assert fig1.profiles_verdict({"a": ["agrees", "agrees", "differs"],
                                  "b": ["agrees", "agrees", "not compared"]}) == "partly"
    assert fig1.profiles_verdict({"a": ["not compared"] * 3}) == "not compared"
    # a profile without any compared statement is not in the running
    assert fig1.top_profiles({"a": ["not compared"] * 3, "b": ["differs", "not compared", "differs"]}) == ["b"]


# --------------------------------------------------------------------------- synthetic results
def _fake_result(path, D: float, n_kicks: int = 50, trajectories: int = 10000, rel_err: float = 0.02) -> str:
    """A complete classical result whose <p1^2>(t) = D t exactly, Dc_err = rel_err * D."""
    import json

    import h5py

    from kickedpair.analysis import diffusion_estimates

    t = np.arange(n_kicks + 1, dtype=float)
    p1_sq, sem = D * t, rel_err * D * t
    est = diffusion_estimates(t, p1_sq, sem, (0.2, 1.0))
    cfg = {"physics": {"K1": 1.8, "K2": 0.0, "lam": 10.0, "L": math.pi},
           "classical": {"n_kicks": n_kicks, "n_trajectories": trajectories}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs.update(complete=True, Dc=est["D"], Dc_err=est["D_err"], steps_per_kick=100,
                       n_ranks=1, wall_time_s=1.0)
        s = f.create_group("series")
        for k, v in {"t": t, "p1_sq": p1_sq, "p1_sq_sem": sem, "p2_sq": p1_sq, "p2_sq_sem": sem}.items():
            s.create_dataset(k, data=v)
        f.create_group("estimates").attrs.update(est)
        f.create_group("params").attrs["config_json"] = json.dumps(cfg)
    return str(path)


def test_comparisons_on_synthetic_results(tmp_path):
    """Known Dc per run: the paper's value at m = 1e-3, eps = 2 for one profile and not the other;
    a fall towards Dc0 for one profile, a rise for the other; a flat eps = 0.1 curve."""
    from kickedpair.reproduce.figure import make_figure

    D0, masses = 0.08, [1e-3, 1e-1, 1.0]

    def Dc(profile: str, eps: float, m: float) -> float:
        if eps == 0.1:
            return D0
        if profile == "gaussian":      # falls from 0.15 at m = 1 to the paper's 0.087 at m = 1e-3
            return {1e-3: 0.087, 1e-1: 0.12, 1.0: 0.15}[m] * (1 if eps == 2.0 else 1.1)
        return {1e-3: 0.20, 1e-1: 0.15, 1.0: 0.10}[m]     # rises as m falls

    runs = []
    for p in ("gaussian", "gaussian_width"):
        for eps in (0.1, 2.0, 4.0):
            for m in masses:
                name = f"interaction={p},eps={eps:g},m={m:g}"
                runs.append({"engine": "classical", "name": name,
                             "role": {"interaction": p, "eps": eps, "mass_ratio": m},
                             "result": _fake_result(tmp_path / name / "result.h5", Dc(p, eps, m))})
    runs.append({"engine": "classical", "name": "eps=0", "role": {"interaction": None, "eps": 0.0, "mass_ratio": None},
                 "result": _fake_result(tmp_path / "eps=0" / "result.h5", D0)})
    plan = {"figure": "fig1", "variant": {"inset_mass_ratio": 1e-3, "inset_eps": 2.0}, "runs": runs, "extra_runs": []}
    summary = make_figure("fig1", plan, tmp_path / "out")
    v = {c["quantity"]: c["verdict"] for c in summary["comparisons"]}
    assert v["Dc at m = 1e-3, eps = 2 (gaussian)"] == "agrees"
    assert v["Dc at m = 1e-3, eps = 2 (gaussian_width)"] == "differs"
    assert v["Dc falls with m towards the eps = 0 value, eps = 2, 4 (gaussian)"] == "agrees"
    assert v["Dc falls with m towards the eps = 0 value, eps = 2, 4 (gaussian_width)"] == "differs"
    assert v["little m dependence of Dc at eps = 0.1 (gaussian)"] == "agrees"
    assert v["little m dependence of Dc at eps = 0.1 (gaussian_width)"] == "agrees"
    best = summary["comparisons"][-1]
    assert best["verdict"] == "agrees" and "better: gaussian;" in best["project"]
    assert "gaussian: 2 agrees, 1 agrees, 3 agrees" in best["project"]
    assert "ranked by the verdict of 2 (the main statement)" in best["project"]
    rows = read_table(tmp_path / "out" / "fig1.csv")
    g = [r for r in rows if r["interaction"] == "gaussian" and float(r["eps"]) == 2.0 and float(r["mass_ratio"]) == 1e-3]
    assert float(g[0]["Dc"]) == pytest.approx(0.087, rel=1e-5)
    assert float(g[0]["slope_fit"]) == pytest.approx(0.087, rel=1e-5)
    inset = [r for r in read_table(tmp_path / "out" / "fig1_inset.csv") if r["interaction"] == "gaussian"]
    assert all(float(r["fit"]) == pytest.approx(0.087 * float(r["t"]), abs=1e-9) for r in inset)


def test_overall_verdict():
    assert fig1.overall_verdict(["agrees", "not compared", "agrees"]) == "agrees"
    assert fig1.overall_verdict(["agrees", "differs"]) == "partly"
    assert fig1.overall_verdict(["partly"]) == "partly"
    assert fig1.overall_verdict(["differs", "differs", "not compared"]) == "differs"
