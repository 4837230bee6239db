"""The random-kick result file (HDF5).

Layout::

    /                 attrs: kind='noise', label, D, D_err, N, n_ranks, n_threads, wall_time_s,
                             provenance (code_version, ...)
    /params           attrs: config_json; one subgroup per section, one attr per key
    /series/t, p_sq, p_sq_sem, p_sq_realisations
    /estimates        attrs: D, D_err, slope_fit, ...
    /momenta          p_n, n = 1..N
    /distributions/t<T>/P   mean momentum distribution at the snapshot times
"""

from __future__ import annotations

import os

import h5py

from ..io import write_atomic, write_run_header, write_snapshots
from .noise import NoiseRun

SERIES = ("t", "p_sq", "p_sq_sem", "p_sq_realisations")


def write_noise(path: str | os.PathLike, run: NoiseRun) -> None:
    def build(f: h5py.File) -> None:
        write_run_header(
            f, "noise", run.label, run.config.as_dict(), run.estimates,
            D=run.estimates["D"], D_err=run.estimates["D_err"], N=run.N,
            n_ranks=run.n_ranks, n_threads=run.n_threads, wall_time_s=run.wall_time_s)
        series = f.create_group("series")
        for name in SERIES:
            series.create_dataset(name, data=getattr(run, name))
        f.create_dataset("momenta", data=run.momenta)
        write_snapshots(f.create_group("distributions"), {t: {"P": P} for t, P in run.distributions.items()})

    write_atomic(path, build)
