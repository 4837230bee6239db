"""The sweep end to end through Snakemake with the real engines and MPI cell jobs.

* a tiny grid: one cell trips a guard, the rest finish (``--keep-going``), the status
  and the ``allow_missing`` aggregation name the failed cell; a cell killed with
  SIGKILL mid-run is re-run alone, resumes from its checkpoint, and the final table is
  identical to that of an undisturbed sweep;
* the ``demo`` preset (the README's main job): tables and phase diagram, with the table's
  values checked against the engines run directly on the same cells.
"""

from __future__ import annotations

import sys

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from kickedpair import checkpoint
from kickedpair.sweep import aggregate as agg
from kickedpair.sweep import plan, status

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workflowlib import copy_workflow, engine_env, pids_of, run_workflow, snakemake_exe

pytestmark = pytest.mark.mpi

TINY = textwrap.dedent("""\
    preset: tiny
    physics: {eps: 2.0}
    quantum: {N1: 127, N2: 31, checkpoint_every: 2}
    presets:
      tiny:
        hbar: [0.05, 0.2, 0.3]
        mass_ratio: [1.0e-3]
        n_kicks: 60
        trajectories: 64
        resources:
          classical: {ranks: 2, threads: 1, runtime: 5}
          quantum: {ranks: 2, threads: 1, runtime: 5, retries: 0}
    """)
GUARD_CELL = "m=0.001,hbar=0.05"    # N1 = 127 is too small at hbar = 0.05: the tail guard trips
KILLED_CELL = "m=0.001,hbar=0.2"


def _tiny(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    work = copy_workflow(tmp_path / name)
    (work / "config.yaml").write_text(TINY)
    return work


def test_guard_failure_keep_going_and_resume_after_sigkill(tmp_path):
    # the undisturbed sweep, for comparison (its guard cell fails too: aggregate what is there)
    ref = _tiny(tmp_path, "ref")
    r = run_workflow(ref, "--keep-going")
    assert r.returncode != 0
    r = run_workflow(ref, "--config", "allow_missing=true")
    assert r.returncode == 0, r.stderr[-3000:]
    ref_sweep = ref / "results" / "tiny"
    ref_rows = agg.read_csv(ref_sweep / plan.TABLES["cells_csv"])

    work = _tiny(tmp_path, "work")
    sweep = work / "results" / "tiny"
    manifest_cells = None
    child = subprocess.Popen([snakemake_exe(), "--cores", "2", "--keep-going"], cwd=work,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=engine_env())
    # wait until the cell to be killed has written a checkpoint, then SIGKILL its engine processes
    deadline = time.time() + 600
    killed = False
    while time.time() < deadline and child.poll() is None:
        if manifest_cells is None and (sweep / plan.MANIFEST).exists():
            manifest_cells = {c["name"]: c for c in json.loads((sweep / plan.MANIFEST).read_text())["cells"]}
        if manifest_cells and checkpoint.exists(sweep / manifest_cells[KILLED_CELL]["checkpoint"]):
            pids = pids_of(KILLED_CELL)
            if pids:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.02)
    out, _ = child.communicate(timeout=600)
    assert killed, "the cell finished before it could be killed: " + out[-2000:]
    assert child.returncode != 0
    cells = manifest_cells
    killed_result = sweep / cells[KILLED_CELL]["result"]
    assert not killed_result.exists()
    assert checkpoint.exists(sweep / cells[KILLED_CELL]["checkpoint"])
    done_before = {name: (sweep / c["result"]).stat().st_mtime_ns
                   for name, c in cells.items() if (sweep / c["result"]).exists()}
    assert set(done_before) == {"m=0.001", "m=0.001,hbar=0.3"}  # the classical cell and one quantum cell

    states = {c["name"]: c for c in status.summarise(sweep)["cells"]}
    assert states[GUARD_CELL]["state"] == "failed"
    assert "guard 'top-5% modes of particle 1' tripped" in states[GUARD_CELL]["detail"]

    # aggregate what is there: the missing cells are listed, not silently dropped
    r = run_workflow(work, "--config", "allow_missing=true")
    assert r.returncode == 0, r.stderr[-3000:]
    missing = (sweep / plan.TABLES["missing"]).read_text()
    assert GUARD_CELL in missing and KILLED_CELL in missing

    # re-run: only the killed cell (and the guard cell, which fails again) run; the killed one resumes
    r = run_workflow(work, "--keep-going")
    assert r.returncode != 0  # the guard cell still fails
    assert killed_result.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    for name, mtime in done_before.items():
        assert (sweep / cells[name]["result"]).stat().st_mtime_ns == mtime, f"{name} was recomputed"
    with h5py.File(killed_result, "r") as f:
        assert f.attrs["resumed_from"] > 0 and f.attrs["n_ranks"] == 2
    assert "resuming from" in (sweep / cells[KILLED_CELL]["log"]).read_text()
    r = run_workflow(work, "--config", "allow_missing=true")
    assert r.returncode == 0, r.stderr[-3000:]
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    ok = [row for row in rows if row["status"] == "ok"]
    assert len(ok) == 2
    assert ok == [row for row in ref_rows if row["status"] == "ok"]  # identical to the last digit
    assert [row["status"] for row in rows] == [row["status"] for row in ref_rows]


