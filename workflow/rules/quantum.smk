# Quantum cells: one MPI job per (hbar, m). A cell writes its state to a checkpoint every
# quantum.checkpoint_every kicks and resumes from it when re-run (after a failure, a kill, a
# Slurm time limit): the checkpoint is deliberately not a declared output, so Snakemake never
# deletes it when a job fails; the engine removes it once the result is written (unless
# keep_checkpoints: true). Its name carries a hash of the cell's run config, so a changed
# config starts afresh instead of meeting a checkpoint of other parameters.


rule quantum_config:
    output:
        sweep_path(sweep_plan.QUANTUM_CONFIG),
    params:
        cfg=lambda wc: SWEEP.quantum_config(wc.m, wc.hbar),
    run:
        write_yaml(output[0], params.cfg,
                   f"# quantum run config of cell m={wildcards.m}, hbar={wildcards.hbar}"
                   f" (sweep preset {SWEEP.preset}); written by the workflow from config.yaml\n")


rule quantum:
    input:
        cfg=sweep_path(sweep_plan.QUANTUM_CONFIG),
    output:
        h5=sweep_path(sweep_plan.QUANTUM_RESULT),
    log:
        sweep_path(sweep_plan.QUANTUM_LOG),
    params:
        label=lambda wc: f"m={wc.m},hbar={wc.hbar}",
        ckpt=lambda wc: SWEEP.checkpoint(wc.m, wc.hbar),
        keep=["--keep-checkpoint"] if SWEEP.keep_checkpoints else [],
    threads: cell_threads("quantum")
    resources:
        mpi=SWEEP.launcher_shell,
        tasks=int(res("quantum", "ranks", 1)),
        cpus_per_task=int(res("quantum", "threads", 1)),
        mem_mb=quantum_mem,
        runtime=quantum_runtime,
    retries: int(res("quantum", "retries", 0))
    shell:
        mpi_shell(
            "kickedpair quantum --config {input.cfg:q} --out {output.h5:q}"
            " --checkpoint {params.ckpt:q} --resume {params.keep:q} --label {params.label:q}"
            " --threads {resources.cpus_per_task:q} --progress log"
        )
        + "exit $rc\n"
