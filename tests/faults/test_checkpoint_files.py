"""Damaged checkpoints and two runs on one checkpoint or one output.

An unusable checkpoint met by ``--resume`` is reported, moved aside (kept for a look) and the
run starts afresh, reaching the numbers of an undisturbed run; a second run on a checkpoint
in use is refused with the holder named, and the first is unaffected."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultlib import (CELL, PROMPT_S, assert_none_alive, finish, leftovers, one_line_error, run,  # noqa: E402
                      series, start, start_long_run, wait_for_checkpoint)

from kickedpair.io import is_complete  # noqa: E402

pytestmark = pytest.mark.mpi

ARGS = ["--set", "quantum.n_kicks=30", "--set", "quantum.checkpoint_every=5"] + CELL


@pytest.fixture(scope="module")
def sound_checkpoint(tmp_path_factory):
    """(a checkpoint at t = 10 of the cell, the undisturbed run's series)."""
    root = tmp_path_factory.mktemp("sound")
    out = root / "cell.h5"
    assert run(["quantum", "--out", str(out)] + ARGS)[0] == 0
    ckpt = root / "cell.ckpt.h5"
    short = ["--set", "quantum.n_kicks=10"] + CELL
    assert run(["quantum", "--out", str(root / "short.h5"), "--checkpoint", str(ckpt),
                "--keep-checkpoint"] + short)[0] == 0
    return ckpt.read_bytes(), series(out)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())


def _drop_series(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        del f["series/p1_sq"]


def _drop_state(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        del f["state"]


def _not_complete(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        del f.attrs["complete"]


def _scramble_state(path: Path) -> None:
    """Bits flipped inside the state: HDF5 reads it, the norm gives it away."""
    with h5py.File(path, "r+") as f:
        f["state"][100:120] = 3.0 + 1.0j


DAMAGE = {"truncated": _truncate, "empty": _empty, "garbage": _garbage, "series missing": _drop_series,
          "state missing": _drop_state, "not complete": _not_complete, "state scrambled": _scramble_state}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_is_moved_aside_and_the_run_recovers(tmp_path, sound_checkpoint, damage):
    data, reference = sound_checkpoint
    ckpt = tmp_path / "cell.ckpt.h5"
    ckpt.write_bytes(data)
    DAMAGE[damage](ckpt)
    damaged = ckpt.read_bytes()
    out = tmp_path / "cell.h5"
    rc, stdout, err, _ = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume"] + ARGS,
                             timeout=120)
    assert rc == 0, err
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if "warning: checkpoint" in line]
    assert len(warnings) == 1 and "unusable" in warnings[0] and "starting from t = 0" in warnings[0], err
    assert "resuming" not in stdout
    [aside] = list(tmp_path.glob("cell.ckpt.h5.corrupt-*"))
    assert aside.read_bytes() == damaged          # the evidence is kept as it was
    for key, values in reference.items():
        np.testing.assert_array_equal(series(out)[key], values, err_msg=key)


def test_second_run_on_a_checkpoint_in_use_is_refused(tmp_path, sound_checkpoint):
    _, reference = sound_checkpoint
    out = tmp_path / "cell.h5"
    ckpt = tmp_path / "cell.ckpt.h5"
    long_args = ["--set", "quantum.n_kicks=300", "--set", "quantum.checkpoint_every=5"] + CELL
    first = start(["quantum", "--out", str(out), "--checkpoint", str(ckpt)] + long_args)
    wait_for_checkpoint(ckpt, first)
    rc, _, err, took = run(["quantum", "--out", str(tmp_path / "other.h5"), "--checkpoint", str(ckpt),
                            "--resume"] + long_args, timeout=PROMPT_S)
    assert rc == 2, err
    [line] = one_line_error(err)
    assert f"checkpoint {ckpt} is in use by another run (host " in line and "pid" in line
    assert not (tmp_path / "other.h5").exists()
    rc, _, err, _ = finish(first, timeout=120)
    assert rc == 0, err                           # the first run is unaffected
    assert is_complete(out) and not ckpt.exists()
    assert_none_alive(str(tmp_path))
    # the lock goes with the holder: once it has ended, a run on that checkpoint goes ahead
    rc, _, err, _ = run(["quantum", "--out", str(tmp_path / "again.h5"), "--checkpoint", str(ckpt)] + ARGS)
    assert rc == 0, err


def test_lock_of_a_killed_run_does_not_block(tmp_path):
    """A run killed with SIGKILL leaves its lock file, but not the lock; the checkpoint
    temporary a kill in mid-write leaves (the size of a whole checkpoint) is removed by the
    next run that holds the lock, and nobody else's file."""
    proc, out, ckpt = start_long_run(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    finish(proc)
    assert Path(f"{ckpt}.lock").exists()
    ckpt = Path(ckpt)
    stale = ckpt.with_name(f".{ckpt.stem}.tmp-host-123-0a1b2c3d{ckpt.suffix}")
    stale.write_bytes(b"\0" * 4096)
    other = ckpt.with_name(f".other.tmp-host-123-0a1b2c3d{ckpt.suffix}")
    other.write_bytes(b"x")
    rc, stdout, err, _ = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume",
                              "--set", "quantum.n_kicks=40", "--set", "quantum.checkpoint_every=5"] + CELL)
    assert rc == 0, err
    assert "resuming from" in stdout
    assert not stale.exists() and other.exists()


def test_two_runs_writing_one_output(tmp_path):
    """Concurrent writers of one result file never share a temporary: both finish, the file is
    one of theirs, complete, and nothing is left behind."""
    out = tmp_path / "classical.h5"
    args = ["classical", "--out", str(out), "--set", "classical.n_trajectories=400",
            "--set", "classical.n_kicks=20", "--threads", "1", "--progress", "none"]
    procs = [start(args, ranks=None) for _ in range(2)]
    for proc in procs:
        rc, _, err, _ = finish(proc, timeout=120)
        assert rc == 0, err
    assert is_complete(out)
    assert leftovers(tmp_path) == []
    with h5py.File(out, "r") as f:
        assert f["series/p1_sq"].shape == (21,)


def test_checkpoint_of_another_grid_is_refused_not_moved_aside(tmp_path, sound_checkpoint):
    """A sound checkpoint of other parameters is the user's to sort out: refused (exit 2, one
    line naming the key), and left exactly where and as it was."""
    data, _ = sound_checkpoint
    ckpt = tmp_path / "cell.ckpt.h5"
    ckpt.write_bytes(data)
    rc, _, err, _ = run(["quantum", "--out", str(tmp_path / "cell.h5"), "--checkpoint", str(ckpt), "--resume"]
                        + ARGS + ["--set", "quantum.N1=511"], timeout=PROMPT_S)
    assert rc == 2, err
    assert one_line_error(err) == [f"kickedpair quantum: error: cannot resume from {ckpt}: "
                                   "quantum.N1: checkpoint has 255, this run 511"]
    assert ckpt.read_bytes() == data and not list(tmp_path.glob("*.corrupt-*"))
    assert not (tmp_path / "cell.h5").exists()
