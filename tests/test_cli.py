"""The command line as a user meets it: good runs, bad input, guards, kills."""

import json
import signal
import subprocess
import time

import h5py
import pytest

from conftest import kickedpair_cmd, run_cli
from kickedpair.io import is_complete

SMALL = ["--set", "classical.n_trajectories=200", "--set", "classical.n_kicks=5", "--progress", "none"]


def test_run_writes_a_complete_file_with_provenance(tmp_path):
    cfg = tmp_path / "cell.yaml"
    cfg.write_text("physics:\n  mass_ratio: 1e-2\n  eps: 2\nclassical:\n  seed: 7\n  snapshot_times: [0, 5]\n")
    out = tmp_path / "out" / "cell.h5"
    proc = run_cli(["classical", "--config", str(cfg), "--out", str(out)] + SMALL)
    assert proc.returncode == 0, proc.stderr
    assert "Dc =" in proc.stdout and "Traceback" not in proc.stderr
    assert is_complete(out)
    with h5py.File(out, "r") as f:
        for key in ("code_version", "git_commit", "created_utc", "mpi_library", "n_ranks", "n_threads",
                    "wall_time_s", "energy_drift_max", "steps_per_kick", "Dc", "Dc_err", "label"):
            assert key in f.attrs, key
        assert f.attrs["label"] == "cell"
        config = json.loads(f["params"].attrs["config_json"])
        assert config["physics"]["mass_ratio"] == 0.01 and config["classical"]["seed"] == 7
        assert f["params/physics"].attrs["mass_ratio"] == 0.01
        assert f["series/t"].shape == (6,) and f["series/p1_sq"][0] == 0.0
        assert f["snapshots/t5/p1"].shape == (200,)
        assert 0 < f.attrs["Dc"] == f["estimates"].attrs["D"]
    assert not list(out.parent.glob(".*tmp*")), "temporary file left behind"


@pytest.mark.parametrize("args, key", [
    (["--set", "physics.mass_ratio=-1"], "physics.mass_ratio"),
    (["--set", "physics.hbar=-0.01"], "physics.hbar"),
    (["--set", "classical.n_trajectories=0"], "classical.n_trajectories"),
    (["--set", "physics.colour=red"], "physics.colour"),
    (["--set", "physics.L=0"], "physics.L"),
    (["--set", "noequals"], "noequals"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, key):
    out = tmp_path / "x.h5"
    proc = run_cli(["classical", "--out", str(out)] + SMALL + args)
    assert proc.returncode == 2
    assert key in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_bad_config_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("physics: {mass_ratio: 1e-3\n")
    for path, needle in ((bad, "not valid YAML"), (tmp_path / "missing.yaml", "cannot read config")):
        proc = run_cli(["classical", "--config", str(path), "--out", str(tmp_path / "x.h5")])
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_bad_input_under_mpi_exits_cleanly(tmp_path):
    proc = run_cli(["classical", "--out", str(tmp_path / "x.h5"), "--set", "physics.eps=-1"], ranks=2)
    assert proc.returncode != 0
    assert proc.stderr.count("physics.eps") == 1  # reported once, by rank 0
    assert "Traceback" not in proc.stderr


def test_guard_names_cell_guard_and_value(tmp_path):
    out = tmp_path / "m1e-3.h5"
    proc = run_cli(["classical", "--out", str(out), "--set", "physics.mass_ratio=1e-3",
                    "--set", "classical.steps_per_kick=300"] + SMALL)
    assert proc.returncode == 3, proc.stderr
    assert "cell m1e-3" in proc.stderr and "guard 'energy drift'" in proc.stderr
    assert "value" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_killed_run_leaves_no_complete_looking_file(tmp_path):
    out = tmp_path / "cell.h5"
    # a finished earlier result must survive a killed re-run untouched
    proc = run_cli(["classical", "--out", str(out)] + SMALL)
    assert proc.returncode == 0, proc.stderr
    before = out.read_bytes()
    def start(target):
        return subprocess.Popen(
            kickedpair_cmd() + ["classical", "--out", str(target), "--progress", "none",
                                "--set", "classical.n_trajectories=20000", "--set", "classical.n_kicks=500"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    for target in (out, tmp_path / "never.h5"):
        child = start(target)
        time.sleep(4.0)
        assert child.poll() is None, "run finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert out.read_bytes() == before and is_complete(out)
    assert not (tmp_path / "never.h5").exists()
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["cell.h5"]


def test_show_config_prints_validated_defaults():
    proc = run_cli(["show-config", "--set", "physics.hbar=5e-2"])
    assert proc.returncode == 0
    assert "hbar: 0.05" in proc.stdout and "mass_ratio: 0.001" in proc.stdout
