"""A failure on one rank, or of the disk under it, ends every rank within seconds with a
non-zero status and one message; nothing finished is damaged; a re-run recovers.

Every case is a real 2-rank ``mpiexec`` run of the engine's command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultlib import (CELL, PROMPT_S, assert_none_alive, engines_alive, fill, finish, leftovers,  # noqa: E402
                      one_line_error, run, series, small_tmpfs, start, start_long_run,
                      wait_for_checkpoint)

pytestmark = pytest.mark.mpi


def test_checkpoint_pointing_at_a_folder(tmp_path):
    folder = tmp_path / "ckdir"
    folder.mkdir()
    rc, out, err, took = run(["quantum", "--out", str(tmp_path / "a.h5"), "--checkpoint", str(folder),
                              "--set", "quantum.n_kicks=30"] + CELL, timeout=PROMPT_S)
    assert rc == 2, err
    assert one_line_error(err) == [f"kickedpair quantum: error: --checkpoint: {folder} is a folder, not a file"]
    assert not (tmp_path / "a.h5").exists() and list(folder.iterdir()) == []
    assert_none_alive(str(tmp_path))
    rc, _, err, _ = run(["quantum", "--out", str(tmp_path / "a.h5"), "--checkpoint", str(folder / "c.h5"),
                         "--set", "quantum.n_kicks=30"] + CELL)
    assert rc == 0, err  # the same run with a file for its checkpoint


def test_checkpoint_in_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    with small_tmpfs(ro, 1024):
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True, timeout=30)
        rc, out, err, took = run(["quantum", "--out", str(tmp_path / "a.h5"), "--checkpoint", str(ro / "c.h5"),
                                  "--set", "quantum.n_kicks=30"] + CELL, timeout=PROMPT_S)
    assert rc == 2, err
    [line] = one_line_error(err)
    assert line.startswith(f"kickedpair quantum: error: --checkpoint: cannot write in folder {ro}")
    assert "Read-only file system" in line
    assert not (tmp_path / "a.h5").exists()
    assert_none_alive(str(tmp_path))
    rc, _, err, _ = run(["quantum", "--out", str(tmp_path / "a.h5"), "--checkpoint", str(tmp_path / "c.h5"),
                         "--set", "quantum.n_kicks=30"] + CELL)
    assert rc == 0, err  # the same run with a writable checkpoint folder


def test_disk_full_writing_the_result_loses_nothing(tmp_path):
    """Rank 0 meets a full disk writing the result: every rank ends at once (status 1, one
    line); the earlier result there is untouched; the run's last checkpoint holds the whole
    run, so the re-run only writes the result."""
    args = ["--set", "quantum.n_kicks=20"] + CELL
    reference = tmp_path / "reference.h5"
    assert run(["quantum", "--out", str(reference)] + args)[0] == 0
    disk = tmp_path / "disk"
    ckpt = tmp_path / "cell.ckpt.h5"
    with small_tmpfs(disk, 2048):
        out = disk / "cell.h5"
        earlier = run(["quantum", "--out", str(out), "--set", "quantum.n_kicks=3"] + CELL)
        assert earlier[0] == 0
        before = out.read_bytes()
        filler = fill(disk, leave_kb=8)
        rc, _, err, took = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt)] + args)
        assert rc == 1, err
        [line] = one_line_error(err)
        assert line.startswith("kickedpair quantum: rank 0 of 2: error: cannot write")
        assert "No space left on device" in line and line.endswith("aborting all ranks")
        assert took < PROMPT_S
        assert out.read_bytes() == before          # the finished file is untouched
        assert leftovers(disk) == []               # no temporary left behind
        assert_none_alive(str(tmp_path))
        filler.unlink()
        rc, stdout, err, _ = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume"] + args)
        assert rc == 0, err
        assert "resuming from" in stdout and "at t = 20" in stdout
        for key, values in series(reference).items():
            np.testing.assert_array_equal(series(out)[key], values, err_msg=key)
    assert not ckpt.exists()


def test_disk_full_writing_a_checkpoint_keeps_the_previous_one(tmp_path):
    """A checkpoint that does not fit is refused before HDF5 writes (which could crash the
    process); the previous checkpoint stays as it was; after freeing space the run resumes."""
    disk = tmp_path / "disk"
    out = tmp_path / "cell.h5"
    args = ["--set", "quantum.n_kicks=40", "--set", "quantum.checkpoint_every=10"] + CELL
    with small_tmpfs(disk, 4096):
        ckpt = disk / "cell.ckpt.h5"
        proc = start(["quantum", "--out", str(out), "--checkpoint", str(ckpt)] + args)
        wait_for_checkpoint(ckpt, proc)
        proc.send_signal(signal.SIGTERM)
        assert finish(proc)[0] == 143
        before = ckpt.read_bytes()
        filler = fill(disk, leave_kb=64)
        rc, _, err, took = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume"] + args)
        assert rc == 1, err
        [line] = one_line_error(err)
        assert f"cannot write checkpoint {ckpt}" in line and "No space left on device" in line
        assert took < PROMPT_S
        assert ckpt.read_bytes() == before and leftovers(disk) == []
        assert not out.exists()
        assert_none_alive(str(tmp_path))
        filler.unlink()
        rc, stdout, err, _ = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume"] + args)
        assert rc == 0, err
        assert "resuming from" in stdout
    reference = tmp_path / "reference.h5"
    assert run(["quantum", "--out", str(reference)] + args)[0] == 0
    for key, values in series(reference).items():
        np.testing.assert_array_equal(series(out)[key], values, err_msg=key)


def _rank_pids(marker: str) -> list[int]:
    """Engine processes (not mpiexec or its proxy) of a run, by rank order of start."""
    procs = [p for p in engines_alive(marker)
             if "kickedpair" in " ".join(p.cmdline()) and "mpiexec" not in p.name() and "hydra" not in p.name()]
    return sorted(p.pid for p in procs)


def test_a_killed_rank_ends_the_others(tmp_path):
    """SIGKILL to one rank (a node lost, the OOM killer): the launcher ends the other one."""
    proc, out, ckpt = start_long_run(tmp_path)
    pids = _rank_pids(str(tmp_path))
    assert len(pids) == 2, pids
    os.kill(pids[-1], signal.SIGKILL)
    rc, _, err, took = finish(proc)
    assert rc != 0 and took < PROMPT_S
    assert not out.exists()
    assert_none_alive(str(tmp_path))
    from kickedpair import checkpoint

    assert checkpoint.inspect(ckpt) is None  # whichever checkpoint is there is sound
    rc, stdout, err, _ = run(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume",
                              "--set", "quantum.n_kicks=400", "--set", "quantum.checkpoint_every=100"] + CELL)
    assert rc == 0, err
    assert "resuming from" in stdout


def test_a_signal_to_one_rank_stops_every_rank(tmp_path):
    """SIGTERM reaching one rank only: the others learn of it after the same kick."""
    out = tmp_path / "cell.h5"
    ckpt = tmp_path / "cell.ckpt.h5"
    # no pilot (quantum.self_check_kicks=0): on a loaded machine it can outlast the wait below,
    # and the signal would then stop the pilot, not the kicks
    proc = start(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--set", "quantum.n_kicks=3000",
                  "--set", "quantum.checkpoint_every=1000", "--set", "quantum.self_check_kicks=0"] + CELL)
    time.sleep(0.5)
    deadline = time.monotonic() + 60
    while len(_rank_pids(str(tmp_path))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # well inside the kicks
    os.kill(_rank_pids(str(tmp_path))[-1], signal.SIGTERM)
    rc, _, err, took = finish(proc)
    assert rc == 143, err
    [line] = one_line_error(err)
    assert line.startswith("kickedpair quantum: stopped by SIGTERM at t=") and "checkpoint" in line
    assert took < PROMPT_S
    assert not out.exists()
    assert_none_alive(str(tmp_path))
