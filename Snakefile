# The (hbar, m) sweep of MODEL.md section 4: classical Dc per mass ratio, quantum Dq per cell,
# eta = Dq/Dc, exponential fits, thresholds hbar_c / hbar_DL and the phase diagram.
#
#   snakemake --cores 2 --config preset=demo               # locally (MPI jobs via mpiexec)
#   snakemake --profile cluster/slurm --config preset=paper
#   snakemake -n --config preset=paper                     # what would run
#   snakemake figures --cores 2 --config preset=quick      # the paper's five figures and docs/reproduction.md
#
# The sweep is defined in config.yaml (every key checked by kickedpair.workflow_config);
# the layout of the results is described in src/kickedpair/sweep/plan.py.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


# `snakemake all figures --report report.html`: the figures and tables of the run in one HTML file
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


localrules:
    all,
    manifest,
    run_config,
    aggregate,
    sweep_figures,
    repro_plan_json,
    repro_estimates,
    report,
    figure_runs,
    figures,


rule all:
    """Default target: the manifest, the tables and the figures (and through them every cell)."""
    input:
        f"{SWEEP_DIR}/{sweep_plan.MANIFEST}",
        *table_outputs().values(),
        *figure_outputs().values(),
    default_target: True


rule classical_all:
    """Only the classical reference runs (Dc per mass ratio)."""
    input:
        classical_results(),


rule quantum_all:
    """Only the cells (classical and quantum), no aggregation."""
    input:
        classical_results(),
        quantum_results(),


include: "workflow/rules/runs.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/reproduction.smk"
