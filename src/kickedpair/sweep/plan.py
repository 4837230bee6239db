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

Names that become part of a path (preset names, ``results``) and the MPI launcher, which becomes
part of every cell job's command line, are checked by :func:`check_name`, :func:`check_path`
and :func:`parse_launcher`: a config can neither write outside its results folder nor reach a
shell with anything but plain words.

Grid values are written with :data:`SIG_DIGITS` significant digits (``0.003162``,
``1e-05``); the value a cell runs with is exactly the value its path shows.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..params import SECTIONS, ConfigError, parse_config
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

# Keys the sweep sets itself; writing them in a shared section would be ambiguous.
_AXIS_KEYS = {"physics": ("mass_ratio", "hbar"),
              "classical": ("n_kicks", "n_trajectories", "seed"),
              "quantum": ("n_kicks",)}
_AXIS_SOURCE = {"mass_ratio": "mass_ratio", "hbar": "hbar", "n_kicks": "n_kicks",
                "n_trajectories": "trajectories", "seed": "seed"}


# --------------------------------------------------------------------------- values
def fmt(value: float) -> str:
    """A grid value as it appears in paths and labels: ``SIG_DIGITS`` significant digits."""
    return f"{float(value):.{SIG_DIGITS}g}"


_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_TEXT_KEYS = {"preset", "results", "launcher", "description"}


# --------------------------------------------------------------------------- names
# Every config value that becomes part of a path or of a cell job's command line is checked
# against one of these before anything runs (the schema in workflow/schemas/config.schema.json
# holds the same patterns): a preset name is one folder name, `results` and the report folders
# are folder names joined by '/', the launcher is a list of plain words.
NAME_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.-]+$"
_COMPONENT = r"(?!\.\.(?:/|$))[A-Za-z0-9_.-]+"
PATH_PATTERN = rf"^/?{_COMPONENT}(?:/{_COMPONENT})*/?$"
WORD_PATTERN = r"^[A-Za-z0-9_./=:,+-]+$"
RUN_NAME_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.=+-]+$"
NAME_RULE = "letters, digits and _ . - only, not '.' or '..'"
PATH_RULE = "folder names of letters, digits and _ . - joined by '/' (relative or absolute), no '..'"
WORD_RULE = "plain words of letters, digits and _ . / = : , + -"


def check_name(value: Any, key: str) -> str:
    """``value`` if it is usable as one folder name (:data:`NAME_PATTERN`), else ConfigError."""
    if not isinstance(value, str) or not re.fullmatch(NAME_PATTERN, value):
        raise ConfigError(f"{key}: {value!r} is not a usable name: {NAME_RULE} (it becomes a folder name)")
    return value


def check_path(value: Any, key: str) -> str:
    """``value`` without a trailing '/' if it is a safe folder path (:data:`PATH_PATTERN`)."""
    if not isinstance(value, str) or not re.fullmatch(PATH_PATTERN, value):
        raise ConfigError(f"{key}: {value!r} is not a usable folder: {PATH_RULE}")
    return value.rstrip("/") or "/"


