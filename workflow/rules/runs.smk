# Engine runs: every sweep cell and every run behind a figure is a kickedpair.sweep.plan.Run, a
# folder RUN of the sweep folder (quantum/m=0.01/hbar=0.04, reproduction/fig2/quantum/hbar=0.1, ...)
# holding config.yaml, ENGINE.h5 and, for checked runs, convergence.h5; each an MPI job of its run's
# resources. A quantum run writes its state to a checkpoint every quantum.checkpoint_every kicks and
# resumes from it when re-run (after a failure, a kill, a Slurm time limit): the checkpoint is
# deliberately not a declared output, so Snakemake never deletes it when a job fails; its name
# carries a hash of the run config, so a changed config starts afresh.


wildcard_constraints:
    run=sweep_plan.RUN_FOLDER_PATTERN,
    engine="|".join(sweep_plan.ENGINES),


rule run_config:
    output:
        f"{SWEEP_DIR}/{sweep_plan.RUN_CONFIG}",
    params:
        cfg=lambda wc: run_of(wc.run).config,
    run:
        os.makedirs(os.path.dirname(output[0]), exist_ok=True)
        with open(output[0], "w") as fh:
            fh.write(f"# run config of {wildcards.run} (preset {SWEEP.preset}); written by the workflow from config.yaml\n"
                     + yaml.safe_dump(params.cfg, sort_keys=False, default_flow_style=False))


rule engine_run:
    input:
        cfg=f"{SWEEP_DIR}/{sweep_plan.RUN_CONFIG}",
    output:
        h5=f"{SWEEP_DIR}/{sweep_plan.RUN_RESULT}",
    log:
        f"{SWEEP_DIR}/{sweep_plan.RUN_LOG}",
    params:
        label=lambda wc: run_of(wc.run).label,
        extra=lambda wc: run_of(wc.run).engine_args(SWEEP_DIR),
    threads: lambda wc: job(wc)["ranks"] * job(wc)["threads"]
    resources:
        **job_resources(),
    retries: max(int(SWEEP.rule_resources(e).get("retries", 0)) for e in sweep_plan.ENGINES)
    shell:
        mpi_shell(
            "kickedpair {wildcards.engine:q} --config {input.cfg:q} --out {output.h5:q} {params.extra:q}"
            " --label {params.label:q} --threads {resources.cpus_per_task:q} --progress log"
        )


rule convergence:
    """Quantum: twice the substeps and doubled grids over quantum.convergence_kicks kicks, from the
    start and from the run's final checkpoint (kept for it); a verdict against
    quantum.convergence_tol_*. Noise (exact in time): the grid doubled over noise.convergence_kicks."""
    input:
        cfg=f"{SWEEP_DIR}/{sweep_plan.RUN_CONFIG}",
        run=lambda wc: f"{SWEEP_DIR}/{run_of(wc.run).result}",
    output:
        h5=f"{SWEEP_DIR}/{sweep_plan.RUN_CONVERGENCE}",
    log:
        f"{SWEEP_DIR}/{sweep_plan.RUN_CONVERGENCE_LOG}",
    params:
        engine=lambda wc: run_of(wc.run).engine,
        label=lambda wc: run_of(wc.run).label,
        extra=lambda wc: run_of(wc.run).convergence_args(SWEEP_DIR),
    threads: lambda wc: job(wc)["ranks"] * job(wc)["threads"]
    resources:
        **job_resources(memory_factor=2),
    shell:
        mpi_shell(
            "kickedpair {params.engine:q} --config {input.cfg:q} --out {output.h5:q} --check-convergence"
            " {params.extra:q} --label {params.label:q} --threads {resources.cpus_per_task:q} --progress log"
        )
