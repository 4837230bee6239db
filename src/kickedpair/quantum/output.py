"""The quantum result file (HDF5).

Layout::

    /                 attrs: kind='quantum', label, Dq, Dq_err (0: an expectation value, its
                             error is the resolution's, see --check-convergence), N1, N2,
                             substeps, scheme, n_ranks, n_threads, wall_time_s,
                             seconds_per_kick, resumed_from (-1: not resumed),
                             max_norm_error, max_tail1, max_tail2, provenance
    /params           attrs: config_json; one subgroup per section; /params/resolution
    /series/t, p1_sq, E1, p2_sq, E2, purity, norm, tail1, tail2
    /estimates        attrs: D, slope_fit, slope_full, slope_late, fit_window_lo/hi
    /momenta1         p_n of particle 1, n = 1..N1
    /distributions/t<T>/P1   momentum distribution of particle 1 at the snapshot times
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from ..io import write_atomic, write_run_header, write_snapshots
from .evolution import QuantumRun


def write_quantum(path: str | os.PathLike, run: QuantumRun) -> None:
    s = run.series

    def build(f: h5py.File) -> None:
        write_run_header(
            f, "quantum", run.label, run.config.as_dict(), run.estimates,
            Dq=run.Dq, Dq_err=0.0, **run.resolution.as_dict(),
            n_ranks=run.n_ranks, n_threads=run.n_threads, wall_time_s=run.wall_time_s,
            seconds_per_kick=run.seconds_per_kick, resumed_from=run.resumed_from,
            max_norm_error=float(np.max(np.abs(s["norm"] - 1.0))),
            max_tail1=float(np.max(s["tail1"])), max_tail2=float(np.max(s["tail2"])))
        res = f["params"].create_group("resolution")
        for key, value in run.resolution.as_dict().items():
            res.attrs[key] = value
        series = f.create_group("series")
        series.create_dataset("t", data=run.t)
        for name, values in s.items():
            series.create_dataset(name, data=values)
        series.create_dataset("E1", data=s["p1_sq"] / 2.0)
        f.create_dataset("momenta1", data=run.momenta1)
        write_snapshots(f.create_group("distributions"), {t: {"P1": P1} for t, P1 in run.distributions.items()})

    write_atomic(path, build)


def read_series(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {name: ds[()] for name, ds in f["series"].items()}
