"""The sweep plan: preset, grid, the runs of the engines and the file layout.

The Snakefile hands its (validated) ``config`` to :func:`build_plan`; everything the rules need
-- grid values as they appear in paths, every engine run with its config, folder and resources
-- comes from the returned :class:`SweepPlan`.  A sweep cell and a run behind a figure
(:mod:`kickedpair.reproduce.plan`) are the same value, a :class:`Run`, made by the same rules.
:func:`build_plan` also runs every cell's run config through :func:`kickedpair.params.parse_config`,
so a bad physics value stops the workflow before any job starts, with the key named.  Planning
imports neither MPI nor HDF5.

File layout under ``RESULTS/PRESET/`` (the *sweep folder*); every run is a folder ``RUN``::

    RUN/config.yaml, RUN/ENGINE.h5, RUN/ENGINE.log   run config, result (ENGINE: classical,
                                                     quantum, noise), engine output of each attempt
    RUN/checkpoint-<h>.h5                            resumable state of a quantum run (<h>: config hash)
    RUN/convergence.h5, RUN/convergence.log          the check of a figure's quantum or noise run

    sweep.json                                  the manifest: grid, analysis settings, cell paths
    classical/m=0.01/                           RUN of the classical cell of m (Dc)
    quantum/m=0.01/hbar=0.04/                   RUN of the quantum cell (Dq)
    tables/cells.csv, tables/thresholds.csv, tables/sweep.h5, tables/missing.txt
    figures/phase_diagram.{png,pdf}, figures/eta_vs_hbar.{png,pdf}
    reproduction/FIG/ENGINE/NAME/               RUN of a figure's run (kickedpair.reproduce.plan)

Every key of the config is checked first (:func:`kickedpair.workflow_config.check_workflow_config`:
types, bounds, and the names that become paths or reach a shell); what only the expanded plan can
tell (every run config parsed, grids against hbar) is checked here.

Grid values are written with :data:`SIG_DIGITS` significant digits (``0.003162``,
``1e-05``); the value a cell runs with is exactly the value its path shows.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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
QUANTUM_DIR = "quantum/m={m}/hbar={hbar}"
CLASSICAL_CONFIG = RUN_CONFIG.format(run=CLASSICAL_DIR)
CLASSICAL_RESULT = RUN_RESULT.format(run=CLASSICAL_DIR, engine="classical")
CLASSICAL_LOG = RUN_LOG.format(run=CLASSICAL_DIR, engine="classical")
QUANTUM_CONFIG = RUN_CONFIG.format(run=QUANTUM_DIR)
QUANTUM_RESULT = RUN_RESULT.format(run=QUANTUM_DIR, engine="quantum")
QUANTUM_CHECKPOINT = QUANTUM_DIR + "/checkpoint-{tag}.h5"
QUANTUM_LOG = RUN_LOG.format(run=QUANTUM_DIR, engine="quantum")
TABLES = {
    "cells_csv": "tables/cells.csv",
    "thresholds_csv": "tables/thresholds.csv",
    "h5": "tables/sweep.h5",
    "missing": "tables/missing.txt",
}
FIGURES = {
    "phase_png": "figures/phase_diagram.png",
    "phase_pdf": "figures/phase_diagram.pdf",
    "eta_png": "figures/eta_vs_hbar.png",
    "eta_pdf": "figures/eta_vs_hbar.pdf",
}

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
    text = json.dumps(mapping, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


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

    def engine_args(self) -> list[str]:
        """The engine's options beyond config, out, label, threads: a quantum run resumes from
        its checkpoint (named by a hash of its config, so a changed config starts afresh)."""
        if self.engine != "quantum":
            return []
        return ["--checkpoint", self.checkpoint, "--resume"] + (["--keep-checkpoint"] if self.keep_checkpoint else [])


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
RUN_FOLDER_PATTERN = (r"(?:classical/m=[^/]+|quantum/m=[^/]+/hbar=[^/]+"
                      r"|reproduction/fig[1-5]/(?:classical|quantum|noise)/[A-Za-z0-9_.=+-]+)")


def job_resources(engine: str, config: Mapping, settings: Mapping, memory: Mapping,
                  limit_mb: int) -> dict:
    """``settings`` (resources.<engine> over resources.default) with ``auto`` memory and
    run time of a quantum run from the engine's cost model (:mod:`kickedpair.sweep.resources`)."""
    from .resources import quantum_mem_mb, quantum_runtime_min

    ranks, threads = int(settings.get("ranks", 1)), int(settings.get("threads", 1))
    mem, runtime = settings.get("mem_mb", 2000), settings.get("runtime", 60)
    if engine == "quantum" and mem == "auto":
        mem = min(quantum_mem_mb(config, ranks, memory), limit_mb)
    if engine == "quantum" and runtime == "auto":
        runtime = quantum_runtime_min(config, ranks, float(settings.get("runtime_safety", 4.0)))
    return {"ranks": ranks, "threads": threads, "mem_mb": 2000 if mem == "auto" else int(mem),
            "runtime": 60 if runtime == "auto" else int(runtime), "retries": int(settings.get("retries", 0))}


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

        if self.node_mem_mb is not None:
            return int(self.node_mem_mb), "node_mem_mb"
        s = {**MEMORY_DEFAULTS, **(self.resources.get("quantum_memory") or {})}
        return int(s["max_mb"]), "resources.quantum_memory.max_mb"

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
    def classical_config(self, m: str) -> dict:
        physics = {**self.physics, "mass_ratio": float(m)}
        classical = {**self.classical, "n_kicks": self.n_kicks,
                     "n_trajectories": self.trajectories, "seed": self.seed}
        return {"physics": physics, "classical": classical}

    def quantum_config(self, m: str, hbar: str) -> dict:
        physics = {**self.physics, "mass_ratio": float(m), "hbar": float(hbar)}
        quantum = {**self.quantum, "n_kicks": self.n_kicks}
        return {"physics": physics, "quantum": quantum}

    def rule_resources(self, rule: str) -> dict:
        """``resources.default`` updated by ``resources.<rule>``."""
        return {**self.resources.get("default", {}), **self.resources.get(rule, {})}

    def run_resources(self, engine: str, over: Mapping | None = None) -> dict:
        """The resources of a run of ``engine``: the rule's, updated by ``over`` (a figure variant's)."""
        return {**self.rule_resources(engine), **(over or {})}

    def job(self, run: Run, memory_factor: float = 1.0) -> dict:
        """A run's resources resolved: ``auto`` memory and time of a quantum run from the cost
        model, memory times ``memory_factor`` (a convergence check holds twice a run's state)
        and never above one node's (the limit)."""
        limit = self.memory_limit()[0]
        res = job_resources(run.engine, run.config, run.resources, self.memory_settings(), limit)
        res["mem_mb"] = int(min(memory_factor * res["mem_mb"], max(limit, res["mem_mb"])))
        return res

    def runs(self) -> list[Run]:
        """The sweep's cells as runs: one classical run per mass ratio, one quantum run per cell."""
        out = []
        for m in self.mass_ratio:
            cfg = self.classical_config(m)
            out.append(Run("classical", CLASSICAL_DIR.format(m=m), cfg, f"m={m}",
                           self.run_resources("classical"), role={"m": m}))
        for c in self.cells:
            cfg = self.quantum_config(c.m, c.hbar)
            out.append(Run("quantum", QUANTUM_DIR.format(m=c.m, hbar=c.hbar), cfg, c.name,
                           self.run_resources("quantum"), keep_checkpoint=self.keep_checkpoints,
                           role={"m": c.m, "hbar": c.hbar}))
        return out

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Every run config through :func:`kickedpair.params.parse_config`, and every quantum
        cell's grid against its hbar (the keys alone are checked by :mod:`kickedpair.workflow_config`)."""
        for m in self.mass_ratio:
            _parse(self.classical_config(m), f"classical cell m={m}")
        from ..quantum.resolution import resolve  # the engine's own check of the grid against hbar

        for cell in self.cells:
            parsed = _parse(self.quantum_config(cell.m, cell.hbar), f"quantum cell {cell.name}")
            try:
                resolve(parsed)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (in the run config of the quantum cell {cell.name})") from None

    # ------------------------------------------------------------- manifest
    def manifest(self) -> dict:
        """What the status summariser and the aggregation need; paths relative to the sweep folder."""
        cells = []
        for r in self.runs():
            checkpoint = {"checkpoint": r.checkpoint} if r.engine == "quantum" else {}
            cells.append({"kind": r.engine, **r.role, "name": r.label, "result": r.result, **checkpoint,
                          "log": r.path(RUN_LOG), "config": r.path(RUN_CONFIG)})
        return {
            "preset": self.preset,
            "description": self.description,
            "hbar": self.hbar,
            "mass_ratio": self.mass_ratio,
            "n_kicks": self.n_kicks,
            "trajectories": self.trajectories,
            "seed": self.seed,
            "physics": self.physics,
            "analysis": self.analysis,
            "allow_missing": self.allow_missing,
            "cells": cells,
        }


