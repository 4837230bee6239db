"""How much of eta at a given t_f comes from the classical initial ensemble.

    python benchmarks/initial_ensemble.py [--m 1e-3 1e-2] [--hbar 0.03 0.1] [--n-kicks 500]
                                          [--times 100 500] [--trajectories 4000] [--out FILE.json]

For each mass ratio: the classical ensemble of the sweep's physics (config.yaml's ``physics`` and
``classical`` sections) from the paper's initial state (``classical.initial = uniform``: x uniform,
p = 0) and from the quantum initial state's (``quantum``: x from the ground-state densities,
p = +-pi hbar / L) at each hbar, over ``n_kicks``; ``Dc(t) = <p1^2>(t) / t`` at each of ``times``
with its ensemble error.  eta = Dq / Dc, so ``Dc_uniform / Dc_quantum`` is the factor by which
eta changes when the classical reference starts from the quantum state's ensemble.  The same
seed draws both ensembles (common random numbers).  One process, one thread per run.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from kickedpair.classical.ensemble import run_classical
from kickedpair.params import load_yaml, parse_config

ROOT = Path(__file__).resolve().parents[1]


def run(m: float, initial: str, hbar: float | None, n_kicks: int, trajectories: int) -> dict:
    cfg = load_yaml((ROOT / "config.yaml").read_text())
    physics = {**(cfg.get("physics") or {}), "mass_ratio": m, **({"hbar": hbar} if hbar else {})}
    classical = {**(cfg.get("classical") or {}), "n_kicks": n_kicks, "n_trajectories": trajectories,
                 "seed": cfg.get("seed", 20200101), "initial": initial}
    start = time.perf_counter()
    r = run_classical(parse_config({"physics": physics, "classical": classical}), progress="none", n_threads=1)
    return {"p1_sq": r.p1_sq, "sem": r.p1_sq_sem, "steps_per_kick": r.steps_per_kick,
            "seconds": time.perf_counter() - start}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=float, nargs="+", default=[1e-3, 1e-2])
    ap.add_argument("--hbar", type=float, nargs="+", default=[0.03, 0.1])
    ap.add_argument("--n-kicks", type=int, default=500)
    ap.add_argument("--times", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--trajectories", type=int, default=4000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows = []
    print(f"{'m':>7} {'initial':>16} {'t':>5} {'Dc':>9} {'+-':>8} {'Dc_u/Dc':>8} {'+-':>6} {'steps':>6} {'s':>6}")
    for m in args.m:
        base = run(m, "uniform", None, args.n_kicks, args.trajectories)
        for hbar in [None] + list(args.hbar):
            res = base if hbar is None else run(m, "quantum", hbar, args.n_kicks, args.trajectories)
            for t in args.times:
                dc, err = res["p1_sq"][t] / t, res["sem"][t] / t
                du, du_err = base["p1_sq"][t] / t, base["sem"][t] / t
                ratio = du / dc
                ratio_err = ratio * math.hypot(err / dc, du_err / du) if hbar else 0.0
                label = "uniform" if hbar is None else f"quantum h={hbar:g}"
                rows.append({"m": m, "initial": "uniform" if hbar is None else "quantum", "hbar": hbar, "t": t,
                             "Dc": dc, "Dc_err": err, "ratio_uniform_over_this": ratio, "ratio_err": ratio_err,
                             "steps_per_kick": res["steps_per_kick"], "seconds": res["seconds"],
                             "trajectories": args.trajectories})
                print(f"{m:>7g} {label:>16} {t:>5} {dc:>9.4g} {err:>8.2g} {ratio:>8.3f} {ratio_err:>6.3f} "
                      f"{res['steps_per_kick']:>6} {res['seconds']:>6.0f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
