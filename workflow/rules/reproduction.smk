# The paper's five figures (MODEL.md section 5) as targets, and the reproduction report.
#
#   snakemake figures --cores 2 --config preset=quick     # fig1 .. fig5 and docs/reproduction.md
#   snakemake fig3 --cores 2 --config preset=quick        # one figure and the runs behind it
#
# config.yaml's `reproduction` section has a block per figure with a variant per preset;
# kickedpair.reproduce.plan expands the selected variant into engine runs (layout in its docstring).
# Every run is an MPI job like a sweep cell (launcher, ranks, threads from `resources`, overridable
# per figure), a quantum run resumes from its checkpoint, and every quantum run a figure shows is
# checked by `kickedpair quantum --check-convergence` (twice the substeps, doubled grids) over its first
# kicks and, from the run's final checkpoint (kept for it), over as many kicks after its end.

from kickedpair.reproduce import plan as repro_plan


def _build_reproduction():
    """The figure plans of this preset, or None when no figure has a variant for it."""
    blocks = config.get("reproduction") or {}
    figs = [f for f in repro_plan.FIGURES if isinstance(blocks.get(f), dict)]
    if not any(config["preset"] in blocks[f] for f in figs):
        return None
    try:
        rep = repro_plan.build_reproduction(config)
    except ConfigError as exc:
        raise WorkflowError(f"invalid config: {exc}") from None
    missing = [m for m in rep.figures["fig4"].variant["mass_ratio"]
               if sweep_plan.fmt(m) not in SWEEP.mass_ratio]
    if missing:
        raise WorkflowError(
            f"invalid config: reproduction.fig4.{rep.preset}.mass_ratio: {[sweep_plan.fmt(m) for m in missing]} "
            f"not in the sweep of preset {rep.preset} (presets.{rep.preset}.mass_ratio = {SWEEP.mass_ratio})")
    return rep


REPRO = _build_reproduction()
REPRO_BASE = SWEEP_DIR


def _figure_ranks(figure):
    """Ranks of a figure's quantum runs: resources.quantum of the preset, updated by the variant's."""
    over = (REPRO.figures[figure].variant.get("resources") or {}).get("quantum", {})
    return int({**SWEEP.rule_resources("quantum"), **over}.get("ranks", 1))


REPRO_SET_ASIDE_LOG = f"{REPRO_BASE}/reproduction/{SET_ASIDE_LOG_NAME}"
if REPRO is not None:
    # the figures' quantum runs against one node's memory, as the sweep's cells (their convergence
    # checks ask for twice a run's memory); and their results that are not complete moved aside
    _runs = [r for r in REPRO.runs() if r.engine == "quantum"]
    check_memory({f"{r.figure}/quantum/{r.name}": (r.config, _figure_ranks(r.figure)) for r in _runs},
                 f"the figures of preset {REPRO.preset}")
    check_memory({f"{r.figure}/quantum/{r.name} convergence check (twice the run's memory)":
                  (r.config, _figure_ranks(r.figure)) for r in _runs if r.convergence},
                 f"the figures of preset {REPRO.preset}", factor=2.0)
    set_aside([f"{REPRO_BASE}/{r.path(t)}" for r in REPRO.runs()
               for t in (repro_plan.RUN_RESULT, repro_plan.RUN_CONVERGENCE)], REPRO_SET_ASIDE_LOG)


def _repro():
    if REPRO is None:
        raise WorkflowError(
            f"the paper's figures have no variant for preset {config['preset']!r}: "
            "run them with --config preset=quick (laptop) or preset=paper (cluster)")
    return REPRO


def repro_path(template, **wc):
    keep = {k: "{" + k + "}" for k in ("figure", "engine", "run")}
    return f"{REPRO_BASE}/" + template.format(**{**keep, **wc})


def repro_run(wc, engine):
    return _repro().run(wc.figure, engine, wc.run)


