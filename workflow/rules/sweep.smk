# The sweep's own outputs: the manifest, the aggregation (eta = Dq/Dc per cell, exponential fits and
# thresholds per mass ratio) and its figures (the phase diagram, Fig. 4b, and eta(hbar) per m, Fig. 4a).
# allow_missing: false -> needs every cell (and so runs them); a missing or failed cell stops it
#   with the list of those cells. true -> aggregates the cells present when the workflow starts, lists
#   the others in tables/missing.txt and launches no cell job (after a `--keep-going` run that failed).

# the files of the report's category "Sweep (Fig. 4)": key -> (subcategory, what it shows)
SWEEP_REPORT = {"cells_csv": ("Tables", "one row per (m, hbar): Dc, Dq, eta = Dq/Dc, status"),
                "thresholds_csv": ("Tables", "per m: alpha of the exponential fit, hbar_c, hbar_DL"),
                "missing": ("Tables", "cells without a result, and why"),
                "phase_png": ("Phase diagram (Fig. 4b)", "hbar_c(m) and hbar_DL(m)"),
                "eta_png": ("eta(hbar) (Fig. 4a)", "eta = Dq/Dc against hbar per m, with fits")}


def sweep_report(files):
    return {k: flag(p, "sweep.rst", "Sweep (Fig. 4)", *SWEEP_REPORT[k]) if k in SWEEP_REPORT else p
            for k, p in files.items()}


def adaptive_grid():
    """The cells of an adaptive sweep once its rounds are done (m -> hbar values)."""
    with open(final_refine_record()) as fh:
        record = json.load(fh)
    return record["grid"]


def aggregate_inputs(wildcards):
    """Every cell result; with allow_missing, only those already there (so no cell job runs)."""
    quantum = cell_results(adaptive_grid()) if SWEEP.adaptive and not SWEEP.allow_missing else CELLS["quantum"]
    cells = [f for f in CELLS["classical"] + quantum if not SWEEP.allow_missing or os.path.exists(f)]
    return {"manifest": MANIFEST, "cells": cells,
            "set_aside": [SET_ASIDE_LOG] if os.path.exists(SET_ASIDE_LOG) else []}


rule manifest:
    """sweep.json; of an adaptive sweep, once its rounds are done (it lists the cells they added)."""
    input:
        rounds=lambda wc: [final_refine_record()] if SWEEP.adaptive and not SWEEP.allow_missing else [],
    output:
        MANIFEST,
    params:
        manifest=SWEEP.manifest(),
    run:
        import json
        from pathlib import Path

        manifest = params.manifest
        if input.rounds:
            with open(input.rounds[0]) as fh:
                manifest = SWEEP.manifest(json.load(fh)["grid"])
        Path(output[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(output[0]).write_text(json.dumps(manifest, indent=1) + "\n")


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        **sweep_report(TABLE_FILES),
    log:
        f"{SWEEP_DIR}/logs/aggregate.log",
    params:
        allow=["--allow-missing"] if SWEEP.allow_missing else [],
        python=sys.executable,
        sweep_dir=SWEEP_DIR,
    resources:
        **ANALYSIS_RESOURCES,
    shell:
        "{params.python:q} -m kickedpair.sweep.aggregate {params.sweep_dir:q} {params.allow:q} > {log:q} 2>&1"
        " && rc=0 || rc=$?; cat {log:q} >&2; exit $rc"


rule sweep_figures:
    input:
        h5=TABLE_FILES["h5"],
    output:
        **sweep_report(FIGURE_FILES),
    log:
        f"{SWEEP_DIR}/logs/figures.log",
    params:
        python=sys.executable,
        out=f"{SWEEP_DIR}/figures",
    resources:
        **ANALYSIS_RESOURCES,
    shell:
        "{params.python:q} -m kickedpair.sweep.figures {input.h5:q} --out-dir {params.out:q} > {log:q} 2>&1"
