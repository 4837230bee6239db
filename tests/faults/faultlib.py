"""Shared pieces of the fault-injection suite: a small quantum cell, launching runs that
are signalled or left to fail, a small tmpfs for a full disk, checks that no process is left."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import kickedpair_cmd, mpiexec  # noqa: E402

# hbar = 0.1, m = 0.01 on 255 x 31 modes: ~100 kicks/s on 2 ranks here.  The tail guard is
# relaxed so that long runs (for signals at random kicks) are not stopped by the coarse grid.
CELL = ["--set", "physics.hbar=0.1", "--set", "physics.mass_ratio=0.01", "--set", "quantum.N1=255",
        "--set", "quantum.N2=31", "--set", "quantum.substeps=24", "--set", "quantum.tail_tol=1e-2",
        "--threads", "1", "--progress", "none"]

#: seconds a failing run may take to end every rank (the agreement deadline is 10 s)
PROMPT_S = 30


def command(args: list[str], ranks: int | None = 2) -> list[str]:
    cmd = kickedpair_cmd() + list(args)
    if ranks is not None:
        cmd = [mpiexec(), "-n", str(ranks)] + cmd
    return cmd


def env(**extra: str) -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def start(args: list[str], ranks: int | None = 2, **kw) -> subprocess.Popen:
    """Start ``kickedpair ARGS`` (under mpiexec) in its own session, output captured."""
    return subprocess.Popen(command(args, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(**kw.pop("env", {})), start_new_session=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = PROMPT_S) -> tuple[int, str, str, float]:
    """Wait (bounded) for ``proc``; kill its whole session and fail if it hangs."""
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"run hung for more than {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err, time.monotonic() - t0


def run(args: list[str], ranks: int | None = 2, timeout: float = 300, **kw) -> tuple[int, str, str, float]:
    return finish(start(args, ranks, **kw), timeout)


def engines_alive(marker: str) -> list[psutil.Process]:
    """Processes whose command line mentions ``marker`` (a path unique to the test)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in (p.info["cmdline"] or [])):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def assert_none_alive(marker: str) -> None:
    deadline = time.monotonic() + 5
    while engines_alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = engines_alive(marker)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    assert not alive, f"processes left alive: {[p.pid for p in alive]}"


def wait_for_checkpoint(path: Path, proc: subprocess.Popen, timeout: float = 60) -> int:
    """Wait until a complete checkpoint is at ``path``; return its t."""
    from kickedpair import checkpoint

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended (status {proc.returncode}) before its first checkpoint: "
                        f"{proc.stderr.read()}")
        if checkpoint.exists(path):
            with h5py.File(path, "r", locking=False) as f:
                return int(f.attrs["t"])
        time.sleep(0.05)
    pytest.fail(f"no checkpoint at {path} after {timeout} s")


def start_long_run(folder: Path) -> tuple[subprocess.Popen, Path, Path]:
    """``(process, out, checkpoint)`` of a 3000-kick 2-rank run of the cell in ``folder``,
    checkpointing every 5 kicks, returned once its first checkpoint is there."""
    out, ckpt = folder / "cell.h5", folder / "cell.ckpt.h5"
    proc = start(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--set", "quantum.n_kicks=3000",
                  "--set", "quantum.checkpoint_every=5"] + CELL)
    wait_for_checkpoint(ckpt, proc)
    return proc, out, ckpt


def series(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: v[()] for k, v in f["series"].items()}


def one_line_error(err: str) -> list[str]:
    """The lines of our own messages in stderr (not the launcher's), with no traceback."""
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("kickedpair ")]


def leftovers(folder: Path) -> list[str]:
    """Temporary files (ours) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


@contextlib.contextmanager
def small_tmpfs(where: Path, size_kb: int):
    """A tmpfs of ``size_kb`` KiB mounted at ``where`` (needs root, as in CI)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs (for a full disk) needs root and mount(8), as in CI")
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(folder: Path, leave_kb: int) -> Path:
    """Fill ``folder``'s file system until about ``leave_kb`` KiB are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave_kb * 1024))
    return filler
