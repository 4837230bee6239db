# Shared set-up: config validation, the grid of the selected preset, paths and helpers.
# All logic lives in kickedpair.sweep (plain, tested Python); this file wires it in.

import functools
import json
import os
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from kickedpair.params import ConfigError
from kickedpair.workflow_config import check_workflow_config
from kickedpair.sweep import plan as sweep_plan
from kickedpair.sweep.files import SET_ASIDE_LOG as SET_ASIDE_LOG_NAME, set_aside_incomplete
from kickedpair.reproduce.plan import reproduction_of
from kickedpair.sweep.resources import cells_over_limit, over_limit_message

# Every key of the config checked (defaults filled in), then the preset's grid and figure variants,
# every run config through kickedpair.params: all engine runs (cells and figure runs) by folder.
try:
    config.update(check_workflow_config(config))
    SWEEP = sweep_plan.build_plan(config)
    REPRO = reproduction_of(config, SWEEP)
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None

SWEEP_DIR = SWEEP.sweep_dir
SWEEP_RUNS = SWEEP.runs()
RUNS = {r.folder: r for r in SWEEP_RUNS + (REPRO.runs() if REPRO else [])}


def run_of(folder):
    """The run of a folder: a planned one, or a cell an adaptive sweep's later round added."""
    run = RUNS.get(folder) or (SWEEP.run_for(folder) if SWEEP.adaptive else None)
    if run is None:
        raise WorkflowError(f"no run is planned in {folder}")
    return run


MANIFEST = f"{SWEEP_DIR}/{sweep_plan.MANIFEST}"
TABLE_FILES = {k: f"{SWEEP_DIR}/{v}" for k, v in sweep_plan.TABLES.items()}
FIGURE_FILES = {k: f"{SWEEP_DIR}/{v}" for k, v in sweep_plan.FIGURES.items()}

# The launcher is the config key `launcher` alone (the Slurm profiles set it in their site.yaml):
# a per-rule `mpi` resource from a profile's set-resources would reach the shell unchecked.
_mpi_overrides = sorted(name for name, res in getattr(getattr(workflow, "resource_settings", None),
                                                      "overwrite_resources", {}).items() if "mpi" in res)
if _mpi_overrides:
    raise WorkflowError(
        f"invalid config: set-resources {_mpi_overrides[0]}:mpi: the MPI launcher is the config key "
        "launcher (a list of words such as [srun, --mpi=pmi2], e.g. in the profile's site.yaml), not a "
        "per-rule resource; remove mpi from set-resources")


def check_memory(runs, where, factor=1.0, suffix=""):
    """Refuse (or, with allow_over_limit, name) the quantum ``runs`` whose memory estimate exceeds
    one node (node_mem_mb, else resources.quantum_memory.max_mb)."""
    limit, key = SWEEP.memory_limit()
    jobs = {(r.label if not r.figure else f"{r.figure}/quantum/{r.name}") + suffix:
            (r.config, int(r.resources.get("ranks", 1))) for r in runs if r.engine == "quantum"}
    try:
        over = cells_over_limit(jobs, limit, factor)
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


check_memory(SWEEP_RUNS + SWEEP.bounding_runs(), f"preset {SWEEP.preset}")
if REPRO is not None:
    check_memory(REPRO.runs(), f"the figures of preset {REPRO.preset}")
    check_memory([r for r in REPRO.runs() if r.convergence], f"the figures of preset {REPRO.preset}",
                 factor=2.0, suffix=" convergence check (twice the run's memory)")


def run_file(run, template=sweep_plan.RUN_RESULT):
    return f"{SWEEP_DIR}/{run.path(template)}"


CELLS = {e: [run_file(r) for r in SWEEP_RUNS if r.engine == e] for e in ("classical", "quantum")}

# A result that is not complete (truncated, unreadable, no complete=True) is moved aside to
# <name>.incomplete, so that Snakemake sees it missing and runs it again (and the aggregation and
# the figures never start from it). Each move is a line of logs/set-aside.log (of the sweep, and of
# reproduction/ for the figures' runs), an input of the aggregation and of the figures: their tables
# are then out of date, and Snakemake remakes the missing result for them. Figure results of the
# earlier layout (RUN/result.h5) are renamed to RUN/ENGINE.h5 first. Only the main process does this.
SET_ASIDE_LOG = f"{SWEEP_DIR}/{SET_ASIDE_LOG_NAME}"
REPRO_SET_ASIDE_LOG = f"{SWEEP_DIR}/reproduction/{SET_ASIDE_LOG_NAME}"


