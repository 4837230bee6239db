# Classical reference: one MPI job per mass ratio (Dc does not depend on hbar).


rule classical_config:
    output:
        sweep_path(sweep_plan.CLASSICAL_CONFIG),
    params:
        cfg=lambda wc: SWEEP.classical_config(wc.m),
    run:
        write_yaml(output[0], params.cfg,
                   f"# classical run config of cell m={wildcards.m} (sweep preset {SWEEP.preset});"
                   " written by the workflow from config.yaml\n")


rule classical:
    input:
        cfg=sweep_path(sweep_plan.CLASSICAL_CONFIG),
    output:
        h5=sweep_path(sweep_plan.CLASSICAL_RESULT),
    log:
        sweep_path(sweep_plan.CLASSICAL_LOG),
    params:
        label=lambda wc: f"m={wc.m}",
    threads: cell_threads("classical")
    resources:
        mpi=SWEEP.launcher_shell,
        tasks=int(res("classical", "ranks", 1)),
        cpus_per_task=int(res("classical", "threads", 1)),
        mem_mb=fixed_mem("classical"),
        runtime=int(res("classical", "runtime", 60)),
    retries: int(res("classical", "retries", 0))
    shell:
        mpi_shell(
            "kickedpair classical --config {input.cfg:q} --out {output.h5:q} --label {params.label:q}"
            " --threads {resources.cpus_per_task:q} --progress log"
        )
        + "exit $rc\n"
