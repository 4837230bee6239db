"""The classical result file (HDF5) and its reader.

Layout::

    /                 attrs: kind='classical', label, Dc, Dc_err, steps_per_kick,
                             force_evals_per_period, energy_drift_max, n_ranks,
                             n_threads, wall_time_s, provenance (code_version, ...)
    /params           attrs: config_json; one subgroup per section, one attr per key
    /series/t, p1_sq, p1_sq_sem, p2_sq, p2_sq_sem, energy_drift_max, energy_drift_mean
    /series/p1_sq_blocks   (n_kicks + 1, B): mean p1^2 of each fixed block of trajectories
                           (attr trajectories: the block sizes); absent in older files
    /estimates        attrs: D, D_err, slope_fit, slope_fit_err, slope_full, slope_late,
                             slope_late_err, slope_err_method ('blocks' or 'residuals'),
                             n_blocks, slope_fit_err_residuals, ...
    /snapshots/t<T>/p1, p2   all momenta at the configured snapshot times
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from ..io import open_result, read_result, write_atomic, write_run_header, write_snapshots
from .ensemble import ClassicalRun

SERIES = ("t", "p1_sq", "p1_sq_sem", "p2_sq", "p2_sq_sem", "energy_drift_max", "energy_drift_mean")
#: the per-block series (not in files written before the blocks were recorded)
BLOCK_SERIES = "p1_sq_blocks"


def write_classical(path: str | os.PathLike, run: ClassicalRun) -> None:
    def build(f: h5py.File) -> None:
        write_run_header(
            f, "classical", run.label, run.config.as_dict(), run.estimates,
            n_ranks=run.n_ranks, n_threads=run.n_threads, wall_time_s=run.wall_time_s,
            steps_per_kick=run.steps_per_kick, force_evals_per_period=run.force_evals_per_period,
            energy_drift_max=float(run.energy_drift_max.max()), Dc=run.Dc, Dc_err=run.Dc_err)
        series = f.create_group("series")
        for name in SERIES:
            series.create_dataset(name, data=getattr(run, name))
        blocks = series.create_dataset(BLOCK_SERIES, data=run.p1_sq_blocks)
        blocks.attrs["trajectories"] = run.block_counts
        write_snapshots(f.create_group("snapshots"),
                        {t: {"p1": p1, "p2": p2} for t, (p1, p2) in run.snapshots.items()},
                        compression="gzip")

    write_atomic(path, build)


def read_series(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The series of a finished result (:class:`kickedpair.io.IncompleteResult` if it is not one),
    with ``p1_sq_blocks`` when the file has it."""
    series = read_result(path).series
    out = {name: series[name] for name in SERIES}
    if BLOCK_SERIES in series:
        out[BLOCK_SERIES] = series[BLOCK_SERIES]
    return out


def read_block_counts(path: str | os.PathLike) -> np.ndarray | None:
    """Trajectories in each block of ``p1_sq_blocks`` (None when the file has no blocks)."""
    with open_result(path) as f:
        name = f"series/{BLOCK_SERIES}"
        return np.asarray(f[name].attrs["trajectories"]) if name in f else None


def read_estimates(path: str | os.PathLike) -> dict[str, float | str]:
    """The estimates: numbers as floats, ``slope_err_method`` as a string."""
    with open_result(path) as f:
        return {k: v.decode() if isinstance(v, bytes) else (v if isinstance(v, str) else float(v))
                for k, v in f["estimates"].attrs.items()}
