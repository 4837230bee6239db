# Figures from the aggregated tables: the phase diagram (Fig. 4b) and eta(hbar) per m (Fig. 4a).


rule sweep_figures:
    input:
        h5=table_outputs()["h5"],
    output:
        **figure_outputs(),
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
