"""HDF5 output: atomic writes and the provenance every result file carries.

A result file is built in memory, written under a hidden temporary name unique to
the writing process in the target folder, flushed to disk, and renamed over the
target in one step: a run killed at any
moment leaves either no file or the previous complete one, never a partial
file under the final name.  The attribute ``complete = True`` is the last
thing written before the rename.

Every file the engines and the sweep write goes through one path: :func:`replacing` (a
temporary name beside the target, flushed and renamed over it by :func:`fsync_and_replace`
when the block succeeds, removed when it fails), used by :func:`write_bytes_atomic`,
:func:`write_text_atomic`, :func:`write_file_atomic` (a figure, say), :func:`write_atomic`
(HDF5) and the collective :func:`kickedpair.checkpoint.save`.

Every result file is read through one reader: :func:`open_result` (the open file) and
:func:`read_result` (root attributes, ``/series``, config) raise :class:`IncompleteResult`
saying why a file is not a finished result (missing, unreadable, no ``complete = True``);
:func:`why_incomplete` and :func:`is_complete` ask the same question.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io as _io
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TextIO

import h5py
import numpy as np

from . import __version__


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=5,
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance() -> dict[str, str]:
    """Who made a file, with what, where and when."""
    import numba
    import scipy
    from mpi4py import MPI

    return {
        "code_version": __version__,
        "git_commit": _git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "h5py": h5py.__version__,
        "mpi_library": MPI.Get_library_version().splitlines()[0].strip(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def _attr_value(value: Any) -> Any:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return np.asarray(value) if len(value) else np.zeros(0)
    return value


def write_params(group: h5py.Group, config: Mapping[str, Mapping[str, Any]]) -> None:
    """One subgroup per config section, one attribute per key; the JSON alongside."""
    group.attrs["config_json"] = json.dumps(config, sort_keys=True)
    for section, values in config.items():
        sub = group.create_group(section)
        for key, value in values.items():
            sub.attrs[key] = _attr_value(value)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush the file ``path`` to disk."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_and_replace(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk and rename it over ``path`` in one step (then flush the folder)."""
    fsync_file(tmp)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_run_header(f: h5py.File, kind: str, label: str, config: Mapping[str, Mapping[str, Any]],
                     estimates: Mapping[str, float] | None = None, **attrs: Any) -> None:
    """What every result file carries: kind, label, provenance, the run's own root
    attributes, ``/params`` (the whole config) and ``/estimates``."""
    f.attrs["kind"] = kind
    f.attrs["label"] = label
    for key, value in {**provenance(), **attrs}.items():
        f.attrs[key] = value
    write_params(f.create_group("params"), config)
    if estimates is not None:
        est = f.create_group("estimates")
        for key, value in estimates.items():
            est.attrs[key] = value


def write_snapshots(group: h5py.Group, snapshots: Mapping[int, Mapping[str, np.ndarray]], **options: Any) -> None:
    """One subgroup ``t<T>`` (attribute ``t``) per time, one dataset per named array."""
    for t, arrays in sorted(snapshots.items()):
        g = group.create_group(f"t{t}")
        g.attrs["t"] = t
        for name, values in arrays.items():
            g.create_dataset(name, data=values, **options)


def temporary_name(path: str | os.PathLike) -> Path:
    """A hidden name beside ``path`` that no other run (any host, process or call) uses, with
    the same suffix (so that writers choosing the format by the suffix still do)."""
    path = Path(path)
    unique = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.stem}.tmp-{unique}{path.suffix}")


