# Shared set-up: config validation, the grid of the selected preset, paths and helpers.
# All logic lives in kickedpair.sweep (plain, tested Python); this file wires it in.

import os
import sys

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from kickedpair.params import ConfigError
from kickedpair.sweep import plan as sweep_plan
from kickedpair.sweep.resources import over_limit, quantum_mem_mb, quantum_runtime_min


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
    if err.validator in ("oneOf", "anyOf") and "description" in err.schema:
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

# 3. Cells whose memory estimate exceeds resources.quantum_memory.max_mb: say so now.
if SWEEP.rule_resources("quantum").get("mem_mb", "auto") == "auto":
    try:
        _too_big = over_limit(
            {c.name: SWEEP.quantum_config(c.m, c.hbar) for c in SWEEP.cells},
            int(SWEEP.rule_resources("quantum").get("ranks", 1)),
            SWEEP.resources.get("quantum_memory"),
        )
    except ConfigError as exc:
        raise WorkflowError(f"invalid config: {exc}") from None
    if _too_big:
        print(
            f"WARNING: {len(_too_big)} quantum cell(s) of preset {SWEEP.preset} need more memory than "
            f"resources.quantum_memory.max_mb allows; they will be requested at max_mb and may fail: "
            + ", ".join(f"{k} (~{v / 1024:.0f} GB)" for k, v in _too_big.items()),
            file=sys.stderr,
        )

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
    return {"manifest": f"{SWEEP_DIR}/{sweep_plan.MANIFEST}", "cells": cells}


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
    return quantum_mem_mb(cfg, int(res("quantum", "ranks", 1)), SWEEP.resources.get("quantum_memory"))


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
def mpi_shell(command):
    """Shell of an MPI cell job: the engine under the launcher, its output appended to the
    log between a start line and an exit-status line (read by `kickedpair.sweep.status`)."""
    return (
        f'echo "{sweep_plan.LOG_START} $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname):'
        ' {resources.tasks} rank(s) x {resources.cpus_per_task} thread(s)" >> {log}\n'
        "rc=0\n"
        "KICKEDPAIR_THREADS={resources.cpus_per_task} "
        "{resources.mpi} -n {resources.tasks} " + command + " >> {log} 2>&1 || rc=$?\n"
        f'echo "{sweep_plan.LOG_EXIT} $rc" >> {{log}}\n'
    )


def write_yaml(path, mapping, header=""):
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(mapping, sort_keys=False, default_flow_style=False)
    Path(path).write_text(header + text)
