"""benchmarks/calibrate_substeps.py --from-runs: a calibration ladder from result files of real
(MPI) runs gives the same record as the serial calibration of the same ladder."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import run_cli  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CASE = dict(m=1e-3, hbar=0.1, T=5, scheme="light_exact", N1=127, N2=31)
LADDER = (5, 10, 20)


@pytest.fixture(scope="module")
def calibration():
    """The benchmark module, imported without leaving its thread settings in this process."""
    saved = dict(os.environ)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("calibrate_substeps")
    finally:
        sys.path.remove(str(BENCHMARKS))
        os.environ.clear()
        os.environ.update(saved)


def _run(tmp_path: Path, substeps: int, N1: int = CASE["N1"]) -> Path:
    out = tmp_path / f"S{substeps}-N{N1}.h5"
    args = ["quantum", "--out", str(out), "--progress", "none",
            "--set", f"physics.hbar={CASE['hbar']}", "--set", f"physics.mass_ratio={CASE['m']}",
            "--set", f"quantum.n_kicks={CASE['T']}", "--set", f"quantum.scheme={CASE['scheme']}",
            "--set", f"quantum.N1={N1}", "--set", f"quantum.N2={CASE['N2']}",
            "--set", f"quantum.substeps={substeps}", "--set", "quantum.self_check_kicks=0"]
    done = run_cli(args, ranks=2, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def ladder_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ladder")
    return [_run(tmp, S) for S in LADDER]


def test_a_ladder_of_mpi_runs_gives_the_serial_calibration(calibration, ladder_files):
    from_runs = calibration.calibrate_from_runs([str(p) for p in reversed(ladder_files)])
    serial = calibration.calibrate((CASE["m"], CASE["hbar"], CASE["T"], CASE["scheme"], LADDER[0], len(LADDER),
                                    CASE["N1"], CASE["N2"]))
    assert from_runs["ladder"] == serial["ladder"] == list(LADDER[:-1])
    assert from_runs["reference"] == LADDER[-1]
    for a, b in zip(from_runs["errors"], serial["errors"]):
        assert a["max"] > 1e-8  # a real difference between the counts, not rounding
        assert a["max"] == pytest.approx(b["max"], rel=1e-6)
        assert a["by_tau"].keys() == b["by_tau"].keys()
    # 5 and 10 substeps bracket 1e-2 (errors ~1.5e-2 and ~1.2e-3): an interpolated need
    assert from_runs["S_star_0.01"] == pytest.approx(serial["S_star_0.01"], rel=1e-6)
    assert 5 < from_runs["S_star_0.01"] < 10
    assert len(from_runs["D_rel"]) == len(LADDER) - 1
    assert all(d >= 0 for d in from_runs["D_rel"])


def test_runs_that_differ_in_more_than_the_substeps_are_refused(calibration, ladder_files, tmp_path):
    other_grid = _run(tmp_path, 40, N1=255)
    with pytest.raises(SystemExit, match="differs .* in N1"):
        calibration.calibrate_from_runs([str(p) for p in ladder_files] + [str(other_grid)])
    with pytest.raises(SystemExit, match="three or more"):
        calibration.calibrate_from_runs([str(p) for p in ladder_files[:2]])