def repro_res(wc, engine, key, default=None):
    """resources.<engine> of the preset, updated by the figure variant's resources.<engine>."""
    base = SWEEP.rule_resources(engine)
    over = (REPRO.figures[wc.figure].variant.get("resources") or {}).get(engine, {}) if REPRO else {}
    return {**base, **over}.get(key, default)


def repro_resources(engine, mem_factor=1):
    """threads and the resources of a run rule of ``engine`` (callables of the wildcards)."""
    def ranks(wc):
        return int(repro_res(wc, engine, "ranks", 1))

    def threads(wc):
        return int(repro_res(wc, engine, "threads", 1))

    def mem(wc):
        value = repro_res(wc, engine, "mem_mb", 2000)
        if value == "auto":  # never more than one node has (the convergence check asks for twice)
            value = quantum_mem_mb(repro_run(wc, engine).config, ranks(wc), SWEEP.memory_settings())
            return min(mem_factor * int(value), SWEEP.memory_limit()[0])
        return mem_factor * int(value)

    def runtime(wc):
        value = repro_res(wc, engine, "runtime", 60)
        if value == "auto":
            value = quantum_runtime_min(repro_run(wc, engine).config, ranks(wc),
                                        float(repro_res(wc, engine, "runtime_safety", 4.0)))
        return int(value)

    return {"cores": lambda wc: ranks(wc) * threads(wc),
            "res": dict(mpi=SWEEP.launcher_shell, tasks=ranks, cpus_per_task=threads, mem_mb=mem, runtime=runtime)}


def figure_outputs_of(fig):
    tables = repro_plan.FIGURE_TABLES[fig]
    d = f"{REPRO_BASE}/" + repro_plan.FIGURE_DIR.format(figure=fig)
    return {"image": f"{d}/{fig}.png", "summary": f"{d}/{fig}.json", "tables": [f"{d}/{t}" for t in tables]}


def figure_inputs(fig):
    def inputs(wildcards):
        fp = _repro().figures[fig]
        runs = fp.runs + fp.extra_runs
        out = {"plan": repro_path(repro_plan.FIGURE_PLAN, figure=fig),
               "results": [f"{REPRO_BASE}/{r.path(repro_plan.RUN_RESULT)}" for r in runs],
               "convergence": [f"{REPRO_BASE}/{r.path(repro_plan.RUN_CONVERGENCE)}" for r in runs if r.convergence],
               "set_aside": [REPRO_SET_ASIDE_LOG] if os.path.exists(REPRO_SET_ASIDE_LOG) else []}
        if fig == "fig4":
            out["sweep"] = list(table_outputs().values())
        return out
    return inputs


def figure_plan(fig):
    """What the figure module reads: the plan of its runs (and, for Fig. 4, the sweep's tables)."""
    rep = _repro()
    plan = rep.figures[fig].as_dict(REPRO_BASE)
    plan["preset"] = rep.preset
    if fig == "fig4":
        plan["sweep"] = {**table_outputs(), "manifest": f"{SWEEP_DIR}/{sweep_plan.MANIFEST}",
                         "analysis": SWEEP.analysis}
    return plan


wildcard_constraints:
    figure=r"fig[1-5]",
    engine=r"classical|quantum|noise",
    run=r"[A-Za-z0-9_.=+-]+",


rule repro_run_config:
    output:
        repro_path(repro_plan.RUN_CONFIG),
    params:
        cfg=lambda wc: repro_run(wc, wc.engine).config,
    run:
        write_yaml(output[0], params.cfg,
                   f"# run config of {wildcards.figure}/{wildcards.engine}/{wildcards.run} (preset "
                   f"{config['preset']}); written by the workflow from config.yaml\n")


def engine_shell(engine):
    return mpi_shell(
        f"kickedpair {engine} --config {{input.cfg:q}} --out {{output.h5:q}} --label {{params.label:q}}"
        " --threads {resources.cpus_per_task:q} --progress log"
    ) + "exit $rc\n"


