# The sweep's own outputs: the manifest, the aggregation (eta = Dq/Dc per cell, exponential fits and
# thresholds per mass ratio) and its figures (the phase diagram, Fig. 4b, and eta(hbar) per m, Fig. 4a).
# allow_missing: false -> needs every cell (and so runs them); a missing or failed cell stops
#                         it with the list of those cells.
# allow_missing: true  -> aggregates the cells present when the workflow starts, lists the
#                         others in tables/missing.txt, and launches no cell job (run it after a
#                         `--keep-going` run that left failures behind).


def aggregate_inputs(wildcards):
    """Every cell result; with allow_missing, only those already there (so no cell job runs)."""
    cells = classical_results() + quantum_results()
    if SWEEP.allow_missing:
        cells = [f for f in cells if os.path.exists(f)]
    return {"manifest": f"{SWEEP_DIR}/{sweep_plan.MANIFEST}", "cells": cells,
            "set_aside": [SET_ASIDE_LOG] if os.path.exists(SET_ASIDE_LOG) else []}


rule manifest:
    output:
        f"{SWEEP_DIR}/{sweep_plan.MANIFEST}",
    params:
        manifest=SWEEP.manifest(),
    run:
        import json
        from pathlib import Path

        Path(output[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(output[0]).write_text(json.dumps(params.manifest, indent=1) + "\n")


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        **report_tables(),
    log:
        f"{SWEEP_DIR}/logs/aggregate.log",
    params:
        allow=["--allow-missing"] if SWEEP.allow_missing else [],
        python=sys.executable,
        sweep_dir=SWEEP_DIR,
    resources:
        mem_mb=fixed_mem("aggregate"),
        runtime=int(res("aggregate", "runtime", 20)),
    shell:
        "{params.python:q} -m kickedpair.sweep.aggregate {params.sweep_dir:q} {params.allow:q} > {log:q} 2>&1"
        " && rc=0 || rc=$?; cat {log:q} >&2; exit $rc"


rule sweep_figures:
    input:
        h5=table_outputs()["h5"],
    output:
        **report_figures(),
    log:
        f"{SWEEP_DIR}/logs/figures.log",
    params:
        python=sys.executable,
        out=f"{SWEEP_DIR}/figures",
    resources:
        mem_mb=fixed_mem("aggregate"),
        runtime=int(res("aggregate", "runtime", 20)),
    shell:
        "{params.python:q} -m kickedpair.sweep.figures {input.h5:q} --out-dir {params.out:q} > {log:q} 2>&1"
