"""The quantum result file (HDF5).

Layout::

    /                 attrs: kind='quantum', label, Dq, Dq_err (the kick-to-kick fluctuation
                             of <p1^2>(t) about its trend over the last quantum.error_window
                             of the run, over t_f; kickedpair.analysis), N1, N2,
                             substeps, scheme, n_ranks, n_threads, wall_time_s,
                             seconds_per_kick, resumed_from (-1: not resumed),
                             max_norm_error, max_tail1, max_tail2, provenance
    /params           attrs: config_json; one subgroup per section; /params/resolution
    /transforms       attrs: one per '<n0>x<n1> axis <k> threads <t>' the sine transforms met
                      (rank 0: every rank's slab shapes), 'scipy' or 'fftw' (quantum.fft,
                      or what 'auto' timed or found in the per-host cache); planning_effort,
                      cache (its path, '' for none); see kickedpair.quantum.sine_transforms
    /series/t, p1_sq, E1, p2_sq, E2, purity, norm, tail1, tail2
    /estimates        attrs: D, D_err, D_err_method ('fluctuation'), slope_fit, slope_full,
                             slope_late, fit_window_lo/hi
    /momenta1         p_n of particle 1, n = 1..N1
    /distributions/t<T>/P1   momentum distribution of particle 1 at the snapshot times
    /self_check       the pilot (kickedpair.quantum.selfcheck): attrs mode ('adjust', 'report',
                      'off', or 'none' for a run resumed from a checkpoint that holds no record),
                      kicks, tol, substeps_start, substeps (the accepted S, = root attr substeps),
                      passed, seconds, reason, from_checkpoint; datasets substeps_base,
                      substeps_fine (S and 2S of each comparison), change_p1_sq, change_purity
                      (largest relative changes over t = 1..kicks)
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from ..io import open_result, read_result, write_atomic, write_run_header, write_snapshots
from . import sine_transforms
from .evolution import QuantumRun
from .selfcheck import SelfCheck


def write_quantum(path: str | os.PathLike, run: QuantumRun) -> None:
    s = run.series

    def build(f: h5py.File) -> None:
        write_run_header(
            f, "quantum", run.label, run.config.as_dict(), run.estimates,
            Dq=run.Dq, Dq_err=run.estimates["D_err"], **run.resolution.as_dict(),
            n_ranks=run.n_ranks, n_threads=run.n_threads, wall_time_s=run.wall_time_s,
            seconds_per_kick=run.seconds_per_kick, resumed_from=run.resumed_from,
            max_norm_error=float(np.max(np.abs(s["norm"] - 1.0))),
            max_tail1=float(np.max(s["tail1"])), max_tail2=float(np.max(s["tail2"])))
        res = f["params"].create_group("resolution")
        for key, value in run.resolution.as_dict().items():
            res.attrs[key] = value
        write_transforms(f.create_group("transforms"))
        series = f.create_group("series")
        series.create_dataset("t", data=run.t)
        for name, values in s.items():
            series.create_dataset(name, data=values)
        series.create_dataset("E1", data=s["p1_sq"] / 2.0)
        f.create_dataset("momenta1", data=run.momenta1)
        write_snapshots(f.create_group("distributions"), {t: {"P1": P1} for t, P1 in run.distributions.items()})
        write_self_check(f.create_group("self_check"), run.self_check)

    write_atomic(path, build)


def write_transforms(g: h5py.Group) -> None:
    """The sine-transform backend of each (shape, axis, threads) this process met."""
    g.attrs["planning_effort"] = sine_transforms.PLANNING_EFFORT
    g.attrs["cache"] = str(sine_transforms.cache_path() or "")
    for key, record in sine_transforms.chosen_backends().items():
        g.attrs[key] = record["backend"]


def write_self_check(g: h5py.Group, record: SelfCheck | None) -> None:
    if record is None:
        g.attrs["mode"] = "none"
        return
    for key in ("mode", "kicks", "tol", "substeps_start", "substeps", "passed", "seconds", "reason",
                "from_checkpoint"):
        g.attrs[key] = getattr(record, key)
    pairs = np.array(record.compared, dtype=np.int64).reshape(-1, 2)
    g.create_dataset("substeps_base", data=pairs[:, 0])
    g.create_dataset("substeps_fine", data=pairs[:, 1])
    g.create_dataset("change_p1_sq", data=np.array(record.change_p1_sq, dtype=float))
    g.create_dataset("change_purity", data=np.array(record.change_purity, dtype=float))


def read_self_check(path: str | os.PathLike) -> dict:
    """The pilot's record of a result file: the attrs and the arrays of ``/self_check``."""
    with open_result(path) as f:
        g = f["self_check"]
        return {**dict(g.attrs), **{name: ds[()] for name, ds in g.items()}}


def read_series(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The series of a finished result (:class:`kickedpair.io.IncompleteResult` if it is not one)."""
    return read_result(path).series
