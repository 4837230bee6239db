# The paper's five figures (MODEL.md section 5) as targets, and the reproduction report.
#
#   snakemake figures --cores 2 --config preset=quick     # fig1 .. fig5 and docs/reproduction.md
#   snakemake fig3 --cores 2 --config preset=quick        # one figure and the runs behind it
#
# config.yaml's `reproduction` section has a block per figure with a variant per preset;
# kickedpair.reproduce.plan expands the selected variant into engine runs, which workflow/rules/runs.smk
# makes like the sweep's cells (every quantum run a figure shows is checked by its convergence rule).

from kickedpair.reproduce import plan as repro_plan


wildcard_constraints:
    figure="|".join(repro_plan.FIGURES),


def _repro():
    if REPRO is None:
        raise WorkflowError(
            f"the paper's figures have no variant for preset {config['preset']!r}: "
            "run them with --config preset=quick (laptop) or preset=paper (cluster)")
    return REPRO


def figure_dir(fig):
    return f"{SWEEP_DIR}/" + repro_plan.FIGURE_DIR.format(figure=fig)


def figure_outputs_of(fig):
    d = figure_dir(fig)
    return {"image": f"{d}/{fig}.png", "summary": f"{d}/{fig}.json",
            "tables": [f"{d}/{t}" for t in repro_plan.FIGURE_TABLES[fig]]}


FIGURE_REPORT_SHOWS = {
    "fig1": "classical Dc against m per profile and eps; inset <p1^2>(t)",
    "fig2": "E1(t) classical and quantum per hbar; P1(p) at t_f with fits",
    "fig3": "random-kick model E(t) per W and hbar; P(p) against the two-particle model",
    "fig4": "eta(hbar) per m with exponential fits; phase diagram hbar_c(m), hbar_DL(m)",
    "fig5": "purity of particle 1 against t per K2, power-law and exponential fits",
    "fig1.csv": "Dc, Dc_err and the slopes of every run",
    "fig1_inset.csv": "the inset's <p1^2>(t) and its fitted line",
    "fig2_energy.csv": "E1(t) per curve and hbar",
    "fig2_distributions.csv": "P1(p) at t_f per hbar",
    "fig2_fits.csv": "Gaussian and exponential fits of P1(p)",
    "fig3_energy.csv": "E(t) of the random-kick model per W and hbar, and the classical line",
    "fig3_distributions.csv": "P(p) of both models per hbar",
    "fig3_compare.csv": "random-kick against two-particle: <p^2>, widths, distances",
    "fig4_eta.csv": "Dc, Dq, eta per (m, hbar)",
    "fig4_thresholds.csv": "alpha, hbar_c, hbar_DL per m, with flags",
    "fig5_purity.csv": "purity(t) per K2",
    "fig5_fits.csv": "beta, gamma, rms of both fits and the better form per K2",
    "summary": "parameters, resolution, convergence and the comparisons with the paper",
}


def report_figures_of(fig):
    """figure_outputs_of(fig) flagged for the report: category "Fig. N", the picture and its tables."""
    out, category = figure_outputs_of(fig), f"Fig. {fig[3:]}"
    table = lambda path, shows: flag(path, "figures.rst", category, "Tables", shows)
    return {"image": flag(out["image"], "figures.rst", category, "Figure", FIGURE_REPORT_SHOWS[fig]),
            "summary": table(out["summary"], FIGURE_REPORT_SHOWS["summary"]),
            "tables": [table(p, FIGURE_REPORT_SHOWS[os.path.basename(p)]) for p in out["tables"]]}


def figure_inputs(fig):
    def inputs(wildcards):
        fp = _repro().figures[fig]
        runs = fp.runs + fp.extra_runs
        out = {"plan": f"{figure_dir(fig)}/plan.json",
               "results": [run_file(r) for r in runs],
               "convergence": [run_file(r, sweep_plan.RUN_CONVERGENCE) for r in runs if r.convergence],
               "set_aside": [REPRO_SET_ASIDE_LOG] if os.path.exists(REPRO_SET_ASIDE_LOG) else []}
        if fig == "fig4":
            out["sweep"] = list(fig4_tables().values())
        return out
    return inputs


def fig4_tables():
    """The tables of the sweep Fig. 4 draws; another preset's must be there (that sweep is not part
    of this workflow run: `snakemake --config preset=NAME` makes it)."""
    drawn = _repro().fig4_sweep
    tables = {k: f"{drawn.sweep_dir}/{v}" for k, v in sweep_plan.TABLES.items()}
    tables["manifest"] = f"{drawn.sweep_dir}/{sweep_plan.MANIFEST}"
    missing = [p for p in tables.values() if not os.path.exists(p)]
    if missing and drawn.preset != SWEEP.preset:  # the preset's own sweep is made by this run
        raise WorkflowError(
            f"Fig. 4 of preset {REPRO.preset} draws the sweep of preset {drawn.preset} "
            f"(reproduction.fig4.{REPRO.preset}.sweep), which is not finished ({missing[0]} is missing): "
            f"run it first, by itself: snakemake --cores N --config preset={drawn.preset}")
    return tables


def figure_plan(fig):
    """What the figure module reads: the plan of its runs (and, for Fig. 4, the sweep's tables)."""
    plan = {**_repro().figures[fig].as_dict(SWEEP_DIR), "preset": REPRO.preset}
    if fig == "fig4":
        plan["sweep"] = {**fig4_tables(), "preset": _repro().fig4_sweep.preset,
                         "analysis": _repro().fig4_sweep.analysis}
    return plan


rule repro_plan_json:
    output:
        f"{SWEEP_DIR}/{repro_plan.FIGURE_PLAN}",
    params:
        plan=lambda wc: figure_plan(wc.figure),
    run:
        from kickedpair.reproduce.common import write_json

        write_json(output[0], params.plan)


for _fig in repro_plan.FIGURES:

    rule:
        name:
            _fig
        localrule: True
        input:
            unpack(figure_inputs(_fig)),
        output:
            **report_figures_of(_fig),
        log:
            f"{SWEEP_DIR}/logs/reproduction/{_fig}.log",
        params:
            python=sys.executable,
            fig=_fig,
            out=figure_dir(_fig),
        resources:
            **ANALYSIS_RESOURCES,
        shell:
            "{params.python:q} -m kickedpair.reproduce.figure {params.fig:q} --plan {input.plan:q}"
            " --out-dir {params.out:q} > {log:q} 2>&1"


def report_outputs():
    """The report and beside it a copy of each figure's picture, summary and tables."""
    return [] if REPRO is None else [f"{REPRO.report_dir}/{repro_plan.REPORT_NAME}"] + [
        f"{REPRO.report_dir}/figures/{name}" for fig in repro_plan.FIGURES
        for name in (f"{fig}.png", f"{fig}.json", *repro_plan.FIGURE_TABLES[fig])]


rule repro_estimates:
    """Grid, memory and time of every quantum run of every preset's variants (the engine's estimate)."""
    output:
        f"{SWEEP_DIR}/reproduction/estimates.json",
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
        estimates=f"{SWEEP_DIR}/reproduction/estimates.json",
    output:
        report_outputs(),
    log:
        f"{SWEEP_DIR}/logs/reproduction/report.log",
    params:
        python=sys.executable,
        out=REPRO.report_dir if REPRO else "",
        preset=config["preset"],
    resources:
        **ANALYSIS_RESOURCES,
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
