# Shared set-up: config validation, the grid of the selected preset, paths and helpers.
# All logic lives in kickedpair.sweep (plain, tested Python); this file wires it in.

import os
import shlex
import sys

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from kickedpair.params import ConfigError
from kickedpair.sweep import plan as sweep_plan
from kickedpair.sweep.files import SET_ASIDE_LOG as SET_ASIDE_LOG_NAME, set_aside_incomplete
from kickedpair.sweep.resources import cells_over_limit, over_limit_message, quantum_mem_mb, quantum_runtime_min


def _pick_error(err):
    """The error to show: inside oneOf/anyOf, the branch of the instance's own type."""
    while err.context:
        branches = {}
        for e in err.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        same_type = [errs for errs in branches.values()
                     if not any(e.validator in ("type", "required") and e.absolute_path == err.absolute_path
                             for e in errs)]
        if not same_type:  # fits none of the forms: say which forms are accepted
            return err
        err = jsonschema.exceptions.best_match(same_type[0])
    return err


def _schema_message(exc):
    """'invalid config: KEY: problem' from the jsonschema error behind Snakemake's WorkflowError."""
    err = exc
    while err is not None and not isinstance(err, jsonschema.ValidationError):
        err = err.__cause__ or err.__context__
    if err is None:
        return str(exc)
    err = _pick_error(err)
    path = list(err.absolute_path)
    message = err.message
    if "propertyNames" in err.absolute_schema_path:  # a bad key: name it
        path.append(err.instance)
    if err.validator in ("oneOf", "anyOf", "pattern") and "description" in err.schema:
        message = f"got {err.instance!r}; expected {err.schema['description']}"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            path.append(extra[0])
            known = ", ".join(sorted(err.schema.get("properties", {})))
            message = f"unknown key (known keys: {known})"
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return f"invalid config: {where or 'config'}: {message}"


# 1. The config file against the JSON schema (fills the documented defaults in).
config.update(sweep_plan.coerce_numbers(dict(config)))
try:
    validate(config, schema="../schemas/config.schema.json")
except Exception as exc:  # Snakemake wraps the jsonschema error in a WorkflowError
    raise WorkflowError(_schema_message(exc)) from None

# 2. The preset's grid, and every cell's run config through kickedpair.params.
try:
    SWEEP = sweep_plan.build_plan(config)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None

SWEEP_DIR = SWEEP.sweep_dir
M_VALUES = SWEEP.mass_ratio

# 3. The launcher is the config key `launcher` alone (the Slurm profiles set it in their
# site.yaml): a per-rule `mpi` resource from a profile's set-resources would reach the shell unchecked.
_mpi_overrides = sorted(
    name for name, res in getattr(getattr(workflow, "resource_settings", None), "overwrite_resources", {}).items()
    if "mpi" in res
)
if _mpi_overrides:
    raise WorkflowError(
        f"invalid config: set-resources {_mpi_overrides[0]}:mpi: the MPI launcher is the config key "
        "launcher (a list of words such as [srun, --mpi=pmi2], e.g. in the profile's site.yaml), not a "
        "per-rule resource; remove mpi from set-resources")


# 4. Quantum cells whose memory estimate exceeds one node (node_mem_mb, else
# resources.quantum_memory.max_mb) are refused now, unless the config allows them.
def check_memory(jobs, where, factor=1.0):
    """``jobs``: {name: (run config, ranks)}. Refuse (or, with allow_over_limit, name) those over the limit."""
    limit, key = SWEEP.memory_limit()
    try:
        over = cells_over_limit(jobs, limit, SWEEP.memory_settings(), factor)
    except ConfigError as exc:
        raise WorkflowError(f"invalid config: {exc}") from None
    if not over:
        return
    message = over_limit_message(over, limit, key, where)
    if not SWEEP.allow_over_limit:
        raise WorkflowError(
            f"invalid config: {key}: {message}. Lower their grids (quantum.N1/N2/scheme), leave them out "
            "of the grid, run them where a node has more memory (node_mem_mb), or set "
            "resources.quantum_memory.allow_over_limit: true to submit them anyway, asking for the limit")
    if workflow.is_main_process:
        print(f"WARNING: {message}; resources.quantum_memory.allow_over_limit is set: they are asked "
              f"for at {limit} MB and may fail", file=sys.stderr)


_ranks = int(SWEEP.rule_resources("quantum").get("ranks", 1))
check_memory({c.name: (SWEEP.quantum_config(c.m, c.hbar), _ranks) for c in SWEEP.cells},
             f"preset {SWEEP.preset}")


# 5. A cell result that is not complete (truncated, unreadable, no complete=True) is moved aside
# to <name>.incomplete, so that Snakemake sees it missing and runs that cell again (and the
# aggregation never starts from it). Each move is a line of logs/set-aside.log, an input of the
# aggregation (and of the figures, for their runs): the tables are then out of date, and
# Snakemake remakes the missing result for them. Only the main process does this (not job steps).
SET_ASIDE_LOG = f"{SWEEP_DIR}/{SET_ASIDE_LOG_NAME}"