def set_aside(paths, record):
    try:
        moved = set_aside_incomplete(paths, record)
    except OSError as exc:
        raise WorkflowError(f"cannot set aside an incomplete result: {exc}") from None
    for path, dest, why in moved:
        print(f"WARNING: {path} is not a complete result ({why}): moved aside to {dest.name}; "
              "it is made again", file=sys.stderr)


if workflow.is_main_process and SWEEP.adaptive:
    print(f"NOTE: preset {SWEEP.preset} is adaptive: round 0 is its grid ({len(SWEEP.cells)} quantum cells); "
          f"the later rounds' cells depend on their results (refine/round-K.json, at most "
          f"{SWEEP.adaptive['max_rounds']} rounds, {SWEEP.adaptive['max_cells']} cells per mass ratio)",
          file=sys.stderr)

if workflow.is_main_process:
    for _old, _new in sweep_plan.migrate_results(SWEEP_DIR, REPRO.runs()) if REPRO else []:
        print(f"NOTE: {_old} renamed to {_new.name} (the layout of every run: RUN/ENGINE.h5)", file=sys.stderr)
    _later = sorted(map(str, Path(SWEEP_DIR).glob("quantum/m=*/hbar=*/quantum.h5"))) if SWEEP.adaptive else []
    set_aside(CELLS["classical"] + sorted(set(CELLS["quantum"]) | set(_later)) + [TABLE_FILES["h5"]], SET_ASIDE_LOG)
    if REPRO is not None:
        set_aside([run_file(r, t) for r in REPRO.runs()
                   for t in (sweep_plan.RUN_RESULT, sweep_plan.RUN_CONVERGENCE)], REPRO_SET_ASIDE_LOG)


# `snakemake --report report.html`: the figures and tables flagged with report(), with a caption of
# workflow/report/ (absolute: Snakemake reads it from the rule file's folder). The flagged paths go
# only into the output: of the rules that make them (a flagged input would list the file under the
# rule that reads it); everywhere else the plain paths.
def flag(path, caption, category, subcategory, shows):
    return report(path, caption=os.path.join(workflow.basedir, "workflow", "report", caption), category=category,
                  subcategory=subcategory, labels={"file": os.path.basename(path), "shows": shows})


# ---------------------------------------------------------------- resources
_mem = SWEEP.rule_resources("aggregate").get("mem_mb", 2000)
ANALYSIS_RESOURCES = dict(mem_mb=2000 if _mem == "auto" else int(_mem),
                          runtime=int(SWEEP.rule_resources("aggregate").get("runtime", 20)))


@functools.cache
def _job(run, memory_factor):
    return SWEEP.job(run_of(run), memory_factor)


def job(wc, memory_factor=1.0):
    """The resolved resources of the run of a rule's wildcards (kickedpair.sweep.plan.SweepPlan.job),
    computed once per run: the rule asks for them resource by resource."""
    return _job(wc.run, memory_factor)


def job_resources(memory_factor=1.0):
    """The resources of a run rule: ranks x threads, memory and time per run from its plan."""
    return dict(mpi=SWEEP.launcher_shell,
                tasks=lambda wc: job(wc)["ranks"],
                cpus_per_task=lambda wc: job(wc)["threads"],
                mem_mb=lambda wc: job(wc, memory_factor)["mem_mb"],
                runtime=lambda wc: job(wc)["runtime"])


# ---------------------------------------------------------------- shell
# Every value in a shell command is quoted ({x:q}); the launcher is the checked words of the config
# key `launcher` (kickedpair.workflow_config.parse_launcher), quoted in SWEEP.launcher_shell. The `mpi` resource only marks
# a job as MPI for the Slurm executor (which then runs the shell in the allocation).
def mpi_shell(command):
    """The engine under the launcher, its output appended to the log between a start line and an
    exit-status line (read by `kickedpair.sweep.status`)."""
    return (
        f'echo "{sweep_plan.LOG_START} $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname):"'
        ' {resources.tasks:q} "rank(s) x" {resources.cpus_per_task:q} "thread(s)" >> {log:q}\n'
        "rc=0\n"
        "KICKEDPAIR_THREADS={resources.cpus_per_task:q} "
        f"{SWEEP.launcher_shell} -n {{resources.tasks:q}} " + command + " >> {log:q} 2>&1 || rc=$?\n"
        f'echo "{sweep_plan.LOG_EXIT} $rc" >> {{log:q}}\nexit $rc\n'
    )
