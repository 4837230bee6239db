"""The sweep plan: preset, grid, the runs of the engines and the file layout.

The Snakefile hands its ``config`` to :func:`build_plan`: every key is checked first
(:func:`kickedpair.workflow_config.check_workflow_config`), then every run config
(:func:`kickedpair.params.parse_config`) and quantum grid against its hbar, so a bad value stops the
workflow before any job starts, naming the key.  The :class:`SweepPlan` it returns holds all the
rules need; a sweep cell and a run behind a figure (:mod:`kickedpair.reproduce.plan`) are the same
value, a :class:`Run`.  Planning imports neither MPI nor HDF5.

File layout under ``RESULTS/PRESET/`` (the *sweep folder*); every run is a folder ``RUN``::

    RUN/config.yaml, RUN/ENGINE.h5, RUN/ENGINE.log   run config, result (ENGINE: classical,
                                                     quantum, noise), engine output of each attempt
    RUN/checkpoint-<h>.h5                            resumable state of a quantum run (<h>: config hash)
    RUN/convergence.h5, RUN/convergence.log          the check of a figure's quantum or noise run

    sweep.json                                  the manifest: grid, analysis settings, cell paths
    classical/m=0.01/                           RUN of the classical cell of m (Dc)
    classical_quantum_initial/m=0.01/hbar=0.04/ RUN of the cell's classical run from the quantum
                                                initial ensemble (initial_sensitivity only)
    quantum/m=0.01/hbar=0.04/                   RUN of the quantum cell (Dq)
    tables/cells.csv, tables/thresholds.csv, tables/sweep.h5, tables/missing.txt
    figures/phase_diagram.{png,pdf}, figures/eta_vs_hbar.{png,pdf}
    reproduction/FIG/ENGINE/NAME/               RUN of a figure's run (kickedpair.reproduce.plan)

Grid values are written with :data:`SIG_DIGITS` significant digits (``0.003162``,
``1e-05``); the value a cell runs with is exactly the value its path shows.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..params import ConfigError, parse_config
from ..workflow_config import check_workflow_config

SIG_DIGITS = 4

# Markers the cell jobs write into their logs (read back by kickedpair.sweep.status).
LOG_START = "== kickedpair-sweep: start"
LOG_EXIT = "== kickedpair-sweep: exit status"

MANIFEST = "sweep.json"
# Every engine run -- a sweep cell or a run behind a figure -- is a folder RUN of the sweep
# folder, with the same files (:class:`Run`):
RUN_CONFIG = "{run}/config.yaml"
RUN_RESULT = "{run}/{engine}.h5"
RUN_CONVERGENCE = "{run}/convergence.h5"
RUN_CHECKPOINT = "{run}/checkpoint-{tag}.h5"
RUN_LOG = "{run}/{engine}.log"
RUN_CONVERGENCE_LOG = "{run}/convergence.log"
ENGINES = ("classical", "quantum", "noise")
CLASSICAL_DIR = "classical/m={m}"
#: the classical run of a cell from the quantum initial state's ensemble (initial_sensitivity)
CLASSICAL_QI_DIR = "classical_quantum_initial/m={m}/hbar={hbar}"
QUANTUM_DIR = "quantum/m={m}/hbar={hbar}"
CLASSICAL_RESULT = RUN_RESULT.format(run=CLASSICAL_DIR, engine="classical")
CLASSICAL_LOG = RUN_LOG.format(run=CLASSICAL_DIR, engine="classical")
QUANTUM_RESULT = RUN_RESULT.format(run=QUANTUM_DIR, engine="quantum")
QUANTUM_LOG = RUN_LOG.format(run=QUANTUM_DIR, engine="quantum")
TABLES = {"cells_csv": "tables/cells.csv", "thresholds_csv": "tables/thresholds.csv",
          "h5": "tables/sweep.h5", "missing": "tables/missing.txt"}
FIGURES = {"phase_png": "figures/phase_diagram.png", "phase_pdf": "figures/phase_diagram.pdf",
           "eta_png": "figures/eta_vs_hbar.png", "eta_pdf": "figures/eta_vs_hbar.pdf"}

# --------------------------------------------------------------------------- values
def fmt(value: float) -> str:
    """A grid value as it appears in paths and labels: ``SIG_DIGITS`` significant digits."""
    return f"{float(value):.{SIG_DIGITS}g}"


RUN_NAME_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.=+-]+$"


def expand_axis(spec: Any) -> list[str]:
    """Grid values of an axis (checked by :mod:`kickedpair.workflow_config`: a list of numbers
    > 0, ``{log: [lo, hi, n]}`` or ``{linear: [lo, hi, n]}``), formatted, sorted ascending."""
    if isinstance(spec, Mapping):
        kind, (lo, hi, n) = next(iter(spec.items()))
        spec = np.geomspace(lo, hi, n) if kind == "log" else np.linspace(lo, hi, n)
    return sorted({fmt(v) for v in spec}, key=float)


def deep_merge(base: Mapping, over: Mapping) -> dict:
    """``base`` updated by ``over``, recursing into mappings; inputs are left untouched."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def config_tag(mapping: Mapping) -> str:
    """Short content hash of a run config (names the checkpoint it may resume from)."""
    return hashlib.sha256(json.dumps(mapping, sort_keys=True, default=str).encode()).hexdigest()[:10]


