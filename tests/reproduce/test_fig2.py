"""Fig. 2: the momentum-distribution fits and the verdict rules on synthetic data; the figure
from tiny real runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.reproduce import fig2, figkit
from kickedpair.reproduce.common import check_summary, read_table
from kickedpair.reproduce.fits import FIT_FLOOR, fit_distribution, fit_region, kurtosis, mirror


# --------------------------------------------------------------------------- fits, synthetic
P_N = 0.02 * np.arange(1, 4001)          # p_n = hbar n pi / L with hbar = 0.02, L = pi


def test_exact_exponential_gives_xi_and_prefers_exponential():
    xi, a = 1.7, -2.3
    fit = fit_distribution(P_N, np.exp(a - P_N / xi))
    e = fit.exponential
    assert e.width == pytest.approx(xi, rel=1e-10)
    assert e.a == pytest.approx(a, rel=1e-10)
    assert e.rms < 1e-10 and e.width_err < 1e-9
    assert fit.better == "exponential"
    assert fit.gaussian.rms > 0.1
    # fitted down to the floor: ln(1/floor) = (p_hi - p_lo)/xi
    assert fit.p_hi - fit.p_lo == pytest.approx(xi * math.log(1 / FIT_FLOOR), abs=0.02)


def test_exact_gaussian_gives_zeta_and_prefers_gaussian():
    zeta, a = 40.0, 0.5
    fit = fit_distribution(P_N, np.exp(a - P_N**2 / zeta))
    g = fit.gaussian
    assert g.width == pytest.approx(zeta, rel=1e-10)
    assert g.a == pytest.approx(a, rel=1e-10)
    assert g.rms < 1e-10
    assert fit.better == "gaussian"
    assert fit.exponential.rms > 0.1


def test_fit_region_floor_skip_and_zeros():
    P = np.exp(-P_N / 0.5)
    P[10] = 0.0                                   # no logarithm: left out, the region stays contiguous
    mask = fit_region(P, floor=1e-4, skip_modes=3)
    idx = np.flatnonzero(mask)
    assert idx[0] == 3 and 10 not in idx
    assert P[idx[-1]] >= 1e-4 * P.max() > P[idx[-1] + 1]
    fit = fit_distribution(P_N, P, floor=1e-4, skip_modes=3)
    assert fit.exponential.width == pytest.approx(0.5, rel=1e-10)
    assert fit.exponential.n == len(idx)


def test_kurtosis_and_mirror():
    assert kurtosis(P_N, np.exp(-P_N / 1.0)) == pytest.approx(6.0, rel=0.01)
    assert kurtosis(P_N, np.exp(-P_N**2 / 4.0)) == pytest.approx(3.0, rel=0.01)
    p, P = mirror(np.array([1.0, 2.0]), np.array([0.6, 0.4]))
    assert p.tolist() == [-2.0, -1.0, 1.0, 2.0] and P.tolist() == [0.2, 0.3, 0.3, 0.2]


# --------------------------------------------------------------------------- verdicts, synthetic
def test_against_classical_linear_and_saturating():
    t = np.arange(0.0, 301.0)
    Ec = 0.05 * t
    same = figkit.against_classical(t, Ec, t, Ec)
    assert same["ratio_f"] == pytest.approx(1.0) and same["ratio_late"] == pytest.approx(1.0)
    assert same["growth"] == pytest.approx(1.0)
    assert fig2.follows_verdict(same["ratio_f"], same["ratio_late"]) == "agrees"
    sat = figkit.against_classical(t, 2.0 * (1 - np.exp(-t / 20.0)), t, Ec)
    assert sat["ratio_f"] == pytest.approx(2.0 / 15.0, rel=1e-6)
    assert abs(sat["growth"]) < 1e-3
    assert fig2.localised_verdict(sat["ratio_f"], sat["growth"]) == "agrees"
    assert fig2.follows_verdict(sat["ratio_f"], sat["ratio_late"]) == "differs"
    assert fig2.localised_verdict(1.0, 0.1) == "partly"
    assert fig2.localised_verdict(1.0, 1.0) == "differs"
    assert fig2.follows_verdict(1.3, 0.7) == "partly"


def test_inversions_and_verdict_of():
    assert figkit.count_inversions([5.0, 4.0, 3.0]) == 0
    assert figkit.count_inversions([5.0, 6.0, 3.0]) == 1
    assert figkit.count_inversions([1.0, 2.0], decreasing=False) == 0
    assert figkit.verdict_of([True, None]) == "agrees"
    assert figkit.verdict_of([True, False]) == "partly"
    assert figkit.verdict_of([False]) == "differs"
    assert figkit.verdict_of([None]) == "not compared"


# --------------------------------------------------------------------------- the figure, tiny runs
COLUMNS = {
    "fig2_energy.csv": ["curve", "hbar", "eps", "t", "E1", "E1_err"],
    "fig2_distributions.csv": ["hbar", "p", "P"],
    "fig2_fits.csv": ["hbar", "form", "a", "a_err", "width", "width_err", "rms", "better"],
}
NUMERIC = {
    "fig2_energy.csv": ["eps", "t", "E1", "E1_err"],
    "fig2_distributions.csv": ["hbar", "t", "p", "P"],
    "fig2_fits.csv": ["hbar", "a", "a_err", "width", "width_err", "rms", "kurtosis"],
}


@pytest.fixture(scope="module")
def built(tiny_runs):
    from kickedpair.reproduce.figure import make_figure

    plan, out = tiny_runs("fig2")
    return plan, out, make_figure("fig2", plan, out)


def test_fig2_builds(built):
    plan, out, summary = built
    check_summary(summary, out, "fig2")
    assert (out / "fig2.png").stat().st_size > 10_000
    assert (out / "fig2.json").is_file()
    assert summary["tables"] == list(fig2.TABLES)
    assert len(summary["resolution"]) == len(plan["runs"])
    assert len(summary["convergence"]) == sum(1 for r in plan["runs"] if r.get("convergence"))
    assert len(summary["comparisons"]) == 5
    assert summary["parameters"]["hbar"] == [0.1, 0.2]


def test_fig2_tables(built):
    plan, out, _ = built
    for name, cols in COLUMNS.items():
        rows = read_table(out / name)
        assert rows, name
        assert set(cols) <= set(rows[0]), (name, rows[0].keys())
        for r in rows:
            for c in NUMERIC[name]:
                assert math.isfinite(float(r[c])), (name, c, r)
    energy = read_table(out / "fig2_energy.csv")
    for r in energy:   # only the classical curve has no hbar
        assert (r["hbar"] == "") == (r["curve"] == "classical")
        if r["hbar"]:
            assert math.isfinite(float(r["hbar"]))
    assert {r["curve"] for r in energy} == {"classical", "quantum", "unperturbed"}
    # two classical lines: the variant's coupling and eps = 0 (that of the unperturbed run)
    classical_eps = [float(r["eps"]) for r in energy if r["curve"] == "classical"]
    assert set(classical_eps) == {float(plan["variant"]["eps"]), 0.0}
    assert classical_eps.count(0.0) == len(classical_eps) // 2 == plan["variant"]["n_kicks"] + 1
    fits = read_table(out / "fig2_fits.csv")
    assert {(float(r["hbar"]), r["form"]) for r in fits} == {(h, f) for h in plan["variant"]["distribution_hbar"]
                                                             for f in ("gaussian", "exponential")}
    assert all(r["better"] in ("gaussian", "exponential") for r in fits)
    for h in plan["variant"]["distribution_hbar"]:
        P = [float(r["P"]) for r in read_table(out / "fig2_distributions.csv") if float(r["hbar"]) == h]
        # the table holds 6 significant digits: each value is rounded by up to 5e-6 of itself
        assert sum(P) == pytest.approx(1.0, abs=5e-6)


def test_the_plan_has_a_classical_line_per_coupling(built):
    plan, _, _ = built
    classical = {r["name"]: r for r in plan["runs"] if r["engine"] == "classical"}
    assert set(classical) == {"classical", "eps=0"}
    assert len({r["result"] for r in classical.values()}) == 2        # two run folders
    eps = float(plan["variant"]["eps"])
    assert eps != 0.0 and classical["classical"]["role"]["eps"] == eps
    assert classical["eps=0"]["role"] == {"eps": 0.0, "mass_ratio": float(plan["variant"]["mass_ratio"])}
    assert classical["eps=0"]["config"]["physics"]["eps"] == 0.0


def test_the_unperturbed_run_is_compared_with_the_eps0_classical_line(built):
    """The eps = 0 quantum run against the eps = 0 ensemble; the interacting runs against the
    ensemble of the variant's eps."""
    plan, _, summary = built
    d = fig2.load(plan)
    m = fig2.measure(d)
    assert d.classical_run["name"] == "classical" and d.zero_classical_run["name"] == "eps=0"
    t0, E0, _ = d.zero
    ures = d.ures.series
    assert m.unperturbed["ratio_f"] == pytest.approx(float(ures["E1"][-1]) / float(E0[-1]), rel=1e-12)
    assert not np.allclose(E0, d.Ec)                    # the two classical lines differ
    smallest = d.quantum_runs[0]
    E1 = d.qres[smallest["name"]].series["E1"]
    assert m.against[smallest["name"]]["ratio_f"] == pytest.approx(float(E1[-1]) / float(d.Ec[-1]), rel=1e-12)
    c = next(c for c in summary["comparisons"] if c["quantity"].startswith("unperturbed eps = 0"))
    assert "against the eps = 0 classical line" in c["project"]
    assert f"ratio_f = {figkit.num(m.unperturbed['ratio_f'])}" in c["project"]


def test_without_an_eps0_classical_run_the_unperturbed_run_is_not_compared(built):
    plan, _, _ = built
    runs = [r for r in plan["runs"] if r["name"] != "eps=0" or r["engine"] != "classical"]
    d = fig2.load({**plan, "runs": runs})
    assert d.zero is None
    c = fig2._compare_unperturbed(d, fig2.measure(d), "")
    assert c["verdict"] == "not compared" and c["project"] == "no eps = 0 classical run"


def test_ordering_and_distribution_verdicts():
    assert fig2.ordering_verdict(0, 2) == "agrees"
    assert fig2.ordering_verdict(1, 1) == "partly"          # one pair inverted at t_f
    assert fig2.ordering_verdict(2, 0) == "partly"          # the late-half means are ordered
    assert fig2.ordering_verdict(2, 1) == "differs"
    assert fig2.distribution_verdict(["gaussian", "exponential"]) == "agrees"
    assert fig2.distribution_verdict(["gaussian", "gaussian", "gaussian"]) == "partly"
    assert fig2.distribution_verdict(["exponential", "gaussian"]) == "differs"
    assert fig2.distribution_verdict(["gaussian"]) == "not compared"