# (Written out, not in a loop: Snakemake binds a rule's shell to its first name, and rules made
# in a loop would all run the last one's command.)
rule repro_classical:
    input:
        cfg=repro_path(repro_plan.RUN_CONFIG, engine="classical"),
    output:
        h5=repro_path(repro_plan.RUN_RESULT, engine="classical"),
    log:
        repro_path(repro_plan.RUN_LOG, engine="classical"),
    params:
        label=lambda wc: f"{wc.figure}/{wc.run}",
    threads: repro_resources("classical")["cores"]
    resources:
        **repro_resources("classical")["res"],
    shell:
        engine_shell("classical")


rule repro_noise:
    input:
        cfg=repro_path(repro_plan.RUN_CONFIG, engine="noise"),
    output:
        h5=repro_path(repro_plan.RUN_RESULT, engine="noise"),
    log:
        repro_path(repro_plan.RUN_LOG, engine="noise"),
    params:
        label=lambda wc: f"{wc.figure}/{wc.run}",
    threads: repro_resources("noise")["cores"]
    resources:
        **repro_resources("noise")["res"],
    shell:
        engine_shell("noise")


def repro_checkpoint(wc):
    """The checkpoint of a figure's quantum run (its final state is what the end stretch starts from)."""
    r = repro_run(wc, "quantum")
    return f"{REPRO_BASE}/{r.path(repro_plan.RUN_DIR)}/checkpoint-{sweep_plan.config_tag(r.config)}.h5"


def repro_keep_checkpoint(wc):
    """A checked run keeps its final checkpoint for repro_convergence (one state: N1 x N2 x 16 bytes)."""
    return ["--keep-checkpoint"] if SWEEP.keep_checkpoints or repro_run(wc, "quantum").convergence else []


rule repro_quantum:
    input:
        cfg=repro_path(repro_plan.RUN_CONFIG, engine="quantum"),
    output:
        h5=repro_path(repro_plan.RUN_RESULT, engine="quantum"),
    log:
        repro_path(repro_plan.RUN_LOG, engine="quantum"),
    params:
        label=lambda wc: f"{wc.figure}/{wc.run}",
        ckpt=repro_checkpoint,
        keep=repro_keep_checkpoint,
    threads: repro_resources("quantum")["cores"]
    resources:
        **repro_resources("quantum")["res"],
    retries: int(res("quantum", "retries", 0))
    shell:
        mpi_shell(
            "kickedpair quantum --config {input.cfg:q} --out {output.h5:q}"
            " --checkpoint {params.ckpt:q} --resume {params.keep:q} --label {params.label:q}"
            " --threads {resources.cpus_per_task:q} --progress log"
        )
        + "exit $rc\n"


rule repro_convergence:
    """Twice the substeps and doubled grids over quantum.convergence_kicks kicks, from the start and
    from the run's final checkpoint (after the run); a verdict against quantum.convergence_tol_*."""
    input:
        cfg=repro_path(repro_plan.RUN_CONFIG, engine="quantum"),
        run=repro_path(repro_plan.RUN_RESULT, engine="quantum"),
    output:
        h5=repro_path(repro_plan.RUN_CONVERGENCE, engine="quantum"),
    log:
        repro_path(repro_plan.RUN_LOG.replace(".log", ".convergence.log"), engine="quantum"),
    params:
        label=lambda wc: f"{wc.figure}/{wc.run}",
        ckpt=repro_checkpoint,
    threads: repro_resources("quantum")["cores"]
    resources:
        **repro_resources("quantum", mem_factor=2)["res"],
    shell:
        mpi_shell(
            "kickedpair quantum --config {input.cfg:q} --out {output.h5:q} --check-convergence"
            " --checkpoint {params.ckpt:q}"
            " --label {params.label:q} --threads {resources.cpus_per_task:q} --progress log"
        )
        + "exit $rc\n"


