"""The refinement logic of the adaptive sweep on synthetic eta(hbar) curves with known crossings:
it brackets every crossing to the requested width, flags what cannot be bracketed or split by the
errors, and never reports a threshold outside the cells it has."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kickedpair.sweep import refine
from kickedpair.sweep.aggregate import crossing
from kickedpair.sweep.plan import fmt

S = refine.RefineSettings(levels=(0.9, 0.1), rel_width=0.05, hbar_min=0.001, hbar_max=0.5)
START = [0.01, 0.04, 0.16]


def exact(f):
    return lambda h: (f(h), 0.0)


def exponential(alpha):
    return lambda h: math.exp(-alpha * h)


def check_brackets(grid, states, f):
    """Every resolved threshold is bracketed by two cells within the width, around the true crossing."""
    for t in states:
        if t.state == "resolved":
            assert t.lo <= t.value <= t.hi
            assert refine.relative_width(t.lo, t.hi) <= S.rel_width or fmt(t.lo) == fmt(t.hi)
            assert t.lo in grid and t.hi in grid
            assert f(t.lo) > t.level >= f(t.hi) or (f(t.lo) >= t.level >= f(t.hi))


@pytest.mark.parametrize("alpha", [8.0, 20.0, 60.0])
def test_exponential_crossings_are_bracketed_to_the_width(alpha):
    f = exponential(alpha)
    grid, states, rounds = refine.refine_curve(exact(f), START, S)
    assert [t.state for t in states] == ["resolved", "resolved"]
    check_brackets(grid, states, f)
    for t in states:
        true = -math.log(t.level) / alpha
        assert t.lo <= true <= t.hi
        # log-linear interpolation is exact for an exponential
        assert t.value == pytest.approx(true, rel=1e-9)
    # far fewer cells than a log grid as fine as the width over the same range
    rectangular = math.ceil(math.log(S.hbar_max / S.hbar_min) / math.log(1 + S.rel_width)) + 1
    assert len(grid) < rectangular / 3, (len(grid), rectangular)
    assert rounds >= 2


def test_a_plateau_above_the_level_is_flagged_at_the_range_end_never_extrapolated():
    f = lambda h: max(math.exp(-30 * h), 0.12)  # noqa: E731 -- eta settles at 0.12, never 0.1
    grid, states, _ = refine.refine_curve(exact(f), START, S)
    c, dl = states
    assert c.state == "resolved"
    assert dl.state == "above_range" and math.isnan(dl.value)
    assert max(grid) == S.hbar_max  # the grid was extended to the end of the range, not beyond


def test_a_curve_that_never_crosses_extends_both_ways_and_stops():
    grid, states, _ = refine.refine_curve(exact(lambda h: 1.0), START, S)
    assert [t.state for t in states] == ["above_range", "above_range"]
    assert max(grid) == S.hbar_max and all(S.hbar_min <= h <= S.hbar_max for h in grid)
    grid, states, _ = refine.refine_curve(exact(lambda h: 0.05), START, S)
    assert [t.state for t in states] == ["below_range", "below_range"]
    assert min(grid) == S.hbar_min


def test_noisy_non_monotone_curve_stops_where_the_errors_cannot_split_the_bracket():
    """eta with 10% noise and 10% errors: every threshold ends resolved or unsplittable, and an
    unsplittable bracket has both its cells within one error of the level."""
    rng = np.random.default_rng(3)
    noise = {}

    def measure(h):
        if h not in noise:
            noise[h] = 1.0 + 0.1 * rng.normal()
        eta = math.exp(-15 * h) * noise[h]
        return eta, 0.1 * eta

    seen = set()
    for _ in range(20):
        noise.clear()
        grid, states, _ = refine.refine_curve(measure, START, S, max_cells=60)
        for t in states:
            assert t.state in ("resolved", "unsplittable", "below_range"), t
            seen.add(t.state)
            if t.state == "below_range":  # the noise put the cell at hbar_min below the level
                assert min(grid) == S.hbar_min and measure(S.hbar_min)[0] <= t.level
            if t.state == "unsplittable":
                for h in (t.lo, t.hi):
                    eta, err = measure(h)
                    assert abs(math.log(eta / t.level)) <= err / eta
        # the crossing reported is the first one of the measured points, inside its bracket
        eta = [measure(h)[0] for h in grid]
        for t in states:
            assert crossing(grid, eta, t.level)[0] == pytest.approx(t.value)
    assert {"resolved", "unsplittable"} <= seen  # both outcomes occur over these seeds


def test_cells_without_a_result_next_to_the_crossing_ask_for_nothing():
    h = [0.01, 0.02, 0.04, 0.08]
    eta = [0.95, math.nan, 0.5, 0.2]
    new, states = refine.propose(h, eta, [0.0] * 4, S)
    assert states[0].state == "not_bracketed" and states[0].proposed is None  # eta_c: wait for hbar = 0.02
    assert states[1].state == "extending" and new == [0.16]  # eta_dl: beyond the grid, unaffected


def test_the_budget_stops_the_rounds():
    grid, states, _ = refine.refine_curve(exact(exponential(20.0)), START, S, max_cells=5)
    assert len(grid) == 5
    assert not refine.done(states)


def test_proposals_are_new_grid_values_at_the_folders_precision():
    one = refine.RefineSettings(levels=(0.9,))
    new, states = refine.propose([0.01, 0.02], [0.95, 0.85], [0.0, 0.0], one)
    assert new == [float(fmt(math.sqrt(0.01 * 0.02)))] == [0.01414] and states[0].state == "refining"
    # two cells adjacent at 4 significant digits: resolved by the grid's precision
    new, states = refine.propose([0.01, 0.01001], [0.95, 0.85], [0.0, 0.0],
                                 refine.RefineSettings(levels=(0.9,), rel_width=1e-6))
    assert new == [] and states[0].state == "resolved"


def test_the_command_line_proposes_the_next_round_of_an_aggregated_sweep(tmp_path):
    """The synthetic sweep of test_aggregate: m = 0.01 with eta = exp(-40 hbar) on hbar = 0.02 ..
    0.16: eta_c lies below the grid (a cell at 0.01 is proposed), eta_DL = 0.0576 is bracketed by
    0.04 and 0.08 (their geometric middle 0.05657 is proposed)."""
    import json
    import subprocess
    import sys

    from test_aggregate import make_sweep

    from kickedpair.sweep import aggregate as agg

    d = make_sweep(tmp_path)
    agg.aggregate_sweep(d)
    proc = subprocess.run([sys.executable, "-m", "kickedpair.sweep.refine", str(d), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["0.01"]["new_hbar"] == [0.01, 0.05657]
    assert [t["state"] for t in out["0.01"]["thresholds"]] == ["extending", "refining"]
    table = subprocess.run([sys.executable, "-m", "kickedpair.sweep.refine", str(d)], capture_output=True,
                           text=True, timeout=120)
    assert ("m=0.01: eta = 0.9: extending; eta = 0.1: refining in [0.04, 0.08]; next cells: 0.01, 0.05657"
            in table.stdout)
    missing = subprocess.run([sys.executable, "-m", "kickedpair.sweep.refine", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "aggregate the sweep first" in missing.stderr
