"""``kickedpair estimate --sweep PRESET``: every cell's plan, the total, the node check."""

import re
import sys
from pathlib import Path

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


def test_the_adaptive_paper_preset_prints_its_first_round_its_bound_and_the_rectangular_grid_as_fine():
    proc = run_cli(["estimate", "--sweep", "paper_adaptive", "--config", str(ROOT / "config.yaml")], timeout=120)
    assert proc.returncode == 0, proc.stderr
    cells = _cell_lines(proc.stdout)
    assert len(cells) == 4 * 7  # round 0: 4 hbar x 7 m
    first = float(proc.stdout.split("total: ")[1].split()[0])
    adaptive = next(line for line in proc.stdout.splitlines() if line.startswith("adaptive:"))
    bound = float(re.search(r"at most ([0-9.e+]+) core-hours in all", adaptive).group(1))
    assert "at most 12 per mass ratio (16 in all)" in adaptive and bound > first
    rectangular = next(line for line in proc.stdout.splitlines() if line.startswith("a rectangular grid as fine"))
    assert "(85 hbar values, 0.05 apart relatively, x 7 mass ratios = 595 cells)" in rectangular
    assert float(rectangular.split("): ")[1].split()[0]) > first