def temporaries_of(path: str | os.PathLike) -> list[Path]:
    """The temporaries :func:`temporary_name` made for ``path`` that are still there (a run killed
    while writing leaves its own)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.stem}.tmp-*{path.suffix}"))


def write_atomic(path: str | os.PathLike, build: Callable[[h5py.File], None]) -> Path:
    """Create the HDF5 file ``path`` by calling ``build(file)``; atomic on POSIX.

    The file is built in memory and written with plain file I/O, so a full disk or any
    other write error is one clean ``OSError`` naming the file (HDF5's own writer can
    crash the process when a write fails); the temporary is then removed and a previous
    file at ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(f"memory-{path.name}", "w", driver="core", backing_store=False) as f:
        build(f)
        f.attrs["complete"] = True
        f.flush()
        image = f.id.get_file_image()
    write_bytes_atomic(path, image)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a unique temporary name, fsync and rename."""
    path = Path(path)
    try:
        with replacing(path) as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
    except OSError as exc:
        from .stopping import describe_os_error

        raise OSError(exc.errno, f"cannot write {path}: {describe_os_error(exc)}") from exc
    return path


def write_text_atomic(path: str | os.PathLike, text: str | Callable[[TextIO], None]) -> Path:
    """Write the text ``text`` (or what ``text(stream)`` writes) to ``path`` atomically."""
    if callable(text):
        buffer = _io.StringIO(newline="")
        text(buffer)
        text = buffer.getvalue()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, text.encode())


@contextlib.contextmanager
def replacing(path: str | os.PathLike, tmp: str | os.PathLike | None = None) -> Iterator[Path]:
    """A temporary name beside ``path`` (or ``tmp``) for the block to write; when the block ends
    without an error it is flushed and renamed over ``path`` (:func:`fsync_and_replace`),
    otherwise removed, and a previous file at ``path`` is untouched."""
    path = Path(path)
    tmp = Path(tmp) if tmp is not None else temporary_name(path)
    try:
        yield tmp
        fsync_and_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_file_atomic(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Let ``write(temporary)`` make the file (a figure, say), then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        write(tmp)
    return path


# --------------------------------------------------------------------------- reading results
class IncompleteResult(Exception):
    """A result file that cannot be used: ``state`` is 'missing', 'incomplete' (no
    ``complete = True``) or 'unreadable'; ``reason`` says why in a few words."""

    def __init__(self, path: str | os.PathLike, state: str, reason: str):
        self.path, self.state, self.reason = Path(path), state, reason
        super().__init__(f"{path}: {reason}")


@dataclass
class ResultFile:
    """What :func:`read_result` returns: the root attributes, ``/series`` and the run config."""

    path: Path
    attrs: dict
    series: dict[str, np.ndarray]
    config: dict


def _unreadable(path: Path, exc: BaseException) -> IncompleteResult:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return IncompleteResult(path, "unreadable", f"not a readable HDF5 file (truncated?): {first}")


def open_result(path: str | os.PathLike, locking: bool | None = None) -> h5py.File:
    """The finished result file ``path``, open for reading (close it, or use it in a ``with``
    block); :class:`IncompleteResult` when it is missing, a folder, unreadable or without the
    root attribute ``complete = True``."""
    path = Path(path)
    if not os.path.lexists(path):
        raise IncompleteResult(path, "missing", "missing")
    if path.is_dir():
        raise IncompleteResult(path, "unreadable", "a folder, not a result file")
    try:
        f = h5py.File(path, "r", locking=locking)
    except (OSError, KeyError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    try:
        complete = bool(f.attrs.get("complete", False))
    except (OSError, KeyError, ValueError) as exc:
        f.close()
        raise _unreadable(path, exc) from None
    if not complete:
        f.close()
        raise IncompleteResult(path, "incomplete", "no complete=True attribute")
    return f


def read_result(path: str | os.PathLike, series: bool = True) -> ResultFile:
    """The root attributes, the ``/series`` arrays (unless ``series=False``) and the config of
    the finished result file ``path``; :class:`IncompleteResult` says why it is not one."""
    path = Path(path)
    with open_result(path) as f:
        try:
            attrs = dict(f.attrs.items())
            data = {k: v[()] for k, v in f["series"].items()} if series and "series" in f else {}
            params = f["params"].attrs if "params" in f else {}
            config = json.loads(params["config_json"]) if "config_json" in params else {}
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise _unreadable(path, exc) from None
    return ResultFile(path, attrs, data, config)


def why_incomplete(path: str | os.PathLike) -> str:
    """Why the existing ``path`` is not a complete result file ('' when it is one)."""
    try:
        with open_result(path):
            return ""
    except IncompleteResult as exc:
        return exc.reason


def is_complete(path: str | os.PathLike) -> bool:
    """True when ``path`` is a readable result file that was finished."""
    return os.path.exists(path) and not why_incomplete(path)


def read_config(path: str | os.PathLike) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f["params"].attrs["config_json"])
