"""HDF5 output: atomic writes and the provenance every result file carries.

A result file is built in memory, written under a hidden temporary name unique to
the writing process in the target folder, flushed to disk, and renamed over the
target in one step: a run killed at any
moment leaves either no file or the previous complete one, never a partial
file under the final name.  The attribute ``complete = True`` is the last
thing written before the rename.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

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


def fsync_and_replace(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk and rename it over ``path`` in one step (then flush the folder)."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
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
    tmp = temporary_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        fsync_and_replace(tmp, path)
    except OSError as exc:
        from .stopping import describe_os_error

        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, f"cannot write {path}: {describe_os_error(exc)}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def why_incomplete(path: str | os.PathLike) -> str:
    """Why the existing ``path`` is not a complete result file ('' when it is one)."""
    path = Path(path)
    if path.is_dir():
        return "a folder, not a result file"
    try:
        with h5py.File(path, "r") as f:
            if bool(f.attrs.get("complete", False)):
                return ""
            return "no complete=True attribute"
    except (OSError, KeyError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"not a readable HDF5 file (truncated?): {first}"


def is_complete(path: str | os.PathLike) -> bool:
    """True when ``path`` is a readable result file that was finished."""
    return os.path.exists(path) and not why_incomplete(path)


def read_config(path: str | os.PathLike) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f["params"].attrs["config_json"])