# --------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class Run:
    """One engine run, the same value for a sweep cell and for a run behind a figure: what it
    computes (``config``, a complete run config), where (``folder``, relative to the sweep
    folder; the files are the ``RUN_*`` templates) and on what (``resources``)."""

    engine: str                 # classical | quantum | noise
    folder: str                 # e.g. quantum/m=0.01/hbar=0.04, reproduction/fig2/quantum/hbar=0.1
    config: dict
    label: str                  # how the engine names the run in its messages
    resources: dict             # resources.<engine> of the preset (and figure variant): ranks, threads,
                                # mem_mb and runtime (a number or auto), retries; see SweepPlan.job
    convergence: bool = False   # also run --check-convergence (quantum, noise)
    keep_checkpoint: bool = False
    figure: str = ""            # the figure it belongs to ("" for a sweep cell)
    name: str = ""              # its name inside the figure
    role: dict = field(default_factory=dict)  # what the figure needs to place it (eps, m, hbar ...)

    def path(self, template: str) -> str:
        """A ``RUN_*`` template filled in for this run (relative to the sweep folder)."""
        return template.format(run=self.folder, engine=self.engine, tag=config_tag(self.config))

    @property
    def result(self) -> str:
        return self.path(RUN_RESULT)

    @property
    def checkpoint(self) -> str:
        return self.path(RUN_CHECKPOINT)

    def engine_args(self, base: str) -> list[str]:
        """The engine's options beyond config, out, label, threads (``base``: the sweep folder):
        a quantum run resumes from its checkpoint (named by a hash of its config, so a changed
        config starts afresh)."""
        if self.engine != "quantum":
            return []
        keep = ["--keep-checkpoint"] if self.keep_checkpoint else []
        return ["--checkpoint", f"{base}/{self.checkpoint}", "--resume"] + keep

    def convergence_args(self, base: str) -> list[str]:
        """The options of its ``--check-convergence`` run: a quantum run's end stretch starts from
        its final checkpoint."""
        return ["--checkpoint", f"{base}/{self.checkpoint}"] if self.engine == "quantum" else []


def migrate_results(sweep_dir: str | Path, runs: list[Run]) -> list[tuple[Path, Path]]:
    """Rename the results of figure runs from the layout before runs were one kind
    (``reproduction/FIG/ENGINE/RUN/result.h5``) to ``RUN/ENGINE.h5``; returns the moves."""
    moved = []
    for r in runs:
        new = Path(sweep_dir) / r.result
        old = new.with_name("result.h5")
        if r.figure and old.exists() and not new.exists():
            old.rename(new)
            moved.append((old, new))
    return moved


#: the folders of runs (sweep cells and figure runs), as a Snakemake wildcard constraint
RUN_FOLDER_PATTERN = (r"(?:classical/m=[^/]+|(?:quantum|classical_quantum_initial)/m=[^/]+/hbar=[^/]+"
                      rf"|reproduction/fig[1-5]/(?:{'|'.join(ENGINES)})/[A-Za-z0-9_.=+-]+)")


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Cell:
    m: str
    hbar: str

    @property
    def name(self) -> str:
        return f"m={self.m},hbar={self.hbar}"