class ManifestError(ValueError):
    """A ``sweep.json`` that cannot be used: not JSON, or not of the shape :meth:`SweepPlan.manifest` writes."""


def _manifest_problem(data: Any, grid: bool) -> str:
    """What is wrong with a parsed manifest ('' when nothing is)."""
    def kind(v: Any) -> str:
        return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
                type(None): "null"}.get(type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)

    if not isinstance(data, dict):
        return f"expected a JSON object with a 'cells' list, got {kind(data)}"
    if "cells" not in data:
        return "no 'cells' key (the list of cells)"
    if not isinstance(data["cells"], list):
        return f"cells: expected a list, got {kind(data['cells'])}"
    if "preset" in data and not isinstance(data["preset"], str):
        return f"preset: expected a string, got {kind(data['preset'])}"
    keys = {"classical": ("m",), "quantum": ("m", "hbar")}
    for i, c in enumerate(data["cells"]):
        if not isinstance(c, dict):
            return f"cells[{i}]: expected an object, got {kind(c)}"
        for key in ("name", "result"):
            if not isinstance(c.get(key), str):
                return f"cells[{i}].{key}: expected a string, got {kind(c.get(key)) if key in c else 'nothing'}"
        for key in ("kind", "log", "checkpoint", "config"):
            if c.get(key) is not None and not isinstance(c[key], str):
                return f"cells[{i}].{key}: expected a string, got {kind(c[key])}"
        for key in ("result", "log", "checkpoint", "config"):
            v = c.get(key)
            if v and (v.startswith("/") or ".." in v.split("/")):
                return f"cells[{i}].{key}: {v!r} is not a path inside the sweep folder"
        if grid:
            if c.get("kind") not in keys:
                return f"cells[{i}].kind: expected 'classical' or 'quantum', got {c.get('kind')!r}"
            for key in keys[c["kind"]]:
                if not isinstance(c.get(key), str):
                    return f"cells[{i}].{key}: expected a string, got {kind(c.get(key)) if key in c else 'nothing'}"
    if grid:
        for key in ("mass_ratio", "hbar"):
            v = data.get(key)
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                return f"{key}: expected a list of grid values as strings, got {kind(v) if key in data else 'nothing'}"
        if "analysis" in data and not isinstance(data["analysis"], dict):
            return f"analysis: expected an object, got {kind(data['analysis'])}"
        have = {(c["kind"], c["m"], c.get("hbar") if c["kind"] == "quantum" else None) for c in data["cells"]}
        for m in data["mass_ratio"]:
            if ("classical", m, None) not in have:
                return f"cells: no classical cell for m={m}"
            for h in data["hbar"]:
                if ("quantum", m, h) not in have:
                    return f"cells: no quantum cell for m={m}, hbar={h}"
    return ""


