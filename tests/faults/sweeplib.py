"""Shared pieces of the workflow fault tests: a copy of the workflow with a tiny preset,
Snakemake run on it (bounded), the lines of its config errors, snapshots of a folder tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from workflowlib import BIN, copy_workflow, engine_counts, job_counts, snakemake_exe  # noqa: E402,F401

#: every Snakemake run here ends within this (a regression fails instead of hanging)
TIMEOUT_S = 600


def tiny_preset(**over) -> dict:
    """One mass ratio, two hbar values, a few kicks: a whole sweep in ~10 s on 2 cores."""
    preset = {"hbar": [0.2, 0.3], "mass_ratio": [1.0e-2], "n_kicks": 10, "trajectories": 32,
              "resources": {"classical": {"ranks": 1}, "quantum": {"ranks": 1}}}
    preset.update(over)
    return preset


def tiny_config(preset: str = "tiny", presets: dict | None = None, **top) -> dict:
    cfg = {"preset": preset, "physics": {"eps": 2.0}, "quantum": {"N1": 127, "N2": 31},
           "presets": presets if presets is not None else {preset: tiny_preset()}}
    cfg.update(top)
    return cfg


def workflow_copy(dest: Path, config: dict | None = None) -> Path:
    """The workflow (Snakefile, workflow/, cluster/, config.yaml) copied to ``dest``; ``config``
    replaces its config.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    copy_workflow(dest)
    if config is not None:
        (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def env() -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "KICKEDPAIR_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def snakemake(work: Path, *args: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``work`` (not a dry run unless ARGS say so)."""
    return subprocess.run([snakemake_exe(), *args], cwd=work, capture_output=True, text=True,
                          timeout=timeout, env=env())


def output(r: subprocess.CompletedProcess) -> str:
    return r.stdout + r.stderr


def config_errors(r: subprocess.CompletedProcess) -> list[str]:
    """The lines of the workflow's config errors."""
    return [line for line in output(r).splitlines() if "invalid config:" in line]


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file and folder under ``root``, leaving out
    those under a relative path in ``skip``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[os.path.normpath(os.path.join(rel_dir, name))] = (st.st_size, st.st_mtime_ns)
    return out