@dataclass
class SweepPlan:
    preset: str
    results: str
    hbar: list[str]
    mass_ratio: list[str]
    n_kicks: int
    trajectories: int
    seed: int
    physics: dict
    classical: dict
    quantum: dict
    analysis: dict
    resources: dict
    launcher: tuple[str, ...]
    allow_missing: bool
    keep_checkpoints: bool
    description: str = ""
    node_mem_mb: int | None = None
    initial_sensitivity: bool = False
    adaptive: dict = field(default_factory=dict)  # the preset's adaptive section; empty: rectangular grid

    @property
    def launcher_shell(self) -> str:
        """The launcher's words, each quoted for a shell (they are plain words already)."""
        return " ".join(shlex.quote(w) for w in self.launcher)

    # ------------------------------------------------------------- memory
    def memory_settings(self) -> dict:
        """``resources.quantum_memory`` with ``max_mb`` replaced by ``node_mem_mb`` when that is
        set: the limit a quantum job may ask for and above which a cell is refused."""
        s = dict(self.resources.get("quantum_memory") or {})
        if self.node_mem_mb is not None:
            s["max_mb"] = int(self.node_mem_mb)
        return s

    def memory_limit(self) -> tuple[int, str]:
        """``(limit in MB, the key that sets it)``."""
        from .resources import MEMORY_DEFAULTS

        key = "node_mem_mb" if self.node_mem_mb is not None else "resources.quantum_memory.max_mb"
        return int({**MEMORY_DEFAULTS, **self.memory_settings()}["max_mb"]), key

    @property
    def allow_over_limit(self) -> bool:
        return bool((self.resources.get("quantum_memory") or {}).get("allow_over_limit", False))

    # ------------------------------------------------------------- grid
    @property
    def sweep_dir(self) -> str:
        return f"{self.results}/{self.preset}"

    @property
    def cells(self) -> list[Cell]:
        return [Cell(m, h) for m in self.mass_ratio for h in self.hbar]

    def path(self, template: str, **wc: str) -> str:
        """``template`` (relative to the sweep folder) filled in, with the sweep folder in front."""
        return f"{self.sweep_dir}/{template.format(**wc)}"

    # ------------------------------------------------------------- run configs
    def classical_config(self, m: str, hbar: str | None = None) -> dict:
        """The classical run of ``m``; with ``hbar``, the one from the quantum initial state's
        ensemble at that hbar (``classical.initial = quantum``, the same seed)."""
        physics = {**self.physics, "mass_ratio": float(m), **({"hbar": float(hbar)} if hbar else {})}
        return {"physics": physics,
                "classical": {**self.classical, "n_kicks": self.n_kicks, "n_trajectories": self.trajectories,
                              "seed": self.seed, **({"initial": "quantum"} if hbar else {})}}

    def quantum_config(self, m: str, hbar: str) -> dict:
        return {"physics": {**self.physics, "mass_ratio": float(m), "hbar": float(hbar)},
                "quantum": {**self.quantum, "n_kicks": self.n_kicks}}

    def rule_resources(self, rule: str) -> dict:
        """``resources.default`` updated by ``resources.<rule>``."""
        return {**self.resources.get("default", {}), **self.resources.get(rule, {})}

    def run_resources(self, engine: str, over: Mapping | None = None) -> dict:
        """The resources of a run of ``engine``: the rule's, updated by ``over`` (a figure variant's)."""
        return {**self.rule_resources(engine), **(over or {})}

    def job(self, run: Run, memory_factor: float = 1.0) -> dict:
        """A run's resources (resources.<engine> over resources.default, and a figure variant's)
        resolved: ``auto`` memory and time of a quantum run from the engine's cost model
        (:mod:`kickedpair.sweep.resources`), memory times ``memory_factor`` (a convergence check
        holds twice a run's state) and never above one node's (the limit)."""
        from .resources import quantum_mem_mb, quantum_runtime_min

        s, limit = run.resources, self.memory_limit()[0]
        ranks, quantum = int(s.get("ranks", 1)), run.engine == "quantum"
        mem, runtime = s.get("mem_mb", 2000), s.get("runtime", 60)
        if quantum and mem == "auto":
            mem = min(quantum_mem_mb(run.config, ranks, self.memory_settings()), limit)
        if quantum and runtime == "auto":
            runtime = quantum_runtime_min(run.config, ranks, float(s.get("runtime_safety", 4.0)))
        mem = 2000 if mem == "auto" else int(mem)
        return {"ranks": ranks, "threads": int(s.get("threads", 1)),
                "mem_mb": int(min(memory_factor * mem, max(limit, mem))),
                "runtime": 60 if runtime == "auto" else int(runtime), "retries": int(s.get("retries", 0))}

    def quantum_run(self, m: str, hbar: str) -> Run:
        c = Cell(m, hbar)
        return Run("quantum", QUANTUM_DIR.format(m=m, hbar=hbar), self.quantum_config(m, hbar), c.name,
                   self.run_resources("quantum"), keep_checkpoint=self.keep_checkpoints, role={"m": m, "hbar": hbar})

    def run_for(self, folder: str) -> Run | None:
        """The quantum cell of a folder ``quantum/m=M/hbar=H`` of any (m, hbar) (an adaptive sweep's later
        rounds), or None for another folder."""
        match = re.fullmatch(r"quantum/m=([^/]+)/hbar=([^/]+)", folder)
        if not match or match.group(1) not in self.mass_ratio:
            return None
        return self.quantum_run(fmt(match.group(1)), fmt(match.group(2)))

    def bounding_runs(self) -> list[Run]:
        """An adaptive sweep's cells at hbar_min, one per mass ratio: its later rounds' cells lie in
        [hbar_min, hbar_max], and the smallest hbar has the largest grid (checked before any job)."""
        return [self.quantum_run(m, fmt(self.adaptive["hbar_min"])) for m in self.mass_ratio] if self.adaptive else []

    def runs(self) -> list[Run]:
        """The sweep's cells as runs: one classical run per mass ratio, one quantum run per cell
        and, with ``initial_sensitivity``, one classical run per cell from the quantum initial
        ensemble (a classical cell that names its hbar)."""
        return [Run("classical", CLASSICAL_DIR.format(m=m), self.classical_config(m), f"m={m}",
                    self.run_resources("classical"), role={"m": m}) for m in self.mass_ratio] + [
            self.quantum_run(c.m, c.hbar) for c in self.cells] + [
            Run("classical", CLASSICAL_QI_DIR.format(m=c.m, hbar=c.hbar), self.classical_config(c.m, c.hbar),
                f"{c.name},initial=quantum", self.run_resources("classical"), role={"m": c.m, "hbar": c.hbar})
            for c in (self.cells if self.initial_sensitivity else [])]

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Every run config through :func:`kickedpair.params.parse_config`, and every quantum
        cell's grid against its hbar (the keys alone are checked by :mod:`kickedpair.workflow_config`)."""
        from ..quantum.resolution import resolve  # the engine's own check of the grid against hbar

        for config, where in ([(r.config, f"{r.engine} cell {r.label}") for r in self.runs() + self.bounding_runs()]):
            try:
                parsed = parse_config(config)
                if "quantum" in config:
                    resolve(parsed)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (in the run config of the {where})") from None

    # ------------------------------------------------------------- manifest
    def manifest(self, grid: Mapping[str, list[str]] | None = None) -> dict:
        """What the status summariser and the aggregation need; paths relative to the sweep folder.
        ``grid``: an adaptive sweep's cells by the end of its rounds, the hbar values of each m."""
        runs = self.runs()
        if grid is not None:
            runs = [r for r in runs if r.engine != "quantum"] + [
                self.quantum_run(m, fmt(h)) for m in self.mass_ratio for h in sorted(grid[m], key=float)]
        cells = [{"kind": r.engine, **r.role, "name": r.label, "result": r.result,
                  **({"checkpoint": r.checkpoint} if r.engine == "quantum" else {}),
                  "log": r.path(RUN_LOG), "config": r.path(RUN_CONFIG)} for r in runs]
        keys = ("preset description hbar mass_ratio n_kicks trajectories seed physics analysis allow_missing"
                " initial_sensitivity adaptive")
        out = {k: getattr(self, k) for k in keys.split()}
        if grid is not None:
            out["hbar"] = sorted({fmt(h) for hs in grid.values() for h in hs}, key=float)
        return {**out, "cells": cells}


