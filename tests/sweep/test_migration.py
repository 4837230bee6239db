"""Results of figure runs written in the layout before every run was one kind
(``reproduction/FIG/ENGINE/NAME/result.h5``) are renamed to ``ENGINE.h5`` when the workflow
starts, so a finished run is not made again."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import h5py
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "faults"))
sys.path.insert(0, str(ROOT / "tests" / "reproduce"))
from sweeplib import engine_counts, output, snakemake, workflow_copy  # noqa: E402
from tiny_figures import tiny_config  # noqa: E402

from kickedpair.reproduce.plan import reproduction_of  # noqa: E402
from kickedpair.sweep.plan import build_plan, migrate_results  # noqa: E402


def _complete(path: Path, marker: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["complete"] = True
        f.attrs["marker"] = marker


def test_migrate_results_renames_only_old_figure_results(tmp_path):
    cfg = tiny_config(tmp_path / "results")
    sweep = build_plan(cfg)
    rep = reproduction_of(cfg, sweep)
    base = Path(sweep.sweep_dir)
    runs = rep.figures["fig5"].runs
    old = [base / r.folder / "result.h5" for r in runs]
    _complete(old[0], "old")
    _complete(old[1], "old")
    _complete(base / runs[1].result, "new")     # both layouts: the new one is kept, the old one left
    cell = next(r for r in sweep.runs() if r.engine == "quantum")
    _complete(base / cell.folder / "result.h5", "cell")  # not a figure run: never touched
    moved = migrate_results(base, sweep.runs() + rep.runs())
    assert moved == [(old[0], base / runs[0].result)]
    with h5py.File(base / runs[0].result) as f:
        assert f.attrs["marker"] == "old"
    with h5py.File(base / runs[1].result) as f:
        assert f.attrs["marker"] == "new"
    assert old[1].exists() and (base / cell.folder / "result.h5").exists()


def test_the_workflow_renames_and_does_not_rerun(tmp_path):
    work = tmp_path / "work"
    cfg = tiny_config(work / "results")
    workflow_copy(work, cfg)
    sweep = build_plan(cfg)
    run = reproduction_of(cfg, sweep).figures["fig5"].runs[0]
    old = work / sweep.sweep_dir / run.folder / "result.h5"
    old.parent.mkdir(parents=True)
    (old.parent / "config.yaml").write_text(yaml.safe_dump(run.config))  # written before the result
    time.sleep(0.05)
    _complete(old, "old")
    r = snakemake(work, "-n", "fig5")
    out = output(r)
    assert r.returncode == 0, out[-3000:]
    assert not old.exists() and (work / sweep.sweep_dir / run.result).exists()
    assert f"{old} renamed to quantum.h5" in out
    assert engine_counts(out) == {"quantum": 1}   # the other run of Fig. 5 only