def test_demo_preset_end_to_end_against_direct_engine_runs(tmp_path):
    from kickedpair.classical.ensemble import run_classical
    from kickedpair.params import load_yaml, parse_config
    from kickedpair.quantum.evolution import run_quantum

    (tmp_path / "demo").mkdir()
    work = copy_workflow(tmp_path / "demo")
    r = run_workflow(work, "--config", "preset=demo", timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep = work / "results" / "demo"
    for f in list(plan.TABLES.values()) + list(plan.FIGURES.values()):
        assert (sweep / f).exists(), f
        assert f == plan.TABLES["missing"] or (sweep / f).stat().st_size > 0, f
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert len(rows) == 8 and all(row["status"] == "ok" for row in rows)
    assert (sweep / plan.TABLES["missing"]).read_text() == ""
    # diffusion at the smallest hbar, a clear fall towards localisation at the largest
    for m in ("0.001", "0.01"):
        eta = {plan.fmt(row["hbar"]): float(row["eta"]) for row in rows if plan.fmt(row["m"]) == m}
        assert eta[min(eta, key=float)] > 0.9 and eta[max(eta, key=float)] < 0.6 * eta[min(eta, key=float)]
    cells = {c["name"]: c for c in json.loads((sweep / plan.MANIFEST).read_text())["cells"]}
    # recompute two cells and one classical reference directly, in this process (one rank)
    for name in ("m=0.001,hbar=0.24", "m=0.01,hbar=0.12"):
        cfg = parse_config(load_yaml((sweep / cells[name]["config"]).read_text()))
        direct = run_quantum(cfg, label=name, progress="none")
        row = next(r_ for r_ in rows if f"m={plan.fmt(r_['m'])},hbar={plan.fmt(r_['hbar'])}" == name)
        assert float(row["Dq"]) == pytest.approx(direct.Dq, rel=1e-12)
    classical_cfg = next(sweep.glob("classical/m=0.001/config.yaml"))
    direct = run_classical(parse_config(load_yaml(classical_cfg.read_text())), progress="none")
    row = next(r_ for r_ in rows if plan.fmt(r_["m"]) == "0.001")
    assert float(row["Dc"]) == pytest.approx(direct.Dc, rel=1e-12)
    assert float(row["eta"]) == pytest.approx(float(row["Dq"]) / direct.Dc, rel=1e-12)
    with h5py.File(sweep / plan.TABLES["h5"], "r") as f:
        assert len(f) > 0
    assert np.isfinite([float(r_["eta"]) for r_ in rows]).all()


def test_initial_sensitivity_sweep_end_to_end(tmp_path):
    """initial_sensitivity: each cell also runs the classical ensemble from the quantum initial
    state; the cell table divides the same Dq by it, and the files say which ensemble they hold."""
    (tmp_path / "qi").mkdir()
    work = copy_workflow(tmp_path / "qi")
    (work / "config.yaml").write_text(TINY.replace("hbar: [0.05, 0.2, 0.3]", "hbar: [0.2, 0.3]")
                                      .replace("n_kicks: 60", "n_kicks: 20"))
    r = run_workflow(work, "--config", "initial_sensitivity=true", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep = work / "results" / "tiny"
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert len(rows) == 2 and all(row["status"] == "ok" for row in rows)
    for row in rows:
        qi = sweep / f"classical_quantum_initial/m={plan.fmt(row['m'])}/hbar={plan.fmt(row['hbar'])}/classical.h5"
        with h5py.File(qi, "r") as f:
            config = json.loads(f["params"].attrs["config_json"])
            assert config["classical"]["initial"] == "quantum"
            assert config["physics"]["hbar"] == pytest.approx(row["hbar"])
            assert f["series/p1_sq"][0] == pytest.approx(row["hbar"] ** 2, rel=1e-12)  # (pi hbar / L)^2, L = pi
            assert row["Dc_quantum_initial"] == f.attrs["Dc"]
        assert row["eta_quantum_initial"] == pytest.approx(row["Dq"] / row["Dc_quantum_initial"], rel=1e-12)
        assert row["eta"] == pytest.approx(row["Dq"] / row["Dc"], rel=1e-12)
        assert row["Dc_quantum_initial"] != row["Dc"]
