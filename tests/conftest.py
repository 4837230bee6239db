"""Shared test helpers: launching the CLI, under mpiexec or alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def kickedpair_cmd() -> list[str]:
    exe = BIN / "kickedpair"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kickedpair.cli"]


def mpiexec() -> str | None:
    return shutil.which("mpiexec", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def run_cli(args: list[str], ranks: int | None = None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``kickedpair ARGS`` (under ``mpiexec -n ranks`` when ranks is given)."""
    cmd = kickedpair_cmd() + list(args)
    if ranks is not None:
        launcher = mpiexec()
        if launcher is None:
            pytest.fail("mpiexec not found: install the 'mpich' extra or a system MPI")
        cmd = [launcher, "-n", str(ranks)] + cmd
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update(kw.pop("env", {}))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
