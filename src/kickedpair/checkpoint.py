"""Checkpoints of a row-slab decomposed state and of the series recorded so far.

One HDF5 file per run, whatever the number of ranks: the global state array
``state[N1, N2]`` (each rank writes its own rows in turn, so no rank ever holds
more than its slab), the time ``t`` it belongs to, the series ``t = 0..t`` held
by rank 0, the run's config (JSON) and the rank layout that wrote it.  The file
is written under a hidden temporary name unique to the writing run and renamed
in one step, so a kill at any moment leaves the previous checkpoint intact.  A
resumed run may use any number of ranks: each reads the rows it owns.

A checkpoint in use is locked (:class:`Lock`: ``<checkpoint>.lock``, an
advisory ``flock`` held by rank 0 for the whole run); a second run on it is
refused with the holder named.  A checkpoint that cannot be read back
(truncated, empty, garbage, a dataset missing) is reported by :func:`inspect`;
the run then moves it aside to ``<checkpoint>.corrupt-<UTC time>`` and starts
afresh (:func:`move_aside`), so a re-run of a sweep recovers by itself and the
damaged file is kept for a look.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np
from mpi4py import MPI

from .io import IncompleteResult, open_result, replacing, temporaries_of, temporary_name
from .params import ConfigError


class CheckpointBusy(ConfigError):
    """Another run holds the checkpoint's lock."""


def save(path: str | os.PathLike, comm: MPI.Comm, state: np.ndarray, row_start: int,
         shape: tuple[int, int], t: int, config: Mapping[str, Any],
         series: Mapping[str, np.ndarray] | None, attrs: Mapping[str, Any] | None = None) -> None:
    """Collective: write the checkpoint of time ``t`` (``series`` and ``attrs`` from rank 0).

    An I/O error on rank 0 (a full disk, say) is raised there; the caller ends every rank
    (:mod:`kickedpair.stopping`).  The previous checkpoint is untouched, the temporary removed.
    """
    path = Path(path)
    layout = np.array(comm.allgather((row_start, row_start + state.shape[0])), dtype=np.int64)
    tmp = comm.bcast(temporary_name(path) if comm.rank == 0 else None, root=0)
    # rank 0 renames the temporary over the checkpoint when every rank has written, or removes it
    try:
        with replacing(path, tmp) if comm.rank == 0 else contextlib.nullcontext(tmp):
            if comm.rank == 0:
                _create(path, tmp, comm.size, layout, state.dtype, shape, t, config, series, attrs)
            comm.Barrier()
            for rank in range(comm.size):  # one writer at a time: plain HDF5, any file system
                if comm.rank == rank:
                    with h5py.File(tmp, "r+", locking=False) as f:
                        f["state"][row_start:row_start + state.shape[0]] = state
                comm.Barrier()
            if comm.rank == 0:
                with h5py.File(tmp, "r+", locking=False) as f:
                    f.attrs["complete"] = True
    except OSError as exc:  # a full disk, say (a second signal in the middle goes through as it is)
        raise OSError(f"cannot write checkpoint {path} (t = {t}): {_reason(exc)}") from exc
    comm.Barrier()


def _create(path: Path, tmp: Path, n_ranks: int, layout: np.ndarray, dtype, shape: tuple[int, int],
            t: int, config: Mapping[str, Any], series: Mapping[str, np.ndarray] | None,
            attrs: Mapping[str, Any] | None) -> None:
    """Rank 0: the temporary file with everything but the state's values, its space reserved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    need = int(np.prod(shape)) * np.dtype(dtype).itemsize + sum(
        np.asarray(v).nbytes for v in (series or {}).values()) + _MARGIN
    _check_free_space(path.parent, need)
    with h5py.File(tmp, "w-", locking=False) as f:
        f.attrs["t"] = t
        f.attrs["config_json"] = json.dumps(config, sort_keys=True)
        f.attrs["n_ranks"] = n_ranks
        f.attrs["rank_rows"] = layout
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
        f.create_dataset("state", shape=shape, dtype=dtype)
        g = f.create_group("series")
        for name, values in (series or {}).items():
            g.create_dataset(name, data=values)
    _reserve(tmp, need)


_MARGIN = 256 << 10  # bytes beyond state and series: HDF5 metadata and attributes


def _check_free_space(folder: Path, need: int) -> None:
    """Refuse to start a checkpoint that the file system cannot hold (HDF5 may crash on a full disk)."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise OSError(errno.ENOSPC, f"No space left on device: {need / 2**20:.1f} MB needed, "
                                    f"{free / 2**20:.1f} MB free in {folder}")


def _reserve(tmp: Path, need: int) -> None:
    """Allocate the file's blocks now, so that the ranks' writes cannot meet a full disk."""
    fd = os.open(tmp, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, max(need, os.fstat(fd).st_size))
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    from .stopping import describe_os_error

    return describe_os_error(exc)


