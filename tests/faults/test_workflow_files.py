"""Damaged result files and the tables built from them.

* A cell result that is truncated, or lacks the root attribute ``complete``, is moved aside to
  ``<name>.incomplete`` when the workflow is parsed (one warning line naming it) and recorded in
  ``logs/set-aside.log``: the next ``snakemake`` run remakes that cell alone (the other cells keep
  their files and mtimes) and the tables come out equal to those of the undisturbed sweep.
* The same for the result of a figure's run (dry run of the tiny figures).
* The tables and the figures are replaced only when all the new ones are written: a failure
  leaves the previous ones as they were, with no temporary left behind.  (Snakemake itself
  removes a job's declared outputs before running it; under Snakemake the parse-time check is
  what keeps an incomplete cell from ever reaching the aggregation.)
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from pathlib import Path

import h5py
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweeplib import ROOT, engine_counts, job_counts, output, snakemake, tiny_config, workflow_copy  # noqa: E402

from kickedpair.io import is_complete  # noqa: E402
from kickedpair.sweep import aggregate as agg  # noqa: E402
from kickedpair.sweep import figures, plan, status  # noqa: E402
from kickedpair.sweep.files import SET_ASIDE_LOG, replaced_together, set_aside_incomplete  # noqa: E402

TABLE_FILES = [plan.TABLES["cells_csv"], plan.TABLES["thresholds_csv"], plan.TABLES["missing"]]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A tiny sweep (one classical, two quantum cells) run to the end once."""
    work = workflow_copy(tmp_path_factory.mktemp("finished") / "work", tiny_config())
    r = snakemake(work, "--cores", "2")
    assert r.returncode == 0, output(r)[-4000:]
    return work


def _copy(finished: Path, dest: Path) -> tuple[Path, Path, dict]:
    work = dest / "work"
    shutil.copytree(finished, work, symlinks=True)  # copy2: the mtimes travel along
    sweep = work / "results" / "tiny"
    cells = {c["name"]: c for c in json.loads((sweep / plan.MANIFEST).read_text())["cells"]}
    return work, sweep, cells


def _mtimes(sweep: Path, cells: dict) -> dict[str, int]:
    return {n: (sweep / c["result"]).stat().st_mtime_ns for n, c in cells.items()}


def _tables(sweep: Path) -> dict[str, str]:
    return {t: (sweep / t).read_text() for t in TABLE_FILES}


def _damage_truncate(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 3)


def _damage_drop_complete(path: Path) -> None:
    with h5py.File(path, "a") as f:
        del f.attrs["complete"]


@pytest.mark.mpi
@pytest.mark.parametrize("damage,cell", [
    (_damage_truncate, "m=0.01,hbar=0.2"),
    (_damage_drop_complete, "m=0.01"),          # the classical reference of the column
], ids=["truncated quantum cell", "classical cell without complete"])
def test_incomplete_cell_is_set_aside_and_remade_alone(finished, tmp_path, damage, cell):
    work, sweep, cells = _copy(finished, tmp_path)
    reference = _tables(sweep)
    before = _mtimes(sweep, cells)
    result = sweep / cells[cell]["result"]
    damage(result)
    damaged = result.read_bytes()
    assert not is_complete(result)

    r = snakemake(work, "--cores", "2")
    out = output(r)
    assert r.returncode == 0, out[-4000:]
    warnings = [ln for ln in out.splitlines() if "moved aside" in ln]
    assert len(warnings) == 1 and warnings[0].startswith(f"WARNING: {result.relative_to(work)} is not a "
                                                         "complete result ("), out[-3000:]
    aside = result.with_name(result.name + ".incomplete")
    assert aside.read_bytes() == damaged                      # the evidence is kept as it was
    assert is_complete(result)
    after = _mtimes(sweep, cells)
    assert {n for n in cells if after[n] != before[n]} == {cell}   # only that cell was remade
    assert _tables(sweep) == reference
    record = (sweep / SET_ASIDE_LOG).read_text().splitlines()
    assert len(record) == 1 and f"{result.relative_to(work)} -> {aside.name}: " in record[0]
    # jobs run: that cell, then the aggregation and the figures (their input changed)
    ran = re.findall(r"^(?:local)?rule (\w+):", out, re.M)
    assert sorted(ran) == sorted(["engine_run", "aggregate", "sweep_figures", "all"]), ran

    # nothing left to do; a second damage of the same cell keeps the first evidence too
    r = snakemake(work, "-n")
    assert "Nothing to be done" in output(r), output(r)[-2000:]
    damage(result)
    r = snakemake(work, "-n")
    assert r.returncode == 0 and result.with_name(result.name + ".incomplete.1").exists()
    assert aside.read_bytes() == damaged
    assert engine_counts(output(r)) == {cells[cell]["kind"]: 1}
    s = {c["name"]: c for c in status.summarise(sweep)["cells"]}
    assert s[cell]["state"] == "missing" and ".incomplete.1" in s[cell]["detail"]


