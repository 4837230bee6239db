"""Checkpoints of a row-slab decomposed state and of the series recorded so far.

One HDF5 file per run, whatever the number of ranks: the global state array
``state[N1, N2]`` (each rank writes its own rows in turn, so no rank ever holds
more than its slab), the time ``t`` it belongs to, the series ``t = 0..t`` held
by rank 0, the run's config (JSON) and the rank layout that wrote it.  The file
is written under a hidden temporary name and renamed in one step, so a kill at
any moment leaves the previous checkpoint intact.  A resumed run may use any
number of ranks: each reads the rows it owns.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np
from mpi4py import MPI

from .io import fsync_and_replace


def save(path: str | os.PathLike, comm: MPI.Comm, state: np.ndarray, row_start: int,
         shape: tuple[int, int], t: int, config: Mapping[str, Any],
         series: Mapping[str, np.ndarray] | None, attrs: Mapping[str, Any] | None = None) -> None:
    """Collective: write the checkpoint of time ``t`` (``series`` and ``attrs`` from rank 0)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    layout = np.array(comm.allgather((row_start, row_start + state.shape[0])), dtype=np.int64)
    if comm.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(tmp, "w", locking=False) as f:
            f.attrs["t"] = t
            f.attrs["config_json"] = json.dumps(config, sort_keys=True)
            f.attrs["n_ranks"] = comm.size
            f.attrs["rank_rows"] = layout
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            f.create_dataset("state", shape=shape, dtype=state.dtype)
            g = f.create_group("series")
            for name, values in (series or {}).items():
                g.create_dataset(name, data=values)
    for rank in range(comm.size):  # one writer at a time: plain HDF5, any file system
        if comm.rank == rank:
            with h5py.File(tmp, "r+", locking=False) as f:
                f["state"][row_start:row_start + state.shape[0]] = state
        comm.Barrier()
    if comm.rank == 0:
        with h5py.File(tmp, "r+", locking=False) as f:
            f.attrs["complete"] = True
        fsync_and_replace(tmp, path)
    comm.Barrier()


def exists(path: str | os.PathLike) -> bool:
    """A complete checkpoint is at ``path``."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            return bool(f.attrs.get("complete", False))
    except (OSError, KeyError):
        return False


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
