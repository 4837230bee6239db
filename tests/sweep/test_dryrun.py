"""The sweep workflow plans the right jobs and rejects bad configs before any job starts.

Snakemake runs as a subprocess on a copy of the workflow in a temporary folder (dry runs:
nothing is executed, no Slurm needed).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from workflowlib import (ROOT, copy_workflow, engine_counts, job_counts, snakemake,  # noqa: E402,F401
                         snakemake_exe)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path)


# 7 classical runs (one per mass ratio) and 84 quantum cells
PAPER = {"manifest": 1, "run_config": 91, "engine_run": 91, "aggregate": 1, "sweep_figures": 1, "all": 1}


def test_paper_dry_run_job_counts(workdir):
    r = snakemake(workdir, "-n", "--quiet", "rules", "--config", "preset=paper")
    assert r.returncode == 0, r.stderr + r.stdout
    counts = job_counts(r.stdout + r.stderr)
    assert counts == {**PAPER, "total": sum(PAPER.values())}
    assert not (workdir / "results").exists()


def test_demo_is_the_default_preset(workdir):
    r = snakemake(workdir, "-n", "-p")
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout + r.stderr
    assert engine_counts(out) == {"classical": 2, "quantum": 8}
    # readable paths, the local launcher, resume from a checkpoint that is not an output
    assert "results/demo/quantum/m=0.01/hbar=0.06/quantum.h5" in out
    assert "results/demo/classical/m=0.001/classical.h5" in out
    assert re.search(r"mpiexec -n 2 kickedpair quantum --config results/demo/quantum/m=0.001/hbar=0.24/config.yaml "
                     r"--out results/demo/quantum/m=0.001/hbar=0.24/quantum.h5 --checkpoint "
                     r"results/demo/quantum/m=0.001/hbar=0.24/checkpoint-[0-9a-f]+\.h5 --resume +"
                     r"--label m=0.001,hbar=0.24 --threads 1 --progress log", out)
    assert re.search(r"mpiexec -n 2 kickedpair classical --config results/demo/classical/m=0.01/config.yaml "
                     r"--out results/demo/classical/m=0.01/classical.h5 +--label m=0.01 --threads 1 "
                     r"--progress log", out)
    assert not re.search(r"output:.*checkpoint", out)


def test_initial_sensitivity_adds_a_classical_run_per_cell_from_the_quantum_initial_state(workdir):
    r = snakemake(workdir, "-n", "-p", "--config", "initial_sensitivity=true")
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout + r.stderr
    assert engine_counts(out) == {"classical": 2 + 8, "quantum": 8}
    qi = "results/demo/classical_quantum_initial/m=0.01/hbar=0.06"
    assert re.search(rf"kickedpair classical --config {qi}/config.yaml --out {qi}/classical.h5 +"
                     r"--label m=0.01,hbar=0.06,initial=quantum", out)


def test_slurm_profile_dry_run(workdir):
    r = snakemake(workdir, "-n", "-p", "--profile", "cluster/slurm", "--config", "preset=paper")
    assert r.returncode == 0, r.stderr + r.stdout
    out = r.stdout + r.stderr
    assert job_counts(out) == {**PAPER, "total": sum(PAPER.values())}
    assert "srun -n 16 kickedpair quantum" in out
    assert "srun -n 8 kickedpair classical" in out
    assert "mpiexec" not in out
    # memory of a quantum cell grows as hbar falls
    mem = {}
    for m in re.finditer(r"wildcards: run=quantum/m=1/hbar=([0-9.e-]+), engine=quantum\n\s+resources: .*?mem_mb=(\d+)", out):
        mem[float(m.group(1))] = int(m.group(2))
    assert len(mem) == 12
    assert mem[0.005] > 5 * mem[0.1]
    assert sorted(mem.values(), reverse=True) == [mem[h] for h in sorted(mem)]
    # and so does its wall-time request (runtime: auto, from the engine's cost model)
    runtime = {}
    for m in re.finditer(r"wildcards: run=quantum/m=0.001/hbar=([0-9.e-]+), engine=quantum\n\s+resources: .*?runtime=(\d+)", out):
        runtime[float(m.group(1))] = int(m.group(2))
    assert len(runtime) == 12
    assert runtime[0.005] > 10 * runtime[0.1]
    assert sorted(runtime.values(), reverse=True) == [runtime[h] for h in sorted(runtime)]


def test_launcher_from_config(workdir):
    r = snakemake(workdir, "-n", "-p", "--config", "preset=demo", "launcher=srun --mpi=pmix")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "srun --mpi=pmix -n 2 kickedpair quantum" in r.stdout + r.stderr


def test_allow_missing_runs_no_cell(workdir):
    r = snakemake(workdir, "-n", "--quiet", "rules", "--config", "preset=paper", "allow_missing=true")
    assert r.returncode == 0, r.stderr + r.stdout
    counts = job_counts(r.stdout + r.stderr)
    assert "engine_run" not in counts and "run_config" not in counts
    assert counts["aggregate"] == 1 and counts["sweep_figures"] == 1


@pytest.mark.parametrize("overrides,expected", [
    (["bogus=1"], r"invalid config: bogus: unknown key"),
    (["presets={demo: {hbar: [0.02, -0.04]}}"], r"presets\.demo\.hbar\[1\]: must be > 0, got -0\.04"),
    (["presets={demo: {hbar: []}}"], r"presets\.demo\.hbar: the axis is empty"),
    (["presets={demo: {mass_ratio: {log: [0.001, 1, 0]}}}"], r"presets\.demo\.mass_ratio\.log\[2\]"),
    (["presets={demo: {colour: red}}"], r"presets\.demo\.colour: unknown key"),
    (["resources={quantum: {ranks: 0}}"], r"resources\.quantum\.ranks"),
    (["preset=nonesuch"], r"preset: unknown preset 'nonesuch'"),
    (["physics={eps: -2}"], r"physics\.eps: must be >= 0"),
    (["physics={interaction: cubic}"], r"physics\.interaction: must be one of"),
    (["physics={spin: 1}"], r"physics\.spin: unknown key"),
    (["classical={scheme: euler}"], r"classical\.scheme"),
    (["physics={hbar: 0.1}"], r"physics\.hbar: set by the sweep"),
    (["quantum={substeps: 0}"], r"quantum\.substeps: must be >= 1"),
    (["quantum={N1: 7}"], r"quantum\.N1: 7 modes are too few"),
])
def test_invalid_config_rejected_before_any_job(workdir, overrides, expected):
    r = snakemake(workdir, "-n", "--config", *overrides)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert re.search(expected, out), out[-2000:]
    assert "Job stats" not in out
    assert not (workdir / "results").exists()


def test_invalid_config_file_rejected(workdir):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["presets"]["paper"]["hbar"] = {"log": [-0.005, 0.1, 12]}
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    r = snakemake(workdir, "-n", "--config", "preset=paper")
    assert r.returncode != 0
    assert "presets.paper.hbar.log[0]" in r.stdout + r.stderr
