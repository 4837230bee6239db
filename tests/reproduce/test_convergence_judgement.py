"""The figures' judgement of their quantum runs' convergence checks: both stretches shown, a run
accepted only when its verdict is 'converged', an unconverged one flagged, never hidden."""

from __future__ import annotations

import math

import pytest

from kickedpair.reproduce import common, report


@pytest.fixture(scope="module")
def fig2_summary(tiny_runs):
    from kickedpair.reproduce.figure import make_figure

    plan, out = tiny_runs("fig2")
    return plan, make_figure("fig2", plan, out)


def test_tiny_runs_are_checked_at_both_ends_and_judged(fig2_summary):
    plan, summary = fig2_summary
    rows = summary["convergence"]
    # the tiny runs end at t = 8; their checks cover 3 kicks from the start and from the end
    assert rows and all(r["start"] == "t = 0..3" and r["end"] == "t = 8..11" for r in rows)
    for r in rows:
        exact = "(free)" in r["base"]  # the eps = 0 run: exact in time, no half_step
        for key in ("end_half_step_p1_sq", "end_double_grid_p1_sq", "end_double_grid_purity_abs",
                    "start_half_step_purity_abs", "end_half_step_p2_sq", "end_double_grid_purity"):
            assert math.isfinite(float(r[key])) != (exact and "half_step" in key), (r["run"], key)
        assert r["verdict"] in ("converged", "not converged")
        assert r["accepted"] == (r["verdict"] == "converged")
        assert (r["tol_p1"], r["tol_purity"]) == (0.01, 1e-3)
    notes = " ".join(summary["notes"])
    assert "converged when every pointwise relative change of <p1^2> is below 0.01" in notes
    assert "convergence verdict (start and end stretch, start t = 0..3, end t = 8..11;" in notes
    assert "convergence over the start stretch (t = 0..3), largest relative change" in notes
    assert "over the end stretch (t = 8..11), from each run's final state" in notes
    # the report's table: one line per run and stretch, each naming its kicks
    text = report.md_table([x for r in rows for x in common.convergence_stretches(r)])
    assert text.count("| t = 0..3 |") == text.count("| t = 8..11 |") == len(rows)


def _row(run, accepted, reason=""):
    return {"run": run, "kicks": 3, "start": "t = 0..3", "end": "t = 8..11", "tol_p1": 0.01, "tol_purity": 0.001,
            "end_half_step_p1_sq": 0.05 if not accepted else 1e-4, "accepted": accepted,
            "verdict": "converged" if accepted else "not converged", "verdict_reason": reason}


def test_an_unconverged_run_is_flagged_in_notes_comparisons_and_report():
    rows = [_row("good", True), _row("bad", False, "end half_step: <p1^2> 5.00e-02 > 0.01")]
    notes = common.convergence_notes(rows)
    assert "1 of 2 checked runs accepted" in notes[0]
    assert any(n.startswith("NOT ACCEPTED: run bad: not converged (end half_step") for n in notes)
    assert not any("run good" in n for n in notes)
    comparisons = [{"quantity": "q", "paper": "p", "project": "x", "verdict": "agrees", "cause": ""}]
    common.flag_unaccepted(comparisons, rows)
    assert comparisons[0]["cause"] == "resolution: run bad not converged (convergence table)"
    common.flag_unaccepted(comparisons, [_row("good", True)])  # nothing to flag: unchanged
    assert comparisons[0]["cause"] == "resolution: run bad not converged (convergence table)"

    summary = {"title": "Fig. 2: t", "parameters": {}, "resolution": [], "convergence": rows,
               "comparisons": comparisons, "notes": notes, "tables": [], "image": "fig2.png"}
    empty = {**summary, "convergence": [], "comparisons": [], "notes": []}
    summaries = {f: (summary if f == "fig2" else empty) for f in report.FIGURES}
    text = report.render(summaries, {}, "tiny", {})
    assert "## Convergence of the quantum runs" in text
    assert "below 0.01 and every absolute change of the purity below 0.001" in text
    assert "1 of 2 accepted" in text and "**fig2, run bad: NOT ACCEPTED** (not converged: end half_step" in text
    # the figure's table: a line per stretch, its kicks in the line, the end stretch's numbers on its own
    assert "| run | kicks | base | half_step p1_sq |" in text
    assert "| bad | t = 8..11 |  | 0.05 |" in text and "| good | t = 0..3 |" in text
    assert "the kicks each stretch covers: fig2: start t = 0..3, end t = 8..11." in text


