# Aggregation: eta = Dq/Dc per cell, exponential fits and thresholds per mass ratio.
# allow_missing: false -> needs every cell (and so runs them); a missing or failed cell stops
#                         it with the list of those cells.
# allow_missing: true  -> aggregates the cells present when the workflow starts, lists the
#                         others in tables/missing.txt, and launches no cell job (run it after a
#                         `--keep-going` run that left failures behind).


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
        **table_outputs(),
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
