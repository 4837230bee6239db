"""The fixture that runs a figure's engines for real at the tiny size of tiny_figures.TINY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kickedpair.reproduce.plan import RUN_CONFIG, build_reproduction
from tiny_figures import run_cli, tiny_config


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """``get(figure) -> (plan_dict, out_dir)``: the figure's runs done with the real CLI (cached)."""
    root = tmp_path_factory.mktemp("tiny-figures")
    rep = build_reproduction(tiny_config(root / "results"))
    done: dict[str, tuple[dict, Path]] = {}

    def run(r) -> None:
        cfg_path = Path(rep.path(RUN_CONFIG, figure=r.figure, engine=r.engine, run=r.name))
        result = cfg_path.parent / "result.h5"
        if result.exists():
            return
        cfg_path.parent.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(yaml.safe_dump(r.config))
        res = run_cli([r.engine, "--config", str(cfg_path), "--out", str(result), "--progress", "none"])
        assert res.returncode == 0, res.stderr
        if r.convergence:
            res = run_cli(["quantum", "--config", str(cfg_path), "--out", str(cfg_path.parent / "convergence.h5"),
                           "--check-convergence", "--progress", "none"])
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
