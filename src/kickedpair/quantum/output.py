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

from ..io import provenance, write_atomic, write_params
from .evolution import QuantumRun


def write_quantum(path: str | os.PathLike, run: QuantumRun) -> None:
    s = run.series

    def build(f: h5py.File) -> None:
        f.attrs["kind"] = "quantum"
        f.attrs["label"] = run.label
        for key, value in provenance().items():
            f.attrs[key] = value
        f.attrs["Dq"] = run.Dq
        f.attrs["Dq_err"] = 0.0
        for key, value in run.resolution.as_dict().items():
            f.attrs[key] = value
        f.attrs["n_ranks"] = run.n_ranks
        f.attrs["n_threads"] = run.n_threads
        f.attrs["wall_time_s"] = run.wall_time_s
        f.attrs["seconds_per_kick"] = run.seconds_per_kick
        f.attrs["resumed_from"] = run.resumed_from
        f.attrs["max_norm_error"] = float(np.max(np.abs(s["norm"] - 1.0)))
        f.attrs["max_tail1"] = float(np.max(s["tail1"]))
        f.attrs["max_tail2"] = float(np.max(s["tail2"]))
        params = f.create_group("params")
        write_params(params, run.config.as_dict())
        res = params.create_group("resolution")
        for key, value in run.resolution.as_dict().items():
            res.attrs[key] = value
        series = f.create_group("series")
        series.create_dataset("t", data=run.t)
        for name, values in s.items():
            series.create_dataset(name, data=values)
        series.create_dataset("E1", data=s["p1_sq"] / 2.0)
        est = f.create_group("estimates")
        for key, value in run.estimates.items():
            est.attrs[key] = value
        f.create_dataset("momenta1", data=run.momenta1)
        dists = f.create_group("distributions")
        for t, P1 in sorted(run.distributions.items()):
            g = dists.create_group(f"t{t}")
            g.attrs["t"] = t
            g.create_dataset("P1", data=P1)

    write_atomic(path, build)


def read_series(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {name: ds[()] for name, ds in f["series"].items()}
