"""Tiny variants of the five figures (every run in seconds) and a config.yaml that holds them."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import yaml

from kickedpair.params import load_yaml


ROOT = Path(__file__).resolve().parents[2]

# Few kicks, small ensembles, large hbar: every run in seconds.
TINY = {
    "fig1": {"mass_ratio": [1.0e-2, 1.0], "eps": [2.0, 4.0], "interaction": ["gaussian", "gaussian_width"],
             "n_kicks": 6, "trajectories": 40, "inset_mass_ratio": 1.0e-2, "inset_eps": 2.0},
    "fig2": {"hbar": [0.1, 0.2], "distribution_hbar": [0.1, 0.2], "unperturbed_hbar": 0.1,
             "n_kicks": 8, "trajectories": 40, "quantum": {"convergence_kicks": 3}},
    "fig3": {"hbar_a": 0.1, "W_a": [0.05, 0.0], "W_b": 0.05, "hbar_b": [0.1, 0.2],
             "compare_hbar": [0.1, 0.2], "realisations": 3, "n_kicks": 8, "trajectories": 40},
    "fig4": {"mass_ratio": [1.0e-3, 1.0e-2]},
    "fig5": {"physics": {"K1": 5.0, "mass_ratio": 1.0e-2, "eps": 20.0, "coupling_scales_with_hbar": True},
             "hbar": 0.25, "K2": [0.0, 0.12], "n_kicks": 8,
             "quantum": {"N1": 255, "convergence_kicks": 3}, "power_window": [0.1, 1.0], "exp_window": [0.1, 1.0]},
}


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "kickedpair"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kickedpair.cli"]
    return subprocess.run(cmd + args, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def tiny_config(results: Path) -> dict:
    """config.yaml with a ``tiny`` preset (sweep and figure variants) writing under ``results``."""
    cfg = load_yaml((ROOT / "config.yaml").read_text())
    cfg["preset"] = "tiny"
    cfg["results"] = str(results)
    cfg["presets"]["tiny"] = {"hbar": [0.12, 0.24], "mass_ratio": [1.0e-3, 1.0e-2], "n_kicks": 8,
                              "trajectories": 40,
                              "resources": {"classical": {"ranks": 1}, "quantum": {"ranks": 1}}}
    cfg["reproduction"]["report"] = {"tiny": str(results / "report")}
    for fig, variant in TINY.items():
        cfg["reproduction"][fig]["tiny"] = copy.deepcopy(variant)
    return cfg
