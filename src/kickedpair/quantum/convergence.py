"""Convergence check of a quantum cell: the same short stretch at half the step and
at double the grids, compared with the cell's own resolution.

Reports the largest relative change over ``t = 1..convergence_kicks`` of
``<p1^2>(t)``, ``<p2^2>(t)`` and the purity.  Doubling a grid keeps ``N + 1`` a power
of two when it was one: ``N -> 2 (N + 1) - 1``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import parallel
from ..params import RunConfig
from .evolution import ResolvedNumerics, resolve, run_quantum

OBSERVABLES = ("p1_sq", "p2_sq", "purity")


def _with(config: RunConfig, res: ResolvedNumerics, n_kicks: int, **changes) -> RunConfig:
    quantum = dataclasses.replace(
        config.quantum, n_kicks=n_kicks, N1=changes.get("N1", res.N1), N2=changes.get("N2", res.N2),
        substeps=changes.get("substeps", res.substeps), scheme=res.scheme, snapshot_times=())
    return dataclasses.replace(config, quantum=quantum)


def max_rel_change(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|b - a| / |a|`` over ``t >= 1`` of two series on the same times."""
    scale = np.maximum(np.abs(a[1:]), 1e-300)
    return float(np.max(np.abs(b[1:] - a[1:]) / scale))


@dataclass
class ConvergenceReport:
    label: str
    n_kicks: int
    base: ResolvedNumerics
    variants: dict          # name -> ResolvedNumerics
    changes: dict           # name -> {observable: max relative change}
    seconds: dict           # name -> wall time

    def text(self) -> str:
        lines = [f"[{self.label}] convergence over t = 1..{self.n_kicks}: largest relative change vs "
                 f"N1 x N2 = {self.base.N1} x {self.base.N2}, {self.base.substeps} substeps ({self.base.scheme})"]
        for name, res in self.variants.items():
            ch = self.changes[name]
            lines.append(f"  {name:<12} N1 x N2 = {res.N1} x {res.N2}, {res.substeps} substeps: "
                         + "  ".join(f"{k} {v:.2e}" for k, v in ch.items())
                         + f"   ({self.seconds[name]:.1f} s)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        out = {"n_kicks": self.n_kicks, **{f"base_{k}": v for k, v in self.base.as_dict().items()}}
        for name, ch in self.changes.items():
            for k, v in ch.items():
                out[f"{name}_{k}"] = v
        return out


def check_convergence(config: RunConfig, label: str = "quantum", lay: parallel.Layout | None = None,
                      n_threads: int | None = None) -> ConvergenceReport:
    lay = lay or parallel.layout()
    res = resolve(config)
    n = min(config.quantum.n_kicks, config.quantum.convergence_kicks)
    runs = {"base": _with(config, res, n)}
    if res.scheme != "free":
        runs["half_step"] = _with(config, res, n, substeps=2 * res.substeps)
    runs["double_grid"] = _with(config, res, n, N1=2 * (res.N1 + 1) - 1, N2=2 * (res.N2 + 1) - 1)
    results = {name: run_quantum(cfg, label=f"{label}:{name}", progress="none", lay=lay, n_threads=n_threads)
               for name, cfg in runs.items()}
    base = results.pop("base")
    changes = {name: {k: max_rel_change(base.series[k], r.series[k]) for k in OBSERVABLES}
               for name, r in results.items()}
    return ConvergenceReport(label=label, n_kicks=n, base=res,
                             variants={name: r.resolution for name, r in results.items()},
                             changes=changes, seconds={name: r.wall_time_s for name, r in results.items()})


def write_report(path, report: ConvergenceReport, config: RunConfig) -> None:
    """HDF5 with kind='convergence', the changes as root attributes, provenance and params."""
    from ..io import write_atomic, write_run_header

    def build(f):
        write_run_header(f, "convergence", report.label, config.as_dict(), **report.as_dict())

    write_atomic(path, build)