def test_each_line_of_the_table_names_its_kicks():
    nan = float("nan")
    row = {"run": "hbar=0.1", "kicks": 10, "start": "t = 0..10", "end": "t = 60..70", "base": "63 x 15",
           "half_step_p1_sq": 1e-5, "half_step_p2_sq": 2e-5, "half_step_purity": 3e-5,
           "start_half_step_purity_abs": 4e-6, "double_grid_p1_sq": 1e-7, "start_double_grid_purity_abs": 5e-8,
           "end_half_step_p1_sq": 0.02, "end_half_step_purity_abs": 6e-4, "end_double_grid_p1_sq": 7e-6,
           "end_half_step_p2_sq": 0.03, "verdict": "not converged", "accepted": False}
    start, end = common.convergence_stretches(row)
    assert start["kicks"] == "t = 0..10" and end["kicks"] == "t = 60..70"
    assert start["half_step p1_sq"] == 1e-5 and start["half_step purity_abs"] == 4e-6
    assert start["double_grid purity_abs"] == 5e-8 and math.isnan(start["double_grid p2_sq"])
    assert end["half_step p1_sq"] == 0.02 and end["half_step p2_sq"] == 0.03
    assert end["half_step purity_abs"] == 6e-4 and math.isnan(end["half_step purity"])
    assert start["base"] == "63 x 15" and end["base"] == ""
    assert start["verdict"] == end["verdict"] == "not converged"
    assert list(start) == list(end)
    # without an end stretch (or a random-kick grid check): the start line only
    only = common.convergence_stretches({**row, "end": "not checked"})
    assert [x["kicks"] for x in only] == ["t = 0..10"]
    assert [x["kicks"] for x in common.convergence_stretches({"run": "r", "kicks": 500})] == ["t = 0..500"]
    assert common.stretch_spans([row, {**row, "end": "t = 80..90"}]) == "start t = 0..10, end t = 60..70 / t = 80..90"
    assert common.stretch_spans([{"run": "r", "kicks": 5, "end": "not checked"}]) == "start t = 0..5"


def test_a_check_without_the_end_stretch_is_not_accepted(tmp_path):
    import h5py

    path = tmp_path / "conv.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"complete": True, "n_kicks": 3, "base_N1": 63, "base_N2": 15, "base_substeps": 20,
                        "base_scheme": "light_exact", "stretches": "start", "verdict": "converged",
                        "verdict_reason": "", "tol_p1": 0.01, "tol_purity": 0.001,
                        "half_step_p1_sq": 1e-5, "half_step_p2_sq": 1e-5, "half_step_purity": 1e-5})
    row = common.convergence_row({"name": "r", "convergence": str(path)})
    assert row["end"] == "not checked" and not row["accepted"]
    assert row["verdict"] == "converged (start only)" and "not checked" in row["verdict_reason"]
    assert row["start"] == "t = 0..3"
    # a start stretch that covers the whole run needs no end stretch
    with h5py.File(path, "a") as f:
        f.attrs["whole_run"] = True
    row = common.convergence_row({"name": "r", "convergence": str(path)})
    assert row["accepted"] and row["verdict"] == "converged" and row["end"].startswith("not needed")
    assert [x["kicks"] for x in common.convergence_stretches(row)] == ["t = 0..3"]