def set_aside(paths, record):
    if not workflow.is_main_process:
        return
    try:
        moved = set_aside_incomplete(paths, record)
    except OSError as exc:
        raise WorkflowError(f"cannot set aside an incomplete result: {exc}") from None
    for path, dest, why in moved:
        print(f"WARNING: {path} is not a complete result ({why}): moved aside to {dest.name}; "
              "it is made again", file=sys.stderr)


wildcard_constraints:
    m=r"[0-9][0-9.eE+-]*",
    hbar=r"[0-9][0-9.eE+-]*",


def sweep_path(template, **wc):
    """A path of the sweep folder; unfilled fields stay Snakemake wildcards."""
    keep = {k: "{" + k + "}" for k in ("m", "hbar")}
    return f"{SWEEP_DIR}/" + template.format(**{**keep, **wc})


def classical_results():
    return [sweep_path(sweep_plan.CLASSICAL_RESULT, m=m) for m in M_VALUES]


def quantum_results():
    return [sweep_path(sweep_plan.QUANTUM_RESULT, m=c.m, hbar=c.hbar) for c in SWEEP.cells]


def table_outputs():
    return {k: f"{SWEEP_DIR}/{v}" for k, v in sweep_plan.TABLES.items()}


def figure_outputs():
    return {k: f"{SWEEP_DIR}/{v}" for k, v in sweep_plan.FIGURES.items()}


def aggregate_inputs(wildcards):
    """Every cell result; with allow_missing, only those already there (so no cell job runs)."""
    cells = classical_results() + quantum_results()
    if SWEEP.allow_missing:
        cells = [f for f in cells if os.path.exists(f)]
    return {"manifest": f"{SWEEP_DIR}/{sweep_plan.MANIFEST}", "cells": cells,
            "set_aside": [SET_ASIDE_LOG] if os.path.exists(SET_ASIDE_LOG) else []}


set_aside(classical_results() + quantum_results() + [f"{SWEEP_DIR}/{sweep_plan.TABLES['h5']}"],
          SET_ASIDE_LOG)


def final_targets():
    """Default target: the manifest, the tables and the figures (and through them every cell)."""
    return [f"{SWEEP_DIR}/{sweep_plan.MANIFEST}", *table_outputs().values(), *figure_outputs().values()]


# ---------------------------------------------------------------- resources
def res(rule, key, default=None):
    return SWEEP.rule_resources(rule).get(key, default)


def cell_threads(rule):
    """Cores a cell job occupies (what the local scheduler counts): ranks x threads."""
    return int(res(rule, "ranks", 1)) * int(res(rule, "threads", 1))


def quantum_mem(wildcards):
    mem = res("quantum", "mem_mb", "auto")
    if mem != "auto":
        return int(mem)
    cfg = SWEEP.quantum_config(wildcards.m, wildcards.hbar)
    return quantum_mem_mb(cfg, int(res("quantum", "ranks", 1)), SWEEP.memory_settings())


def quantum_runtime(wildcards):
    runtime = res("quantum", "runtime", 60)
    if runtime != "auto":
        return int(runtime)
    cfg = SWEEP.quantum_config(wildcards.m, wildcards.hbar)
    return quantum_runtime_min(cfg, int(res("quantum", "ranks", 1)), float(res("quantum", "runtime_safety", 4.0)))


def fixed_mem(rule):
    mem = res(rule, "mem_mb", 2000)
    return 2000 if mem == "auto" else int(mem)


# ---------------------------------------------------------------- shell
# Every value in a shell command is quoted ({x:q}); the launcher is the checked words of the
# config key `launcher` (kickedpair.sweep.plan.parse_launcher), quoted here. The `mpi` resource
# only marks a job as MPI for the Slurm executor (which then runs the shell in the allocation).
def mpi_shell(command):
    """Shell of an MPI cell job: the engine under the launcher, its output appended to the
    log between a start line and an exit-status line (read by `kickedpair.sweep.status`)."""
    return (
        f'echo "{sweep_plan.LOG_START} $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname):"'
        ' {resources.tasks:q} "rank(s) x" {resources.cpus_per_task:q} "thread(s)" >> {log:q}\n'
        "rc=0\n"
        "KICKEDPAIR_THREADS={resources.cpus_per_task:q} "
        f"{SWEEP.launcher_shell} -n {{resources.tasks:q}} " + command + " >> {log:q} 2>&1 || rc=$?\n"
        f'echo "{sweep_plan.LOG_EXIT} $rc" >> {{log:q}}\n'
    )


def write_yaml(path, mapping, header=""):
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(mapping, sort_keys=False, default_flow_style=False)
    Path(path).write_text(header + text)
