"""What the workflow tests share: a copy of the workflow, Snakemake run on it, its job counts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "cluster")


def adaptive_tiny(ranks: int = 1) -> str:
    """The workflow config of a tiny adaptive sweep: eta falls through 0.9 between hbar = 0.2 and 0.8
    (20 kicks, m = 1e-3), so round 0 is three cells, round 1 adds hbar = 0.4 (the geometric middle)
    and max_rounds: 1 ends it there; ``ranks`` per cell."""
    return textwrap.dedent(f"""\
        preset: tiny
        physics: {{eps: 2.0}}
        quantum: {{N1: 127, N2: 31, checkpoint_every: 2}}
        analysis: {{eta_c: 0.9, eta_dl: 0.5}}
        presets:
          tiny:
            hbar: [0.2, 0.8, 1.6]
            mass_ratio: [1.0e-3]
            n_kicks: 20
            trajectories: 64
            adaptive: {{hbar_min: 0.2, hbar_max: 1.6, rel_width: 0.3, max_cells: 6, max_rounds: 1}}
            resources:
              classical: {{ranks: {ranks}, threads: 1, runtime: 5}}
              quantum: {{ranks: {ranks}, threads: 1, runtime: 5, retries: 0}}
        """)


def snakemake_exe() -> str:
    exe = BIN / "snakemake"
    if exe.exists():
        return str(exe)
    found = shutil.which("snakemake")
    if found is None:
        pytest.skip("snakemake is not installed")
    return found


def copy_workflow(dest: Path) -> Path:
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([snakemake_exe(), *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)


def engine_env() -> dict[str, str]:
    """The environment of a workflow run whose jobs run the engines: the venv's tools first on
    PATH, one thread per rank."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "KICKEDPAIR_THREADS": "1"}


def run_workflow(workdir: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``snakemake --cores 2 ARGS`` in ``workdir`` with :func:`engine_env`."""
    return subprocess.run([snakemake_exe(), "--cores", "2", *args], cwd=workdir, capture_output=True,
                          text=True, timeout=timeout, env=engine_env())


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run: rule -> number of jobs."""
    at = output.rfind("Job stats:")
    assert at >= 0, output[-3000:]
    counts = {}
    for line in output[at:].splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def engine_counts(output: str) -> dict[str, int]:
    """Jobs of the engine-run rule of a dry run printed in full (not --quiet): engine -> number."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"rule engine_run:\n(?:\s+\S.*\n)*?\s+wildcards: run=[^\n]*, engine=(\w+)", output):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def pids_of(label: str) -> list[int]:
    """Processes of the engine running the cell ``label`` (its command line names it)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"quantum" in cmd and label.encode() in cmd and any(c.endswith(b"kickedpair") for c in cmd):
            pids.append(int(proc.name))
    return pids