def parse_launcher(value: Any, key: str = "launcher") -> tuple[str, ...]:
    """The MPI launcher as a tuple of words: a list of strings, or a string split like a shell
    would (:func:`shlex.split`); every word must match :data:`WORD_PATTERN`."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {value!r} cannot be split into words ({exc})") from None
        where = lambda i: key  # noqa: E731
    elif isinstance(value, (list, tuple)):
        words = list(value)
        where = lambda i: f"{key}[{i}]"  # noqa: E731
    else:
        raise ConfigError(f"{key}: expected a list of words such as [srun, --mpi=pmi2], got {value!r}")
    if not words:
        raise ConfigError(f"{key}: empty; give the launcher command, e.g. [mpiexec] or [srun, --mpi=pmi2]")
    for i, w in enumerate(words):
        if not isinstance(w, str) or not re.fullmatch(WORD_PATTERN, w):
            raise ConfigError(f"{where(i)}: {w!r} is not a plain word: the launcher is a list of "
                              f"{WORD_RULE} (e.g. [srun, --mpi=pmi2]), never shell text")
    return tuple(words)


def _scalar(text: str) -> Any:
    t = text.strip()
    if _NUMBER.match(t):
        return int(t) if re.match(r"^[-+]?[0-9]+$", t) else float(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return text


def coerce_numbers(obj: Any, key: str | None = None) -> Any:
    """Numbers and booleans written as strings become numbers and booleans, recursively.

    YAML 1.1 reads ``1e-3`` as a string, and Snakemake reads nested ``--config`` values
    (``presets={demo: {n_kicks: 50}}``) as strings; the keys in ``_TEXT_KEYS`` stay text.
    """
    if isinstance(obj, str):
        return obj if key in _TEXT_KEYS else _scalar(obj)
    if isinstance(obj, list):
        return [coerce_numbers(v, key if key in _TEXT_KEYS else None) for v in obj]
    if isinstance(obj, dict):
        return {k: coerce_numbers(v, k) for k, v in obj.items()}
    return obj


def expand_axis(spec: Any, key: str) -> list[str]:
    """Grid values of an axis spec, formatted, sorted ascending, without duplicates.

    ``spec``: a list of positive numbers, ``{log: [lo, hi, n]}`` or ``{linear: [lo, hi, n]}``.
    """
    if isinstance(spec, Mapping):
        if len(spec) != 1 or next(iter(spec)) not in ("log", "linear"):
            raise ConfigError(f"{key}: expected a list or {{log: [lo, hi, n]}} / {{linear: [lo, hi, n]}}, got {spec!r}")
        kind, args = next(iter(spec.items()))
        if not isinstance(args, (list, tuple)) or len(args) != 3:
            raise ConfigError(f"{key}.{kind}: expected [lo, hi, n], got {args!r}")
        lo, hi, n = args
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{key}.{kind}: n must be an integer >= 1, got {n!r}")
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0) or not math.isfinite(v):
                raise ConfigError(f"{key}.{kind}: bounds must be finite and > 0, got {args!r}")
        if n == 1 and lo != hi:
            raise ConfigError(f"{key}.{kind}: n = 1 needs lo == hi, got {args!r}")
        if lo > hi:
            raise ConfigError(f"{key}.{kind}: need lo <= hi, got {args!r}")
        raw = np.geomspace(lo, hi, n) if kind == "log" else np.linspace(lo, hi, n)
        values = [float(v) for v in raw]
    elif isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError(f"{key}: the axis is empty; give at least one value")
        values = []
        for i, v in enumerate(spec):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{key}[{i}]: must be a finite number > 0, got {v!r}")
            values.append(float(v))
    else:
        raise ConfigError(f"{key}: expected a list or {{log: [lo, hi, n]}} / {{linear: [lo, hi, n]}}, got {spec!r}")
    labels = sorted({fmt(v) for v in values}, key=float)
    if len(labels) != len(values):
        raise ConfigError(f"{key}: values coincide at {SIG_DIGITS} significant digits: {values!r}")
    return labels


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

    def checkpoint(self, m: str, hbar: str) -> str:
        tag = config_tag(self.quantum_config(m, hbar))
        return self.path(QUANTUM_CHECKPOINT, m=m, hbar=hbar, tag=tag)

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
                           self.run_resources("classical")))
        for c in self.cells:
            cfg = self.quantum_config(c.m, c.hbar)
            out.append(Run("quantum", QUANTUM_DIR.format(m=c.m, hbar=c.hbar), cfg, c.name,
                           self.run_resources("quantum"), keep_checkpoint=self.keep_checkpoints))
        return out

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Run every cell's config through :func:`kickedpair.params.parse_config`."""
        for section, keys in _AXIS_KEYS.items():
            for key in keys:
                if key in (getattr(self, section) or {}):
                    raise ConfigError(
                        f"{section}.{key}: set by the sweep (presets.{self.preset}.{_AXIS_SOURCE[key]}); "
                        f"remove it from the {section} section")
        if self.physics.get("coupling_scales_with_hbar"):
            raise ConfigError(
                "physics.coupling_scales_with_hbar: must be false in a sweep "
                "(one classical run per mass ratio assumes Dc does not depend on hbar)")
        lo, hi = self.analysis["fit_window"]
        if not lo < hi:
            raise ConfigError(f"analysis.fit_window: need lo < hi, got {[lo, hi]}")
        if not self.analysis["eta_dl"] < self.analysis["eta_c"]:
            raise ConfigError(
                f"analysis.eta_dl: must be below analysis.eta_c = {self.analysis['eta_c']}, "
                f"got {self.analysis['eta_dl']}")
        for m in self.mass_ratio:
            _parse(self.classical_config(m), f"classical cell m={m}")
        try:  # the engine's own check of the numerics (grid sizes against hbar)
            from ..quantum.resolution import resolve
        except Exception:
            resolve = None
        for cell in self.cells:
            cfg = self.quantum_config(cell.m, cell.hbar)
            # Sections the installed kickedpair.params does not know are left to the engine.
            parsed = _parse({k: v for k, v in cfg.items() if k in SECTIONS}, f"quantum cell {cell.name}")
            if resolve is not None and "quantum" in SECTIONS:
                try:
                    resolve(parsed)
                except ConfigError as exc:
                    raise ConfigError(f"{exc} (in the run config of the quantum cell {cell.name})") from None

    # ------------------------------------------------------------- manifest
    def manifest(self) -> dict:
        """What the status summariser and the aggregation need; paths relative to the sweep folder."""
        rel = lambda t, **wc: t.format(**wc)  # noqa: E731
        classical = [{"kind": "classical", "m": m, "name": f"m={m}",
                      "result": rel(CLASSICAL_RESULT, m=m), "log": rel(CLASSICAL_LOG, m=m),
                      "config": rel(CLASSICAL_CONFIG, m=m)} for m in self.mass_ratio]
        quantum = []
        for c in self.cells:
            tag = config_tag(self.quantum_config(c.m, c.hbar))
            quantum.append({"kind": "quantum", "m": c.m, "hbar": c.hbar, "name": c.name,
                            "result": rel(QUANTUM_RESULT, m=c.m, hbar=c.hbar),
                            "checkpoint": rel(QUANTUM_CHECKPOINT, m=c.m, hbar=c.hbar, tag=tag),
                            "log": rel(QUANTUM_LOG, m=c.m, hbar=c.hbar),
                            "config": rel(QUANTUM_CONFIG, m=c.m, hbar=c.hbar)})
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
            "cells": classical + quantum,
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


