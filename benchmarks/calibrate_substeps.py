"""Calibration of the substep rules: the substeps each scheme needs for a given accuracy.

Run from the repository root::

    python benchmarks/calibrate_substeps.py --set short     # T = 5-10 kicks, m = 1e-3..1
    python benchmarks/calibrate_substeps.py --set long      # 200-500 kicks: how the need grows
    python benchmarks/calibrate_substeps.py --set quick     # two tiny cases, < 1 minute
    python benchmarks/calibrate_substeps.py --case m=1e-3,hbar=0.05,T=20,scheme=light_exact
    python benchmarks/calibrate_substeps.py --from-runs S128.h5 S256.h5 S512.h5 S1024.h5

For each case (physics: the defaults, K1 = 1.8, K2 = 0, eps = 2, lam = 10, L = pi, with the
case's m and hbar) the grid is the engine's own rule for the case's T kicks (or given), and
the scheme is run on a ladder of substep counts ``S0 2^k``, finest first.  The finest run is
the reference; its quality is the change from the next finer-but-one (reported as
``ref_err``: a case whose ``ref_err`` is not well below the tolerance does not count).  For
every other count the error is the largest pointwise relative change over t = 1..T of
``<p1^2>(t)`` and of the purity against the reference, also recorded over the first
``tau`` kicks for tau in TAUS (how the error grows with the run's length).  From the
ladder, for each tolerance, the smallest count that passes and ``S*``, the count that would
just meet it, interpolated in log-log between the bracketing counts (extrapolated with
error ~ S^-2 below the ladder).  The guards (norm, tails) are read on the reference.

``--from-runs`` makes the same record from result files of ``kickedpair quantum`` runs (any
number of MPI ranks: the long cases at small hbar cost tens to hundreds of core-hours each and
belong on a cluster) that differ only in ``quantum.substeps``, and adds the relative change of
the fitted diffusion coefficient ``D`` against the finest run (``D_rel``).

Results go to ``benchmarks/data/calibration-<set>.json`` (merged with earlier cases of
the same name) and a table on stdout.  These are accuracy measurements: the machine's load
changes how long they take, not what they find.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _one_thread  # noqa: E402,F401  (before numpy: one BLAS thread)

import argparse  # noqa: E402
import json
import math
import time

import numpy as np

from _report import fmt, table  # noqa: E402

from kickedpair.params import parse_config  # noqa: E402
from kickedpair.quantum.observables import two_particle_observables  # noqa: E402
from kickedpair.quantum.resolution import choose_resolution  # noqa: E402
from kickedpair.quantum.two_particle import (  # noqa: E402
    SerialTransforms, TwoParticleSystem, initial_state, make_propagator)

TOLERANCES = (1e-3, 1e-2)
TAUS = (5, 10, 20, 50, 100, 200, 500)

# (m, hbar, T, scheme, S0, rungs[, N1, N2])
SETS = {
    "quick": [
        (1e-3, 0.1, 5, "light_exact", 10, 4, 255, 31),
        (1.0, 0.2, 5, "strang", 10, 4, 63, 63),
    ],
    "short": [
        (1e-3, 0.1, 10, "light_exact", 10, 6),
        (1e-3, 0.05, 10, "light_exact", 10, 6),
        (1e-3, 0.02, 10, "light_exact", 20, 6),
        (1e-3, 0.01, 10, "light_exact", 20, 6),
        (1.0, 0.1, 10, "strang", 10, 6),
        (1.0, 0.05, 10, "strang", 10, 6),
        (0.1, 0.05, 10, "strang", 20, 6),
        (1e-3, 0.005, 5, "light_exact", 20, 6),
        (1.0, 0.02, 10, "strang", 20, 5),
        (0.1, 0.05, 10, "light_exact", 10, 6),
        (1.0, 0.1, 10, "light_exact", 10, 5),
        (1e-2, 0.05, 10, "light_exact", 10, 6),
        (1e-2, 0.05, 10, "strang", 40, 6),
        (0.1, 0.02, 10, "strang", 20, 6),
        (1e-3, 0.05, 10, "strang", 125, 5),
    ],
    "long": [
        (1e-3, 0.1, 500, "light_exact", 20, 5),
        (1.0, 0.1, 200, "strang", 20, 4, 511, 255),
        (1e-3, 0.05, 500, "light_exact", 50, 4),
    ],
}

PHYSICS = dict(K1=1.8, K2=0.0, eps=2.0, lam=10.0)


def grid_for(m: float, hbar: float, T: int) -> tuple[int, int]:
    cfg = parse_config({"physics": {"hbar": hbar, "mass_ratio": m}})
    ph = cfg.physics
    r = choose_resolution(hbar, m, ph.K1, ph.K2, ph.interaction_strength, ph.interaction_exponent, T, ph.L)
    return r.N1, r.N2


def evolve_series(system, scheme: str, substeps: int, T: int, order: int = 2) -> dict:
    tr = SerialTransforms(system.N1, system.N2, workers=1)
    kw = {"order": order} if order != 2 else {}
    prop = make_propagator(system, tr, scheme, substeps, **kw)
    p1, p2 = system.p1(), system.p2()
    c = initial_state(tr)
    out = {k: np.full(T + 1, np.nan) for k in ("p1_sq", "purity", "norm", "tail1", "tail2")}
    clock = time.process_time()
    for t in range(T + 1):
        if t:
            c = prop.period(c)
        obs = two_particle_observables(c, p1, p2, system.mass1, system.mass2)
        out["p1_sq"][t], out["purity"][t], out["norm"][t] = obs["p1sq"], obs["purity"], obs["norm"]
        out["tail1"][t], out["tail2"][t] = obs["tail1"], obs["tail2"]
    out["cpu_s_per_kick"] = (time.process_time() - clock) / max(T, 1)
    return out


def errors(run: dict, ref: dict, T: int) -> dict:
    """Largest relative change of <p1^2> and purity over t = 1..tau, for each tau <= T."""
    rel_p1 = np.abs(run["p1_sq"][1:] - ref["p1_sq"][1:]) / np.abs(ref["p1_sq"][1:])
    rel_pu = np.abs(run["purity"][1:] - ref["purity"][1:]) / np.abs(ref["purity"][1:])
    both = np.maximum(rel_p1, rel_pu)
    taus = [tau for tau in TAUS if tau < T] + [T]
    return {"max": float(both.max()), "p1_sq": float(rel_p1.max()), "purity": float(rel_pu.max()),
            "by_tau": {str(tau): float(both[:tau].max()) for tau in taus}}


def needed(ladder: list[int], errs: list[float], tol: float) -> tuple[int | None, float]:
    """(smallest passing count of the ladder, interpolated count that just meets ``tol``)."""
    passing = [s for s, e in zip(ladder, errs) if e <= tol]
    smallest = min(passing) if passing else None
    pairs = sorted(zip(ladder, errs))
    for (s_lo, e_lo), (s_hi, e_hi) in zip(pairs, pairs[1:]):
        if e_lo > tol >= e_hi:
            if e_hi <= 0:
                return smallest, float(s_hi)
            slope = math.log(e_lo / e_hi) / math.log(s_hi / s_lo)
            return smallest, float(s_lo * (e_lo / tol) ** (1.0 / max(slope, 1e-3)))
    if pairs and pairs[0][1] <= tol:  # below the ladder: error ~ S^-2
        return smallest, float(pairs[0][0] * math.sqrt(pairs[0][1] / tol))
    return smallest, math.nan


def calibrate(case: tuple, order: int = 2) -> dict:
    m, hbar, T, scheme, S0, rungs = case[:6]
    N1, N2 = case[6:8] if len(case) > 6 else grid_for(m, hbar, T)
    system = TwoParticleSystem(N1=N1, N2=N2, hbar=hbar, mass2=m, K1=PHYSICS["K1"], K2=PHYSICS["K2"],
                               strength=PHYSICS["eps"], a=PHYSICS["lam"])
    ladder = [S0 * 2**k for k in range(rungs)]
    runs = {S: evolve_series(system, scheme, S, T, order) for S in reversed(ladder)}
    return summarise(m, hbar, T, scheme, order, N1, N2, runs)


def summarise(m, hbar, T, scheme, order, N1, N2, runs: dict) -> dict:
    """The calibration record of a ladder of runs ``{substeps: series}``, the finest the reference."""
    ladder = sorted(runs)
    ref = runs[ladder[-1]]
    counts = ladder[:-1]
    errs = [errors(runs[S], ref, T) for S in counts]
    ref_err = errs[-1]["max"] / 3.0 if errs else math.nan  # second order: f(S/2) - f(S) ~ 3 err(S)
    rule = choose_resolution(hbar, m, PHYSICS["K1"], PHYSICS["K2"], PHYSICS["eps"], PHYSICS["lam"], T)
    result = {
        "m": m, "hbar": hbar, "T": T, "scheme": scheme, "order": order, "N1": N1, "N2": N2,
        "ladder": counts, "reference": ladder[-1], "ref_err": ref_err,
        "errors": errs, "cpu_s_per_kick": {str(S): runs[S]["cpu_s_per_kick"] for S in ladder},
        "ref_tail1": float(np.nanmax(ref["tail1"])), "ref_tail2": float(np.nanmax(ref["tail2"])),
        "ref_norm_dev": float(np.nanmax(np.abs(ref["norm"] - 1.0))),
        "rule": {"light_exact": rule.substeps_light_exact, "strang": rule.substeps_strang},
    }
    if all("D" in runs[S] for S in ladder):  # the diffusion coefficient, a window average
        result["D_rel"] = [abs(runs[S]["D"] - ref["D"]) / abs(ref["D"]) for S in counts]
    for tol in TOLERANCES:
        smallest, star = needed(counts, [e["max"] for e in errs], tol)
        result[f"needed_{tol:g}"] = smallest
        result[f"S_star_{tol:g}"] = star
        # the same over the first tau kicks of a long run: how the need grows with the length
        result[f"S_star_{tol:g}_by_tau"] = {
            tau: needed(counts, [e["by_tau"][tau] for e in errs], tol)[1] for tau in errs[0]["by_tau"]
        } if errs else {}
    return result


#: what the result files of one ladder must share (``/params/physics`` and ``/params/resolution``)
SAME_IN_EVERY_RUN = ("K1", "K2", "eps", "lam", "L", "mass_ratio", "hbar", "interaction", "N1", "N2",
                     "scheme", "order", "n_kicks")


def read_run(path: str) -> dict:
    """The series and parameters of one ``kickedpair quantum`` result file (any number of ranks)."""
    import h5py

    with h5py.File(path, "r") as f:
        if not f.attrs.get("complete", False):
            raise SystemExit(f"{path}: not a complete quantum result file")
        params = {**dict(f["params/physics"].attrs), **dict(f["params/resolution"].attrs),
                  "n_kicks": int(f["params/quantum"].attrs["n_kicks"])}
        out = {k: f["series"][k][()] for k in ("p1_sq", "purity", "norm", "tail1", "tail2")}
        out["cpu_s_per_kick"] = float(f.attrs["seconds_per_kick"]) * int(f.attrs["n_ranks"])
        if "estimates" in f and "D" in f["estimates"].attrs:
            out["D"] = float(f["estimates"].attrs["D"])
    out["params"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
    return out


def calibrate_from_runs(paths: list[str]) -> dict:
    """A ladder from result files of runs that differ only in ``quantum.substeps`` (run on a
    cluster, e.g. ``mpiexec -n 16 kickedpair quantum --set quantum.substeps=S ...``)."""
    runs = [read_run(p) for p in paths]
    first = runs[0]["params"]
    for path, r in zip(paths, runs):
        differ = [k for k in SAME_IN_EVERY_RUN if r["params"].get(k) != first.get(k)]
        if differ:
            raise SystemExit(f"{path}: differs from {paths[0]} in {', '.join(differ)}; a ladder varies "
                             "quantum.substeps alone")
    off = {k: first[k] for k in PHYSICS if float(first[k]) != PHYSICS[k]}
    if off:
        raise SystemExit(f"{paths[0]}: physics {off} is not the calibration's {PHYSICS}; the rule's "
                         "tables are for that physics")
    by_S = {int(r["params"]["substeps"]): r for r in runs}
    if len(by_S) != len(runs) or len(runs) < 3:
        raise SystemExit("give three or more runs with distinct quantum.substeps (the finest is the reference)")
    return summarise(float(first["mass_ratio"]), float(first["hbar"]), int(first["n_kicks"]), str(first["scheme"]),
                     int(first["order"]), int(first["N1"]), int(first["N2"]), by_S)


def case_name(r: dict) -> str:
    return f"m={r['m']:g},hbar={r['hbar']:g},T={r['T']},{r['scheme']},order={r['order']}"


def parse_case(text: str) -> tuple:
    kv = dict(item.split("=", 1) for item in text.split(","))
    m, hbar, T = float(kv["m"]), float(kv["hbar"]), int(kv["T"])
    N1, N2 = (int(kv["N1"]), int(kv["N2"])) if "N1" in kv else grid_for(m, hbar, T)
    return (m, hbar, T, kv.get("scheme", "light_exact"), int(kv.get("S0", 10)), int(kv.get("rungs", 5)), N1, N2)


def markdown(saved: dict) -> str:
    """The saved cases as the table of docs/numerics.md, with the rule's choice beside each."""
    from kickedpair.quantum.resolution import substeps_rule

    lines = ["| m | hbar | T | scheme | grid | need 1e-3 (ladder / S*) | need 1e-2 (ladder / S*) "
             "| rule at 1e-3 / 1e-2 | old rule |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(saved.values(), key=lambda r: (r["scheme"], r["m"], -r["hbar"], r["T"])):
        rule = [substeps_rule(r["scheme"], r["m"], r["T"], tol, r["order"], PHYSICS["K1"], PHYSICS["eps"],
                              PHYSICS["lam"], r["hbar"]) for tol in TOLERANCES]
        lines.append(f"| {r['m']:g} | {r['hbar']:g} | {r['T']} | {r['scheme']}"
                     + (f" (order {r['order']})" if r["order"] != 2 else "")
                     + f" | {r['N1']} x {r['N2']} | "
                     + " | ".join(f"{r[f'needed_{t:g}']} / {fmt(r[f'S_star_{t:g}'], '.0f')}" for t in TOLERANCES)
                     + f" | {rule[0]} / {rule[1]} | {r['rule'][r['scheme']]} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=sorted(SETS), default=None)
    ap.add_argument("--case", action="append", default=[], help="m=..,hbar=..,T=..[,scheme,S0,rungs,N1,N2]")
    ap.add_argument("--order", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--skip-done", action="store_true", help="leave out the cases already in the results file")
    ap.add_argument("--from-runs", nargs="+", metavar="FILE.h5", default=None,
                    help="a ladder from result files of `kickedpair quantum` runs that differ only in "
                         "quantum.substeps (e.g. MPI runs on a cluster); saved to --out (default "
                         "benchmarks/data/calibration-runs.json)")
    ap.add_argument("--table", nargs="*", metavar="JSON", default=None,
                    help="print the saved results of these files as a markdown table and stop")
    args = ap.parse_args(argv)
    if args.table is not None:
        saved = {}
        for name in args.table or sorted(Path("benchmarks/data").glob("calibration-*.json")):
            saved.update(json.loads(Path(name).read_text()))
        print(markdown(saved))
        return 0
    if args.from_runs:
        out = Path(args.out or "benchmarks/data/calibration-runs.json")
        saved = json.loads(out.read_text()) if out.exists() else {}
        r = calibrate_from_runs(args.from_runs)
        saved[case_name(r)] = r
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(saved, indent=1))
        print(markdown({case_name(r): r}))
        if "D_rel" in r:
            print("relative change of D against the reference: "
                  + ", ".join(f"S = {S}: {d:.1e}" for S, d in zip(r["ladder"], r["D_rel"])))
        return 0
    cases = list(SETS[args.set]) if args.set else []
    cases += [parse_case(c) for c in args.case]
    if not cases:
        ap.error("give --set, --case or --from-runs")
    out = Path(args.out or f"benchmarks/data/calibration-{args.set or 'cases'}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(out.read_text()) if out.exists() else {}
    rows = []
    for case in cases:
        if args.skip_done and any(k.startswith(f"m={case[0]:g},hbar={case[1]:g},T={case[2]},{case[3]},"
                                                f"order={args.order}") for k in saved):
            continue
        clock = time.perf_counter()
        r = calibrate(case, args.order)
        r["wall_s"] = time.perf_counter() - clock
        saved[case_name(r)] = r
        out.write_text(json.dumps(saved, indent=1))
        rows.append([case_name(r), f"{r['N1']}x{r['N2']}", str(r["rule"][r["scheme"]]),
                     fmt(r["ref_err"], ".1e"),
                     *(f"{r[f'needed_{t:g}']}/{fmt(r[f'S_star_{t:g}'], '.0f')}" for t in TOLERANCES),
                     fmt(r["ref_tail2"], ".0e"), f"{r['wall_s']:.0f}"])
        print(table(["case", "grid", "old rule", "ref err", *(f"need {t:g} (ladder/S*)" for t in TOLERANCES),
                     "tail2", "s"], rows[-1:]), flush=True)
    print()
    print(table(["case", "grid", "old rule", "ref err", *(f"need {t:g} (ladder/S*)" for t in TOLERANCES),
                 "tail2", "s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
