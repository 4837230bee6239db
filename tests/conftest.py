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


# ---------------------------------------------------------------- the paper's figures, tiny
sys.path.insert(0, str(Path(__file__).resolve().parent / "reproduce"))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """(tests/reproduce) ``get(figure) -> (plan_dict, out_dir)``: the figure's runs done with the real CLI (cached)."""
    import json

    import yaml
    from tiny_figures import run_cli as run_engine
    from tiny_figures import tiny_config

    from kickedpair.reproduce.plan import RUN_CONFIG, build_reproduction

    root = tmp_path_factory.mktemp("tiny-figures")
    rep = build_reproduction(tiny_config(root / "results"))
    done: dict[str, tuple[dict, Path]] = {}

    def run(r) -> None:
        cfg_path = Path(rep.base) / r.path(RUN_CONFIG)
        result = Path(rep.base) / r.result
        if result.exists():
            return
        cfg_path.parent.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(yaml.safe_dump(r.config))
        # a checked quantum run keeps its final checkpoint: the check's end stretch starts there
        ckpt = (["--checkpoint", str(cfg_path.parent / "checkpoint.h5")]
                if r.engine == "quantum" and r.convergence else [])
        res = run_engine([r.engine, "--config", str(cfg_path), "--out", str(result), "--progress", "none"]
                         + (ckpt + ["--keep-checkpoint"] if ckpt else []))
        assert res.returncode == 0, res.stderr
        if r.convergence:
            res = run_engine([r.engine, "--config", str(cfg_path), "--out", str(cfg_path.parent / "convergence.h5"),
                              "--check-convergence", "--progress", "none"] + ckpt)
            assert res.returncode == 0, res.stderr

    def get(figure: str) -> tuple[dict, Path]:
        if figure not in done:
            fp = rep.figures[figure]
            for r in fp.runs + fp.extra_runs:
                run(r)
            plan = fp.as_dict(rep.base)
            out = root / "out" / figure
            out.mkdir(parents=True, exist_ok=True)
            (out / "plan.json").write_text(json.dumps(plan))
            done[figure] = (plan, out)
        return done[figure]

    return get