rule repro_noise_convergence:
    """The random-kick map is exact in time: double the grid over noise.convergence_kicks kicks."""
    input:
        cfg=repro_path(repro_plan.RUN_CONFIG, engine="noise"),
    output:
        h5=repro_path(repro_plan.RUN_CONVERGENCE, engine="noise"),
    log:
        repro_path(repro_plan.RUN_LOG.replace(".log", ".convergence.log"), engine="noise"),
    params:
        label=lambda wc: f"{wc.figure}/{wc.run}",
    threads: repro_resources("noise")["cores"]
    resources:
        **repro_resources("noise", mem_factor=2)["res"],
    shell:
        mpi_shell(
            "kickedpair noise --config {input.cfg:q} --out {output.h5:q} --check-convergence"
            " --label {params.label:q} --threads {resources.cpus_per_task:q} --progress log"
        )
        + "exit $rc\n"


rule repro_plan_json:
    output:
        repro_path(repro_plan.FIGURE_PLAN),
    params:
        plan=lambda wc: figure_plan(wc.figure),
    run:
        from kickedpair.reproduce.common import write_json

        write_json(output[0], params.plan)


for _fig in repro_plan.FIGURES:

    rule:
        name:
            _fig
        input:
            unpack(figure_inputs(_fig)),
        output:
            **figure_outputs_of(_fig),
        log:
            f"{REPRO_BASE}/reproduction/logs/{_fig}.log",
        params:
            python=sys.executable,
            fig=_fig,
            out=f"{REPRO_BASE}/" + repro_plan.FIGURE_DIR.format(figure=_fig),
        resources:
            mem_mb=fixed_mem("aggregate"),
            runtime=int(res("aggregate", "runtime", 20)),
        shell:
            "{params.python:q} -m kickedpair.reproduce.figure {params.fig:q} --plan {input.plan:q}"
            " --out-dir {params.out:q} > {log:q} 2>&1"


def report_outputs():
    if REPRO is None:
        return []
    d = REPRO.report_dir
    files = [f"{d}/{repro_plan.REPORT_NAME}"]
    for fig in repro_plan.FIGURES:
        o = figure_outputs_of(fig)
        files += [f"{d}/figures/{os.path.basename(p)}" for p in [o["image"], o["summary"], *o["tables"]]]
    return files


rule repro_estimates:
    """Grid, memory and time of every quantum run of every preset's variants (the engine's estimate)."""
    output:
        f"{REPRO_BASE}/reproduction/estimates.json",
    params:
        estimates=lambda wc: repro_plan.variant_estimates(config),
    run:
        from kickedpair.reproduce.common import write_json

        write_json(output[0], params.estimates)


rule report:
    """docs/reproduction.md (preset quick) from the five figures' summaries; fails if one is missing."""
    input:
        summaries=[figure_outputs_of(f)["summary"] for f in repro_plan.FIGURES],
        images=[figure_outputs_of(f)["image"] for f in repro_plan.FIGURES],
        estimates=f"{REPRO_BASE}/reproduction/estimates.json",
    output:
        report_outputs(),
    log:
        f"{REPRO_BASE}/reproduction/logs/report.log",
    params:
        python=sys.executable,
        out=REPRO.report_dir if REPRO else "",
        preset=config["preset"],
    resources:
        mem_mb=fixed_mem("aggregate"),
        runtime=int(res("aggregate", "runtime", 20)),
    shell:
        "{params.python:q} -m kickedpair.reproduce.report {input.summaries:q} --estimates {input.estimates:q}"
        " --out-dir {params.out:q} --preset {params.preset:q} > {log:q} 2>&1"


rule figures:
    """The paper's five figures and the reproduction report."""
    input:
        lambda wc: report_outputs() or _repro(),


rule figure_runs:
    """Only the engine runs behind the five figures (and the sweep's tables for Fig. 4)."""
    input:
        lambda wc: [p for fig in repro_plan.FIGURES for key, p in figure_inputs(fig)(wc).items()
                    if key not in ("plan", "set_aside") for p in (p if isinstance(p, list) else [p])],
