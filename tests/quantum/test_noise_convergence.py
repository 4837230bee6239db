"""The random-kick model's grid check (``kickedpair noise --check-convergence``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import run_cli  # noqa: E402

from kickedpair.params import parse_config  # noqa: E402
from kickedpair.quantum.noise import check_noise_convergence  # noqa: E402


def _config(**noise):
    return parse_config({"physics": {"hbar": 0.1, "eps": 0.0},
                         "noise": {"n_kicks": 30, "realisations": 3, "W": 0.05, **noise}})


def test_auto_grid_is_converged_and_a_truncated_one_is_not():
    good = check_noise_convergence(_config())
    assert good.base.N1 >= 127 and good.variants["double_grid"].N1 == 2 * (good.base.N1 + 1) - 1
    assert good.changes["double_grid"]["p1_sq"] < 1e-9
    # a grid that cuts the distribution (guard relaxed so that the run goes through) is caught
    bad = check_noise_convergence(_config(N=31, tail_tol=1.0))
    assert bad.changes["double_grid"]["p1_sq"] > 1e-3
    assert math.isnan(bad.changes["double_grid"]["purity"])


def test_cli_writes_a_convergence_report(tmp_path):
    out = tmp_path / "conv.h5"
    res = run_cli(["noise", "--set", "physics.hbar=0.1", "--set", "noise.n_kicks=20",
                   "--set", "noise.realisations=2", "--check-convergence", "--out", str(out)], ranks=2)
    assert res.returncode == 0, res.stderr
    with h5py.File(out) as f:
        assert f.attrs["kind"] == "convergence" and f.attrs["complete"]
        assert f.attrs["n_kicks"] == 20 and f.attrs["base_scheme"] == "exact map"
        assert f.attrs["double_grid_p1_sq"] < 1e-9