def test_incomplete_result_of_a_figure_run_is_set_aside(tmp_path):
    """A figure's run result without ``complete``: moved aside at parse time, so that the dry run
    plans that run (and the figure after it)."""
    sys.path.insert(0, str(ROOT / "tests" / "reproduce"))
    from tiny_figures import tiny_config as tiny_figures_config

    work = tmp_path / "work"
    cfg = tiny_figures_config(work / "results")
    workflow_copy(work, cfg)
    run_dir = work / "results" / "tiny" / "reproduction" / "fig5" / "quantum" / "hbar=0.25+K2=0.12"
    run_dir.mkdir(parents=True)
    with h5py.File(run_dir / "quantum.h5", "w") as f:
        f.attrs["kind"] = "quantum"
    r = snakemake(work, "-n", "fig5")
    out = output(r)
    assert r.returncode == 0, out[-3000:]
    warnings = [ln for ln in out.splitlines() if "moved aside" in ln]
    assert warnings == [f"WARNING: {run_dir / 'quantum.h5'} is not a complete result (no complete=True "
                        "attribute): moved aside to quantum.h5.incomplete; it is made again"], out[-3000:]
    assert (run_dir / "quantum.h5.incomplete").exists() and not (run_dir / "quantum.h5").exists()
    assert engine_counts(out) == {"quantum": 2}
    assert (work / "results" / "tiny" / "reproduction" / SET_ASIDE_LOG).exists()


# --------------------------------------------------------------------------- the functions alone
def _h5(path: Path, complete=True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["x"] = 1
        if complete is not None:
            f.attrs["complete"] = complete
    return path


def test_set_aside_incomplete_keeps_complete_files_and_every_piece_of_evidence(tmp_path):
    good = _h5(tmp_path / "good.h5")
    false = _h5(tmp_path / "false.h5", complete=False)
    none = _h5(tmp_path / "none.h5", complete=None)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    (tmp_path / "junk.h5.incomplete").write_text("an earlier one")
    folder = tmp_path / "dir.h5"
    folder.mkdir()
    record = tmp_path / "logs" / "set-aside.log"
    moved = set_aside_incomplete([good, false, none, empty, junk, folder, tmp_path / "absent.h5"], record)
    assert [(p.name, d.name) for p, d, _ in moved] == [
        ("false.h5", "false.h5.incomplete"), ("none.h5", "none.h5.incomplete"),
        ("empty.h5", "empty.h5.incomplete"), ("junk.h5", "junk.h5.incomplete.1"),
        ("dir.h5", "dir.h5.incomplete")]
    assert good.exists() and is_complete(good)
    assert (tmp_path / "junk.h5.incomplete").read_text() == "an earlier one"
    assert (tmp_path / "junk.h5.incomplete.1").read_text() == "not hdf5"
    reasons = {p.name: why for p, _, why in moved}
    assert reasons["none.h5"] == reasons["false.h5"] == "no complete=True attribute"
    assert reasons["junk.h5"].startswith("not a readable HDF5 file")
    lines = record.read_text().splitlines()
    assert len(lines) == 5 and all(" -> " in ln for ln in lines)
    assert set_aside_incomplete([good], record) == [] and len(record.read_text().splitlines()) == 5


def test_replaced_together_leaves_the_previous_files_on_failure(tmp_path):
    a, b = tmp_path / "t" / "a.csv", tmp_path / "t" / "b.h5"
    a.parent.mkdir()
    a.write_text("old a")
    b.write_text("old b")
    with pytest.raises(RuntimeError):
        with replaced_together([a, b]) as tmp:
            tmp[a].write_text("new a")
            raise RuntimeError("second table failed")
    assert (a.read_text(), b.read_text()) == ("old a", "old b")
    with pytest.raises(FileNotFoundError, match="not written"):
        with replaced_together([a, b]) as tmp:
            tmp[a].write_text("new a")        # b never written
    assert (a.read_text(), b.read_text()) == ("old a", "old b")
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.csv", "b.h5"]   # no temporary left
    with replaced_together([a, b]) as tmp:
        assert tmp[a].parent == a.parent and tmp[a].suffix == ".csv" and tmp[a].name.startswith(".a.tmp-")
        assert tmp[a] != tmp[b]
        tmp[a].write_text("new a")
        tmp[b].write_text("new b")
        assert a.read_text() == "old a"       # not before all are written
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.csv", "b.h5"]


def _sweep_with_tables(root: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "tests" / "sweep"))
    from test_aggregate import make_sweep

    d = make_sweep(root)
    agg.aggregate_sweep(d)
    return d