class ManifestError(ValueError):
    """A ``sweep.json`` that cannot be used: not JSON, or not of the shape :meth:`SweepPlan.manifest` writes."""


_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
_GRID_KEYS = {"classical": "m", "quantum": "m hbar"}  # the grid values a cell of each kind names


def _kind(v: Any) -> str:
    return _KINDS.get(type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def _wrong(obj: dict, keys: str, where: str = "", what: str = "a string", ok: Any = str,
           need: bool = True, null: bool = False) -> Iterator[str]:
    """Each of ``keys`` whose value is not ``what`` (of type ``ok``, or passing ``ok``): an absent
    key is wrong when ``need``, null is fine when ``null``."""
    for key in keys.split():
        if key not in obj:
            if need:
                yield f"{where}{key}: expected {what}, got nothing"
        elif not (null and obj[key] is None or (isinstance(obj[key], ok) if isinstance(ok, type) else ok(obj[key]))):
            yield f"{where}{key}: expected {what}, got {_kind(obj[key])}"


def _problems(data: Any, grid: bool) -> Iterator[str]:
    """What is wrong with a parsed manifest; only the first is asked for, and each check runs
    only when those before it passed."""
    if not isinstance(data, dict):
        yield f"expected a JSON object with a 'cells' list, got {_kind(data)}"
    if "cells" not in data:
        yield "no 'cells' key (the list of cells)"
    yield from _wrong(data, "cells", what="a list", ok=list)
    yield from _wrong(data, "preset", need=False)
    for i, c in enumerate(data["cells"]):
        if not isinstance(c, dict):
            yield f"cells[{i}]: expected an object, got {_kind(c)}"
        yield from _wrong(c, "name result", f"cells[{i}].")
        yield from _wrong(c, "kind log checkpoint config", f"cells[{i}].", need=False, null=True)
        for key in ("result", "log", "checkpoint", "config"):
            if c.get(key) and (c[key].startswith("/") or ".." in c[key].split("/")):
                yield f"cells[{i}].{key}: {c[key]!r} is not a path inside the sweep folder"
        if grid and c.get("kind") not in _GRID_KEYS:
            yield f"cells[{i}].kind: expected 'classical' or 'quantum', got {c.get('kind')!r}"
        yield from _wrong(c, _GRID_KEYS[c["kind"]] if grid else "", f"cells[{i}].")
    if grid:
        yield from _wrong(data, "mass_ratio hbar", what="a list of grid values as strings",
                          ok=lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v))
        yield from _wrong(data, "analysis", what="an object", ok=dict, need=False)
        have = {(c["kind"], c["m"], c.get("hbar") if c["kind"] == "quantum" else None) for c in data["cells"]}
        for m in data["mass_ratio"]:
            if ("classical", m, None) not in have:
                yield f"cells: no classical cell for m={m}"
            for h in data["hbar"] if not data.get("adaptive") else ():  # adaptive: each m has its own hbar
                if ("quantum", m, h) not in have:
                    yield f"cells: no quantum cell for m={m}, hbar={h}"