def read_manifest(path: str | Path, grid: bool = False) -> dict:
    """The manifest ``sweep.json`` at ``path``, checked; ``grid``: also the grid and its cells
    (what the aggregation needs).  A missing file raises :class:`FileNotFoundError`; anything
    else wrong raises :class:`ManifestError` with a one-line message naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ManifestError(f"{path}: not JSON ({exc})") from None
    problem = _manifest_problem(data, grid)
    if problem:
        raise ManifestError(f"{path}: not a sweep manifest: {problem}")
    return data


def _parse(mapping: dict, where: str):
    try:
        return parse_config(mapping)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in the run config of the {where})") from None


def build_plan(config: Mapping[str, Any], validate: bool = True) -> SweepPlan:
    """The plan of the selected preset; raises :class:`ConfigError` naming the key."""
    config = check_workflow_config(config)  # every key of the workflow config, defaults filled in
    name = config["preset"]
    presets = config["presets"]
    preset = presets[name]
    shared = {k: v for k, v in config.items() if k not in ("presets", "preset")}
    merged = deep_merge(shared, {k: v for k, v in preset.items() if k not in ("hbar", "mass_ratio")})
    plan = SweepPlan(
        preset=name,
        results=merged["results"].rstrip("/") or "/",
        hbar=expand_axis(preset["hbar"]),
        mass_ratio=expand_axis(preset["mass_ratio"]),
        n_kicks=int(merged["n_kicks"]),
        trajectories=int(merged["trajectories"]),
        seed=int(merged["seed"]),
        physics=dict(merged.get("physics") or {}),
        classical=dict(merged.get("classical") or {}),
        quantum=dict(merged.get("quantum") or {}),
        analysis=dict(merged["analysis"]),
        resources=dict(merged.get("resources") or {}),
        launcher=tuple(merged["launcher"]),
        allow_missing=bool(merged["allow_missing"]),
        keep_checkpoints=bool(merged["keep_checkpoints"]),
        description=str(preset.get("description", "")),
        node_mem_mb=merged["node_mem_mb"],
    )
    if validate:
        plan.validate()
    return plan
