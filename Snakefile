# The (hbar, m) sweep of MODEL.md section 4: classical Dc per mass ratio, quantum Dq per cell,
# eta = Dq/Dc, exponential fits, thresholds hbar_c / hbar_DL and the phase diagram.
#
#   snakemake --cores 2 --config preset=demo               # locally (MPI jobs via mpiexec)
#   snakemake --profile cluster/slurm --config preset=paper
#   snakemake -n --config preset=paper                     # what would run
#   snakemake figures --cores 2 --config preset=quick      # the paper's five figures and docs/reproduction.md
#   snakemake all figures --report report.html             # their figures and tables in one HTML file
#
# The sweep is defined in config.yaml (every key checked by kickedpair.workflow_config);
# the layout of the results is described in src/kickedpair/sweep/plan.py.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


localrules:
    all, manifest, run_config, aggregate, sweep_figures, refine,
    repro_plan_json, repro_estimates, report, figure_runs, figures,


rule all:
    """Default target: the manifest, the tables and the figures (and through them every cell)."""
    input:
        MANIFEST, *TABLE_FILES.values(), *FIGURE_FILES.values(),
    default_target: True


rule classical_all:
    """Only the classical reference runs (Dc per mass ratio)."""
    input:
        CELLS["classical"],


rule quantum_all:
    """Only the cells (classical and quantum), no aggregation."""
    input:
        CELLS["classical"],
        CELLS["quantum"],


include: "workflow/rules/runs.smk"
include: "workflow/rules/refine.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/reproduction.smk"
