# The adaptive sweep (a preset with an `adaptive` section; kickedpair.sweep.refine): the preset's hbar
# grid is round 0; the checkpoint `refine` of round K reads the results of every cell so far and
# writes refine/round-K.json: eta per cell, each threshold's state and the cells of round K + 1
# (none when every threshold is final, the budget is spent or max_rounds rounds have run). Snakemake
# re-evaluates the DAG after each round, so a dry run shows round 0 only, and a rerun after a kill
# recomputes nothing that is finished: the rounds' records and the cells are files.

wildcard_constraints:
    round=r"\d+",


def grid_of_round(k):
    """The cells (m -> hbar values) of rounds 0 .. k - 1, the input of round k: the preset's grid,
    then the previous round's cells and the ones it added."""
    if k == 0:
        return {m: list(SWEEP.hbar) for m in SWEEP.mass_ratio}
    with open(checkpoints.refine.get(round=str(k - 1)).output[0]) as fh:
        record = json.load(fh)
    return {m: sorted(set(hbars) | set(record["new"][m]), key=float) for m, hbars in record["grid"].items()}


def final_refine_record():
    """The record of the last round (its `done` is true); asking for it runs the rounds."""
    k = 0
    while True:
        path = checkpoints.refine.get(round=str(k)).output[0]
        with open(path) as fh:
            if json.load(fh)["done"]:
                return path
        k += 1


def cell_results(grid):
    return [f"{SWEEP_DIR}/{sweep_plan.QUANTUM_RESULT.format(m=m, hbar=h)}" for m, hs in grid.items() for h in hs]


REFINE_SETTINGS = json.dumps({"levels": [SWEEP.analysis["eta_c"], SWEEP.analysis["eta_dl"]],
                              **SWEEP.adaptive}) if SWEEP.adaptive else ""


checkpoint refine:
    """Round K of the adaptive sweep: the next cells from eta of every cell so far."""
    input:
        classical=CELLS["classical"],
        quantum=lambda wc: cell_results(grid_of_round(int(wc.round))),
    output:
        f"{SWEEP_DIR}/refine/round-{{round}}.json",
    log:
        f"{SWEEP_DIR}/logs/refine-{{round}}.log",
    params:
        python=sys.executable,
        sweep_dir=SWEEP_DIR,
        grid=lambda wc: json.dumps(grid_of_round(int(wc.round))),
        settings=REFINE_SETTINGS,
    resources:
        **ANALYSIS_RESOURCES,
    shell:
        "{params.python:q} -m kickedpair.sweep.refine {params.sweep_dir:q} --round {wildcards.round} "
        "--grid {params.grid:q} --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"
        " && rc=0 || rc=$?; cat {log:q} >&2; exit $rc"
