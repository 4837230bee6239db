"""The adaptive sweep as a user runs it: Snakemake rounds through a checkpoint rule, with the real
engines; a dry run shows the first round only; a cell of a later round killed mid-run resumes from
its checkpoint and nothing finished is recomputed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from kickedpair.sweep import aggregate as agg
from kickedpair.sweep import plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workflowlib import (adaptive_tiny, copy_workflow, engine_env, job_counts, pids_of, run_workflow,  # noqa: E402
                         snakemake_exe)

pytestmark = pytest.mark.mpi

ADAPTIVE = adaptive_tiny(ranks=1)  # round 0: hbar = 0.2, 0.8, 1.6; round 1 adds 0.4
LATER_CELL = "m=0.001,hbar=0.4"


def _work(tmp_path: Path) -> Path:
    work = copy_workflow(tmp_path)
    (work / "config.yaml").write_text(ADAPTIVE)
    return work


def test_dry_run_plans_the_first_round_and_says_the_rest_depends_on_it(tmp_path):
    r = run_workflow(_work(tmp_path), "-n", "--quiet", "rules", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    counts = job_counts(out)
    assert counts["engine_run"] == 1 + 3 and counts["refine"] == 1  # the classical run and round 0
    assert "preset tiny is adaptive: round 0 is its grid (3 quantum cells)" in out
    assert "checkpoint jobs" in out
    # and through the Slurm profile: the cells are Slurm jobs, the rounds local
    (tmp_path / "slurm").mkdir()
    slurm = run_workflow(_work(tmp_path / "slurm"), "-n", "-p", "--profile", "cluster/slurm", timeout=300)
    assert slurm.returncode == 0, slurm.stderr[-3000:]
    assert "srun" in slurm.stdout + slurm.stderr and "refine" in slurm.stdout + slurm.stderr


def test_rounds_run_and_a_killed_later_cell_resumes(tmp_path):
    from kickedpair.params import load_yaml, parse_config
    from kickedpair.quantum.evolution import run_quantum

    work = _work(tmp_path)
    sweep = work / "results" / "tiny"
    later = sweep / "quantum/m=0.001/hbar=0.4"
    child = subprocess.Popen([snakemake_exe(), "--cores", "2"], cwd=work, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=engine_env())
    deadline, killed = time.time() + 600, False
    while time.time() < deadline and child.poll() is None:
        if list(later.glob("checkpoint-*.h5")) and (pids := pids_of(LATER_CELL)):
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    out, _ = child.communicate(timeout=600)
    assert killed, "the round-1 cell finished before it could be killed: " + out[-2000:]
    assert child.returncode != 0 and not (later / "quantum.h5").exists()
    round0 = json.loads((sweep / "refine/round-0.json").read_text())
    assert round0["new"] == {"0.001": ["0.4"]} and not round0["done"]
    finished = {p: p.stat().st_mtime_ns for p in sweep.glob("*/m=*/**/*.h5") if not p.name.startswith(("checkpoint", "."))}
    assert len(finished) == 4  # the classical run and round 0's three cells

    r = run_workflow(work)
    assert r.returncode == 0, r.stderr[-3000:]
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    with h5py.File(later / "quantum.h5", "r") as f:
        assert f.attrs["resumed_from"] > 0
        Dq = float(f.attrs["Dq"])
    round1 = json.loads((sweep / "refine/round-1.json").read_text())
    assert round1["done"] and round1["grid"] == {"0.001": ["0.2", "0.4", "0.8", "1.6"]}
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert [plan.fmt(row["hbar"]) for row in rows] == ["0.2", "0.4", "0.8", "1.6"]
    manifest = json.loads((sweep / plan.MANIFEST).read_text())
    assert manifest["adaptive"]["max_rounds"] == 1 and manifest["hbar"] == ["0.2", "0.4", "0.8", "1.6"]
    # the resumed cell equals an undisturbed run of it
    direct = run_quantum(parse_config(load_yaml((later / "config.yaml").read_text())), progress="none")
    assert Dq == pytest.approx(direct.Dq, rel=1e-12)
    assert rows[1]["Dq"] == pytest.approx(direct.Dq, rel=1e-12)
    again = run_workflow(work, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