def _files(d: Path, names) -> dict[str, bytes]:
    return {n: (d / n).read_bytes() for n in names}


def test_aggregation_failing_midway_keeps_the_previous_tables(tmp_path, monkeypatch):
    d = _sweep_with_tables(tmp_path)
    names = list(plan.TABLES.values())
    old = _files(d, names)
    real = agg._write_table

    def fail_on_thresholds(group, rows, columns):
        if group.name == "/thresholds":
            raise OSError(28, "No space left on device")
        real(group, rows, columns)

    monkeypatch.setattr(agg, "_write_table", fail_on_thresholds)
    # a changed cell: the new tables would differ from the old ones
    with h5py.File(next(d.glob("quantum/m=1/hbar=0.08/quantum.h5")), "a") as f:
        f.attrs["Dq"] = 0.5 * f.attrs["Dq"]
    with pytest.raises(OSError, match="No space left"):
        agg.aggregate_sweep(d)
    assert _files(d, names) == old
    assert not [p for p in (d / "tables").iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(agg, "_write_table", real)
    agg.aggregate_sweep(d)
    assert _files(d, names) != old


def test_aggregation_refusing_a_bad_cell_keeps_the_previous_tables(tmp_path):
    """The command line of the aggregation (what the workflow's job runs): a cell that became
    unusable makes it fail with the cell named, and the tables stay as they were."""
    d = _sweep_with_tables(tmp_path)
    names = list(plan.TABLES.values())
    old = _files(d, names)
    with h5py.File(next(d.glob("quantum/m=0.01/hbar=0.04/quantum.h5")), "a") as f:
        f.attrs["Dq"] = math.nan
    assert agg.main([str(d)]) == 1
    assert _files(d, names) == old


def test_figures_failing_midway_keep_the_previous_figures(tmp_path, monkeypatch, capsys):
    d = _sweep_with_tables(tmp_path)
    out = d / "figures"
    assert figures.main([str(d / plan.TABLES["h5"]), "--out-dir", str(out)]) == 0
    names = [Path(p).name for p in plan.FIGURES.values()]
    old = _files(out, names)

    def broken(*args, **kw):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(figures, "eta_vs_hbar", broken)
    with pytest.raises(RuntimeError):
        figures.main([str(d / plan.TABLES["h5"]), "--out-dir", str(out), "--hbar-scale", "log"])
    assert _files(out, names) == old
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


@pytest.mark.mpi
def test_under_snakemake_a_failing_aggregation_leaves_no_tables(finished, tmp_path):
    """Why the parse-time check matters: Snakemake removes a job's declared outputs before it runs
    it (and those of a failed job), so the previous tables cannot survive a failing aggregation
    job; a cell that cannot be used must never reach it. A complete cell whose value is unusable
    (here Dq = NaN) is not incomplete: it is left in place, and the aggregation names it."""
    work, sweep, cells = _copy(finished, tmp_path)
    result = sweep / cells["m=0.01,hbar=0.3"]["result"]
    with h5py.File(result, "a") as f:
        f.attrs["Dq"] = math.nan
    r = snakemake(work, "--cores", "1")
    out = output(r)
    assert r.returncode == 1 and "moved aside" not in out
    assert re.search(r"m=0\.01,hbar=0\.3: quantum_invalid \(.*Dq = nan\)", out), out[-3000:]
    assert not any((sweep / t).exists() for t in plan.TABLES.values())
    assert result.exists()