def read_manifest(path: str | Path, grid: bool = False) -> dict:
    """The manifest ``sweep.json`` at ``path``, checked; ``grid``: also the grid and its cells
    (what the aggregation needs).  A missing file raises :class:`FileNotFoundError`; anything
    else wrong raises :class:`ManifestError` with a one-line message naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise ManifestError(f"{path}: not JSON ({exc})") from None
    problem = next(_problems(data, grid), "")
    if problem:
        raise ManifestError(f"{path}: not a sweep manifest: {problem}")
    return data


def build_plan(config: Mapping[str, Any], validate: bool = True) -> SweepPlan:
    """The plan of the selected preset; raises :class:`ConfigError` naming the key."""
    config = check_workflow_config(config)  # every key of the workflow config, defaults filled in
    name = config["preset"]
    presets = config["presets"]
    preset = presets[name]
    shared = {k: v for k, v in config.items() if k not in ("presets", "preset")}
    merged = deep_merge(shared, {k: v for k, v in preset.items() if k not in ("hbar", "mass_ratio")})
    plan = SweepPlan(
        preset=name, results=merged["results"].rstrip("/") or "/",
        hbar=expand_axis(preset["hbar"]), mass_ratio=expand_axis(preset["mass_ratio"]),
        **{k: int(merged[k]) for k in ("n_kicks", "trajectories", "seed")},
        **{k: dict(merged.get(k) or {}) for k in ("physics", "classical", "quantum", "resources")},
        analysis=dict(merged["analysis"]), launcher=tuple(merged["launcher"]),
        allow_missing=bool(merged["allow_missing"]), keep_checkpoints=bool(merged["keep_checkpoints"]),
        initial_sensitivity=bool(merged["initial_sensitivity"]), adaptive=dict(preset.get("adaptive") or {}),
        description=str(preset.get("description", "")), node_mem_mb=merged["node_mem_mb"])
    if plan.adaptive:
        lo, hi = plan.adaptive["hbar_min"], plan.adaptive["hbar_max"]
        where = f"presets.{name}.adaptive"
        if not lo < hi:
            raise ConfigError(f"{where}.hbar_min: must be below hbar_max = {hi}, got {lo}")
        outside = [h for h in plan.hbar if not lo <= float(h) <= hi]
        if outside:
            raise ConfigError(f"presets.{name}.hbar: {outside[0]} lies outside the adaptive range [{lo}, {hi}]")
        if len(plan.hbar) > plan.adaptive["max_cells"]:
            raise ConfigError(f"{where}.max_cells: the first round already has {len(plan.hbar)} cells per mass "
                              f"ratio, got {plan.adaptive['max_cells']}")
    if validate:
        plan.validate()
    return plan
