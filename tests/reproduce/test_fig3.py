"""Fig. 3: the distribution distances and comparison checks on synthetic data; the figure from
tiny real runs (which include Fig. 2's two-particle runs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.reproduce import fig3
from kickedpair.reproduce.common import check_summary, read_table
from kickedpair.reproduce.fits import (common_modes, fit_distribution, hellinger_distance,
                                       kolmogorov_distance)

P_N = 0.01 * np.arange(1, 20001)


def normalised(P):
    return P / P.sum()


# --------------------------------------------------------------------------- synthetic
def test_distances_limits():
    P = normalised(np.exp(-P_N / 1.0))
    assert kolmogorov_distance(P, P) == pytest.approx(0.0, abs=1e-12)
    assert hellinger_distance(P, P) == pytest.approx(0.0, abs=1e-7)
    A, B = np.zeros(10), np.zeros(10)
    A[:5], B[5:] = 0.2, 0.2
    assert hellinger_distance(A, B) == pytest.approx(1.0)
    assert kolmogorov_distance(A, B) == pytest.approx(1.0)


def test_kolmogorov_of_two_exponentials():
    r = 1.5
    P, Q = normalised(np.exp(-P_N / 1.0)), normalised(np.exp(-P_N / r))
    assert kolmogorov_distance(P, Q) == pytest.approx(r ** (-1 / (r - 1)) * (1 - 1 / r), abs=2e-3)
    # exponentials with rates a, b: Bhattacharyya coefficient 2 sqrt(ab) / (a + b)
    a, b = 1.0, 1 / r
    assert hellinger_distance(P, Q) == pytest.approx(math.sqrt(1 - 2 * math.sqrt(a * b) / (a + b)), abs=2e-3)


def test_common_modes_truncates_and_renormalises():
    P, Q = common_modes(np.array([0.5, 0.3, 0.2]), np.array([0.25, 0.25]))
    assert P.tolist() == pytest.approx([0.625, 0.375]) and Q.tolist() == pytest.approx([0.5, 0.5])


def test_resemble_checks_and_width_ratio():
    fa = fit_distribution(P_N, np.exp(-P_N / 2.0))
    fb = fit_distribution(P_N, np.exp(-P_N / 1.6))
    assert fig3.width_ratio(fa, fb) == pytest.approx(2.0 / 1.6, rel=1e-9)
    row = {"kolmogorov": 0.05, "better_random_kick": fa.better, "better_two_particle": fb.better,
           "width_ratio": fig3.width_ratio(fa, fb)}
    assert fig3.resemble_checks(row) == [True, True, True]
    fg = fit_distribution(P_N, np.exp(-P_N**2 / 9.0))
    row.update(better_two_particle=fg.better, width_ratio=fig3.width_ratio(fa, fg), kolmogorov=0.3)
    assert fig3.resemble_checks(row) == [False, False, fig3.within_factor(row["width_ratio"])]
    assert not fig3.within_factor(2.0) and fig3.within_factor(1 / 1.4) and not fig3.within_factor(float("nan"))


# --------------------------------------------------------------------------- the figure, tiny runs
COLUMNS = {
    "fig3_energy.csv": ["curve", "hbar", "W", "t", "E", "E_err"],
    "fig3_distributions.csv": ["model", "hbar", "W", "t", "p", "P"],
    "fig3_compare.csv": ["hbar", "W", "p_sq_random_kick", "p_sq_two_particle", "xi_random_kick",
                         "xi_two_particle", "zeta_random_kick", "zeta_two_particle", "better_random_kick",
                         "better_two_particle", "width_ratio", "kolmogorov", "hellinger"],
}
NUMERIC = {
    "fig3_energy.csv": ["W", "t", "E", "E_err"],
    "fig3_distributions.csv": ["hbar", "t", "p", "P"],
    "fig3_compare.csv": ["hbar", "W", "t_random_kick", "t_two_particle", "p_sq_random_kick", "p_sq_two_particle",
                         "t_common", "p_sq_random_kick_common", "p_sq_two_particle_common", "p_sq_ratio_common",
                         "xi_random_kick", "xi_two_particle", "zeta_random_kick", "zeta_two_particle",
                         "kurtosis_random_kick", "kurtosis_two_particle", "width_ratio", "kolmogorov",
                         "hellinger"],
}


@pytest.fixture(scope="module")
def built(tiny_runs):
    from kickedpair.reproduce.figure import make_figure

    plan, out = tiny_runs("fig3")
    return plan, out, make_figure("fig3", plan, out)


def test_fig3_builds(built):
    plan, out, summary = built
    check_summary(summary, out, "fig3")
    assert (out / "fig3.png").stat().st_size > 10_000
    assert summary["tables"] == list(fig3.TABLES)
    assert len(summary["resolution"]) == len(plan["runs"]) + len(plan["extra_runs"])
    assert len(summary["convergence"]) == sum(1 for r in plan["runs"] + plan["extra_runs"] if r.get("convergence"))
    assert len(summary["comparisons"]) == 3
    assert summary["parameters"]["compare_hbar"] == plan["variant"]["compare_hbar"]
    assert any("negligible" in n for n in summary["notes"])


def test_fig3_tables(built):
    plan, out, _ = built
    for name, cols in COLUMNS.items():
        rows = read_table(out / name)
        assert rows, name
        assert set(cols) <= set(rows[0]), (name, rows[0].keys())
        for r in rows:
            for c in NUMERIC[name]:
                assert math.isfinite(float(r[c])), (name, c, r)
    energy = read_table(out / "fig3_energy.csv")
    for r in energy:
        assert (r["hbar"] == "") == (r["curve"] == "classical")
    n_noise = sum(1 for r in plan["runs"] if r["engine"] == "noise")
    assert len({(r["hbar"], r["W"]) for r in energy if r["curve"] == "random-kick"}) == n_noise
    dists = read_table(out / "fig3_distributions.csv")
    for r in dists:
        assert (r["W"] == "") == (r["model"] == "two-particle")
    compare = read_table(out / "fig3_compare.csv")
    assert [float(r["hbar"]) for r in compare] == sorted(plan["variant"]["compare_hbar"])
    for r in compare:
        assert 0.0 <= float(r["kolmogorov"]) <= 1.0 and 0.0 <= float(r["hellinger"]) <= 1.0
        assert r["better_random_kick"] in ("gaussian", "exponential")


def test_noise_and_hbar_checks():
    nan = float("nan")
    # W ascending: E(t_f) increasing, W = 0 stopped growing, the largest W diffusing
    assert fig3.noise_checks([0.0, 0.005, 0.01], [0.2, 0.5, 0.9], [0.1, 0.4, 0.8]) == [True, True, True]
    assert fig3.noise_checks([0.0, 0.01], [0.5, 0.4], [0.3, 0.4]) == [False, False, False]
    assert fig3.noise_checks([0.005], [0.5], [nan]) == [None, None, None]   # one W, no W = 0, growth nan
    # hbar ascending: ratio_f decreasing, near 1 at the smallest hbar
    assert fig3.hbar_checks([1.1, 0.7, 0.3]) == [True, True]
    assert fig3.hbar_checks([0.5, 0.7]) == [False, False]
    assert fig3.hbar_checks([nan]) == [None, None]