def _node_mem(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"node_mem_mb: expected the memory of one node in MB (an integer >= 1), got {value!r}")
    return value


_ANALYSIS_DEFAULTS = {"fit_window": [0.12, 1.0], "eta_c": 0.9, "eta_dl": 0.1, "hbar_scale": "linear"}


def build_plan(config: Mapping[str, Any], validate: bool = True) -> SweepPlan:
    """The plan of the selected preset; raises :class:`ConfigError` naming the key."""
    config = check_workflow_config(config)  # every key of the workflow config, defaults filled in
    config = coerce_numbers(dict(config))
    presets = config.get("presets") or {}
    for key in presets:
        check_name(key, f"presets.{key}")
    name = config.get("preset")
    if isinstance(name, str) and name not in presets:
        check_name(name, "preset")
    if not isinstance(name, str) or name not in presets:
        known = ", ".join(sorted(presets)) or "none defined"
        raise ConfigError(f"preset: unknown preset {name!r} (known presets: {known})")
    preset = presets[name]
    shared = {k: v for k, v in config.items() if k not in ("presets", "preset")}
    merged = deep_merge(shared, {k: v for k, v in preset.items() if k not in ("hbar", "mass_ratio")})
    for key in ("n_kicks", "trajectories"):
        if key not in merged:
            raise ConfigError(f"presets.{name}.{key}: required")
    plan = SweepPlan(
        preset=name,
        results=check_path(merged.get("results", "results"), "results"),
        hbar=expand_axis(preset.get("hbar"), f"presets.{name}.hbar"),
        mass_ratio=expand_axis(preset.get("mass_ratio"), f"presets.{name}.mass_ratio"),
        n_kicks=int(merged["n_kicks"]),
        trajectories=int(merged["trajectories"]),
        seed=int(merged.get("seed", 20200101)),
        physics=dict(merged.get("physics") or {}),
        classical=dict(merged.get("classical") or {}),
        quantum=dict(merged.get("quantum") or {}),
        analysis={**_ANALYSIS_DEFAULTS, **(merged.get("analysis") or {})},
        resources=dict(merged.get("resources") or {}),
        launcher=parse_launcher(merged.get("launcher", "mpiexec")),
        allow_missing=bool(merged.get("allow_missing", False)),
        keep_checkpoints=bool(merged.get("keep_checkpoints", False)),
        description=str(preset.get("description", "")),
        node_mem_mb=_node_mem(merged.get("node_mem_mb")),
    )
    if validate:
        plan.validate()
    return plan