def exists(path: str | os.PathLike) -> bool:
    """A complete checkpoint is at ``path``."""
    try:
        with open_result(path, locking=False):
            return True
    except IncompleteResult:
        return False


def inspect(path: str | os.PathLike, series: tuple[str, ...] = ()) -> str | None:
    """Why the checkpoint at ``path`` cannot be resumed from, or None when it is sound.

    Reads the structure and the series (each name in ``series`` must be there), not the
    state (the resuming run checks its norm).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read it: {_reason(exc)}"
    if size == 0:
        return "the file is empty"
    try:
        with open_result(path, locking=False) as f:
            for key in ("t", "config_json"):
                if key not in f.attrs:
                    return f"attribute '{key}' is missing"
            t = int(f.attrs["t"])
            json.loads(f.attrs["config_json"])
            if "state" not in f or not isinstance(f["state"], h5py.Dataset) or f["state"].ndim != 2:
                return "dataset 'state' is missing or not a 2-d array"
            if "series" not in f:
                return "group 'series' is missing"
            for name in series:
                if name not in f["series"]:
                    return f"series '{name}' is missing"
            for name, ds in f["series"].items():
                if ds.shape[0] < t + 1 and not name.startswith("P1_t"):
                    return f"series '{name}' holds {ds.shape[0]} values, fewer than t + 1 = {t + 1}"
                ds[()]
    except IncompleteResult as exc:
        if exc.state == "incomplete":
            return "it was never completed (no 'complete' attribute)"
        return f"HDF5 cannot read it: {exc.reason.split(': ', 1)[-1][:300]}"
    except (OSError, KeyError, ValueError, TypeError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"HDF5 cannot read it: {text[:300]}"
    return None


def move_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged checkpoint to ``<path>.corrupt-<UTC time>``; return the new name."""
    path = Path(path)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, target)
    return target


def load(path: str | os.PathLike, row_start: int, row_stop: int
         ) -> tuple[np.ndarray, int, dict, dict[str, np.ndarray], dict[str, Any]]:
    """Read this rank's rows: ``(state_rows, t, config, series, attrs)``."""
    with h5py.File(path, "r", locking=False) as f:
        state = f["state"][row_start:row_stop]
        t = int(f.attrs["t"])
        config = json.loads(f.attrs["config_json"])
        series = {name: ds[()] for name, ds in f["series"].items()}
        attrs = {k: v for k, v in f.attrs.items() if k not in ("config_json", "t")}
    return state, t, config, series, attrs


def remove(path: str | os.PathLike, comm: MPI.Comm) -> None:
    if comm.rank == 0:
        Path(path).unlink(missing_ok=True)
    comm.Barrier()


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the hidden temporaries of checkpoint ``path`` (:func:`~kickedpair.io.temporaries_of`)
    left by runs killed while writing it; each holds the disk space of a whole checkpoint.
    Call only while holding the checkpoint's :class:`Lock`.  Returns the files removed."""
    stale = temporaries_of(path)
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


class Lock:
    """Collective context manager: rank 0 holds ``flock`` on ``<checkpoint>.lock`` for the run.

    Raises :class:`CheckpointBusy` on every rank when another run holds it.  The lock goes
    with the process (also after a kill); the lock file holds the holder's host, pid and
    start time and is removed when the run ends normally.  Holding it, rank 0 removes the
    temporaries of this checkpoint that killed runs left (:func:`remove_stale_temporaries`):
    no other run writes this checkpoint while the lock is held.
    """

    def __init__(self, checkpoint: str | os.PathLike, comm: MPI.Comm):
        self.checkpoint = Path(checkpoint)
        self.path = Path(f"{checkpoint}.lock")
        self.comm = comm
        self._fd: int | None = None

    def __enter__(self) -> "Lock":
        problem = None
        if self.comm.rank == 0:
            problem = self._acquire()
        problem = self.comm.bcast(problem, root=0)
        if problem:
            raise CheckpointBusy(problem)
        return self

    def _acquire(self) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 300).decode(errors="replace").strip() or "another process"
            os.close(fd)
            return (f"checkpoint {self.checkpoint} is in use by another run ({holder}); "
                    "wait for it to end, or give this run its own --out/--checkpoint")
        os.ftruncate(fd, 0)
        started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"host {socket.gethostname()}, pid {os.getpid()}, since {started}\n".encode())
        self._fd = fd
        remove_stale_temporaries(self.checkpoint)
        return None

    def __exit__(self, exc_type, *exc) -> bool:
        if self._fd is not None:
            if exc_type is None:
                self.path.unlink(missing_ok=True)
            os.close(self._fd)  # releases the lock
            self._fd = None
        return False
