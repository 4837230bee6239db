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
    assert rows and all(r["end"].startswith("t = 8..") for r in rows)  # the tiny runs end at t = 8
    for r in rows:
        exact = "(free)" in r["base"]  # the eps = 0 run: exact in time, no half_step
        for key in ("end_half_step_p1_sq", "end_double_grid_p1_sq", "end_double_grid_purity_abs",
                    "start_half_step_purity_abs"):
            assert math.isfinite(float(r[key])) != (exact and "half_step" in key), (r["run"], key)
        assert r["verdict"] in ("converged", "not converged")
        assert r["accepted"] == (r["verdict"] == "converged")
        assert (r["tol_p1"], r["tol_purity"]) == (0.01, 1e-3)
    notes = " ".join(summary["notes"])
    assert "converged when every pointwise relative change of <p1^2> is below 0.01" in notes
    assert "over the last kicks, from each run's final state" in notes


def _row(run, accepted, reason=""):
    return {"run": run, "kicks": 3, "end": "t = 8..11", "tol_p1": 0.01, "tol_purity": 0.001,
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
    assert "end_half_step_p1_sq" in text  # the end stretch is in the figure's table


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
