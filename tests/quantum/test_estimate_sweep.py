"""``kickedpair estimate --sweep PRESET``: every cell's plan, the total, the node check."""

import math
import re
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _cell_lines(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines() if line.strip()[:1].isdigit()]


def test_paper_preset_fits_a_node_and_names_every_cell():
    proc = run_cli(["estimate", "--sweep", "paper", "--config", str(ROOT / "config.yaml")], timeout=120)
    assert proc.returncode == 0, proc.stderr
    cells = _cell_lines(proc.stdout)
    assert len(cells) == 84  # 12 hbar x 7 m
    assert {c[2] for c in cells} <= {"light_exact", "strang"}
    assert "cells above a 256 GB node: 0" in proc.stdout
    assert all(c[-1] == "yes" for c in cells)
    # heavy partners go to plain Strang, the lightest to the light-particle-exact scheme
    by_m = {float(c[0]): c[2] for c in cells if float(c[1]) == 0.005}
    assert by_m[1.0] == "strang" and by_m[0.001] == "light_exact"
    assert "total:" in proc.stdout and "core-hours" in proc.stdout


def test_a_cell_above_the_node_is_flagged(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["presets"]["demo"]["quantum"] = {"N1": 65535, "N2": 8191}  # ~70 GB of state per rank's share
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = run_cli(["estimate", "--sweep", "demo", "--config", str(path), "--node-mem-gb", "64"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    cells = _cell_lines(proc.stdout)
    assert cells and all("NO" in " ".join(c) for c in cells)
    assert f"cells above a 64 GB node: {len(cells)}" in proc.stdout


def test_unknown_preset_is_refused_with_the_known_ones():
    proc = run_cli(["estimate", "--sweep", "nosuch", "--config", str(ROOT / "config.yaml")], timeout=120)
    assert proc.returncode == 2
    assert "preset" in proc.stderr and "paper" in proc.stderr


def test_the_adaptive_paper_preset_prints_its_first_round_its_expected_and_largest_cost_and_the_rectangular_grid():
    proc = run_cli(["estimate", "--sweep", "paper_adaptive", "--config", str(ROOT / "config.yaml")], timeout=120)
    assert proc.returncode == 0, proc.stderr
    cells = _cell_lines(proc.stdout)
    assert len(cells) == 4 * 7  # round 0: 4 hbar x 7 m
    first = float(proc.stdout.split("total: ")[1].split()[0])
    lines = proc.stdout.splitlines()
    rounds = next(x for x in lines if x.startswith("adaptive:"))
    assert "at most 12 more per mass ratio (16 per mass ratio in all)" in rounds
    largest = next(x for x in lines if x.startswith("adaptive, at most:"))
    assert largest.startswith(f"adaptive, at most: {28 + 7 * 12} cells")
    bound = float(re.search(r"hbar = 0.005: ([0-9.e+]+) core-hours", largest).group(1))
    expected_line = next(x for x in lines if x.startswith("adaptive, expected:"))
    n_expected = int(re.search(r"expected: (\d+) cells", expected_line).group(1))
    expected = float(re.search(r"\), ([0-9.e+]+) core-hours", expected_line).group(1))
    assert first < expected < bound
    # the expected count is what the refinement itself adds on curves whose two crossings lie
    # inside the first round's range, in different spacings (kickedpair.sweep.refine)
    from kickedpair.sweep import refine

    s = refine.RefineSettings(levels=(0.9, 0.1), rel_width=0.05, hbar_min=0.005, hbar_max=0.3)
    start = list(np.geomspace(0.005, 0.1, 4))
    for h0, alpha in [(0.006, 300.0), (0.01, 100.0), (0.02, 40.0)]:
        grid, states, _ = refine.refine_curve(lambda h: (min(1.0, math.exp(-alpha * (h - h0))), 0.0), start, s,
                                              max_cells=16, max_rounds=8)
        assert [t.state for t in states] == ["resolved", "resolved"]
        assert 28 + 7 * (len(grid) - 4) == n_expected, (h0, alpha, grid)
    rectangular = next(x for x in lines if x.startswith("a rectangular grid as fine"))
    assert "(85 hbar values, 0.05 apart relatively, x 7 mass ratios = 595 cells)" in rectangular
    assert float(rectangular.split("): ")[1].split()[0]) > expected
