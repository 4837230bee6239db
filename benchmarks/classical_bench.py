"""Classical engine benchmark: Strang against the paper's RK4, and MPI/thread scaling.

Run from the repository root::

    python benchmarks/classical_bench.py            # full run, a few minutes on 2 cores
    python benchmarks/classical_bench.py --quick    # smoke version, well under 30 s

Part 1 (in this process, ``--threads`` numba threads, default 2): for m = 1e-3,
eps = 2, K1 = 1.8, lam = 10 the reference RK4 at 1e5 steps per period and the
Strang scheme at its auto step and at a few explicit step counts evolve the
SAME initial ensemble (same seed).  For each Strang setting it reports
<p1^2> at t = t_sharp (default 5, trajectories still close to the RK4 ones) and
at t = n_kicks (default 20, decorrelated by chaos), the difference to RK4 in
units of the combined standard error, the paired difference (per-trajectory
p1^2 differences, exact for correlated ensembles), force evaluations per
trajectory per period and wall time.  Target: the cheapest Strang setting that
agrees with RK4 (|diff| < 2 combined sigma at t = n_kicks) needs >= 50x fewer
force evaluations than RK4 at 1e5 steps.

Part 2 (subprocesses): trajectory-steps per second of the Strang scheme at the
auto step for 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread,
launched as ``mpiexec -n k kickedpair classical ...`` and timed from the
``wall_time_s`` and ``steps_per_kick`` attributes of the result file.

A summary table goes to stdout and all numbers to ``--json`` (default
benchmarks/results/classical_bench.json).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _report import child_env, fmt as _fmt, jsonable as _jsonable, table as _table, tool as _tool

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "classical_bench.json"

PHYSICS = {"K1": 1.8, "K2": 0.0, "eps": 2.0, "lam": 10.0, "L": "pi", "mass_ratio": 1.0e-3}
SEED = 20200101
RK4_STEPS = 100_000
TARGET_FORCE_RATIO = 50.0
AGREE_SIGMA = 2.0
DEFAULT_GUARD = 1e-3  # the package's default classical.max_energy_drift
# Part 1 runs with a relaxed energy guard so that coarse Strang settings are
# measured rather than stopped; whether the default guard would have tripped
# is reported beside them.  1 is the largest the config accepts (a mean relative energy
# change of 100% per period); the coarsest settings measured here stay far below it.
RELAXED_GUARD = 1.0
# a trajectory still "tracks" its RK4 twin when |dp1| < TRACK_TOL * (1 + |p1|)
TRACK_TOL = 1e-3


# --------------------------------------------------------------------------- helpers
def _config(classical: dict):
    from kickedpair.params import parse_config

    return parse_config({"physics": dict(PHYSICS), "classical": classical})


# --------------------------------------------------------------------------- part 1
def _run_in_process(classical: dict, n_threads: int):
    from kickedpair.classical.ensemble import run_classical

    return run_classical(_config(classical), label="bench", progress="none", n_threads=n_threads)


def warm_up(n_threads: int) -> float:
    """Compile (or load from cache) both kernels before anything is timed."""
    start = time.perf_counter()
    for scheme in ("strang", "rk4"):
        _run_in_process({"n_trajectories": 2, "seed": 1, "n_kicks": 1, "steps_per_kick": 50,
                         "scheme": scheme, "max_energy_drift": RELAXED_GUARD}, n_threads)
    return time.perf_counter() - start


def _time_point(run, t: int) -> dict:
    return {"t": t, "p1_sq": float(run.p1_sq[t]), "p1_sq_sem": float(run.p1_sq_sem[t])}


def _compare(run, ref, t: int) -> dict:
    """Unpaired (ensemble averages) and paired (trajectory by trajectory) comparison at t."""
    diff = float(run.p1_sq[t] - ref.p1_sq[t])
    sigma = math.hypot(float(run.p1_sq_sem[t]), float(ref.p1_sq_sem[t]))
    p_run = run.snapshots[t][0]
    p_ref = ref.snapshots[t][0]
    d = p_run**2 - p_ref**2
    paired_se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    tracking = float(np.mean(np.abs(p_run - p_ref) < TRACK_TOL * (1.0 + np.abs(p_ref))))
    return {
        "t": t,
        "p1_sq": float(run.p1_sq[t]),
        "p1_sq_sem": float(run.p1_sq_sem[t]),
        "diff": diff,
        "combined_sigma": sigma,
        "diff_over_sigma": diff / sigma if sigma > 0 else math.nan,
        "paired_diff_se": paired_se,
        "paired_diff_over_se": diff / paired_se if paired_se > 0 else math.nan,
        "fraction_tracking": tracking,
    }


def accuracy_part(n_traj: int, n_kicks: int, t_sharp: int, strang_steps: list[int],
                  n_threads: int, repeats: int) -> dict:
    from kickedpair.classical.ensemble import steps_per_kick

    base = {"n_trajectories": n_traj, "seed": SEED, "n_kicks": n_kicks,
            "snapshot_times": list(range(1, n_kicks + 1)), "max_energy_drift": RELAXED_GUARD}
    auto_cfg = _config(dict(base, steps_per_kick="auto"))
    auto_steps = steps_per_kick(auto_cfg.physics, auto_cfg.classical)

    print(f"[part 1] RK4 reference: {n_traj} trajectories x {n_kicks} kicks x {RK4_STEPS} steps, "
          f"{n_threads} thread(s) ...", flush=True)
    ref = _run_in_process(dict(base, scheme="rk4", steps_per_kick=RK4_STEPS), n_threads)
    print(f"[part 1] RK4 done in {ref.wall_time_s:.1f} s", flush=True)

    def record(run, label, walls):
        wall = min(walls)
        steps = n_traj * n_kicks * run.steps_per_kick
        drift_mean = float(np.max(run.energy_drift_mean))
        return {
            "label": label,
            "scheme": run.config.classical.scheme,
            "steps_per_kick": int(run.steps_per_kick),
            "force_evals_per_period": int(run.force_evals_per_period),
            "force_evals_per_trajectory": int(run.force_evals_per_period) * n_kicks,
            "wall_time_s": wall,
            "wall_time_s_all": walls,
            "ns_per_trajectory_step": wall * n_threads / steps * 1e9,
            "energy_drift_mean_max": drift_mean,
            "energy_drift_max": float(np.max(run.energy_drift_max)),
            "default_guard_would_trip": drift_mean > DEFAULT_GUARD,
            "at_t_sharp": _time_point(run, t_sharp),
            "at_t_final": _time_point(run, n_kicks),
        }

    rk4 = record(ref, f"rk4 {RK4_STEPS}", [ref.wall_time_s])
    settings = [("auto", None)] + [(str(s), s) for s in strang_steps]
    strang = []
    for name, steps in settings:
        cfg = dict(base, scheme="strang", steps_per_kick="auto" if steps is None else steps)
        walls, run = [], None
        for _ in range(repeats):
            run = _run_in_process(cfg, n_threads)
            walls.append(run.wall_time_s)
        label = f"strang {run.steps_per_kick}" + (" (auto)" if steps is None else "")
        row = record(run, label, walls)
        row["setting"] = name
        row["vs_rk4_t_sharp"] = _compare(run, ref, t_sharp)
        row["vs_rk4_t_final"] = _compare(run, ref, n_kicks)
        row["paired_vs_t"] = {
            "t": list(range(1, n_kicks + 1)),
            "paired_diff_over_se": [_compare(run, ref, t)["paired_diff_over_se"] for t in range(1, n_kicks + 1)],
            "fraction_tracking": [_compare(run, ref, t)["fraction_tracking"] for t in range(1, n_kicks + 1)],
        }
        row["agrees_t_final"] = abs(row["vs_rk4_t_final"]["diff_over_sigma"]) < AGREE_SIGMA
        row["agrees_t_sharp_paired"] = abs(row["vs_rk4_t_sharp"]["paired_diff_over_se"]) < AGREE_SIGMA
        # stricter: paired agreement at every early time and within the default energy guard
        row["agrees_strict"] = bool(
            row["agrees_t_final"]
            and all(abs(z) < AGREE_SIGMA for z in row["paired_vs_t"]["paired_diff_over_se"][:t_sharp])
            and not row["default_guard_would_trip"])
        row["force_eval_ratio_rk4_over_this"] = rk4["force_evals_per_period"] / row["force_evals_per_period"]
        row["wall_ratio_rk4_over_this"] = rk4["wall_time_s"] / row["wall_time_s"]
        strang.append(row)
        print(f"[part 1] {label}: {row['wall_time_s']:.3f} s", flush=True)

    agreeing = sorted((r for r in strang if r["agrees_t_final"]), key=lambda r: r["force_evals_per_period"])
    cheapest = agreeing[0] if agreeing else None
    strict = next((r for r in agreeing if r["agrees_strict"]), None)
    auto_row = next(r for r in strang if r["setting"] == "auto")
    return {
        "n_trajectories": n_traj,
        "n_kicks": n_kicks,
        "t_sharp": t_sharp,
        "seed": SEED,
        "threads": n_threads,
        "strang_timing_repeats": repeats,
        "auto_steps_per_kick": auto_steps,
        "rk4": rk4,
        "strang": strang,
        "cheapest_agreeing": None if cheapest is None else {
            "label": cheapest["label"],
            "steps_per_kick": cheapest["steps_per_kick"],
            "force_eval_ratio": cheapest["force_eval_ratio_rk4_over_this"],
            "wall_ratio": cheapest["wall_ratio_rk4_over_this"],
            "also_agrees_t_sharp_paired": cheapest["agrees_t_sharp_paired"],
        },
        "cheapest_strict": None if strict is None else {
            "label": strict["label"],
            "steps_per_kick": strict["steps_per_kick"],
            "force_eval_ratio": strict["force_eval_ratio_rk4_over_this"],
            "wall_ratio": strict["wall_ratio_rk4_over_this"],
        },
        "auto": {
            "steps_per_kick": auto_row["steps_per_kick"],
            "agrees_t_final": auto_row["agrees_t_final"],
            "force_eval_ratio": auto_row["force_eval_ratio_rk4_over_this"],
            "wall_ratio": auto_row["wall_ratio_rk4_over_this"],
        },
        "target_force_eval_ratio": TARGET_FORCE_RATIO,
        "target_met": bool(cheapest and cheapest["force_eval_ratio_rk4_over_this"] >= TARGET_FORCE_RATIO),
    }


# --------------------------------------------------------------------------- part 2
def _child_env(threads: int) -> dict:
    return child_env(KICKEDPAIR_THREADS=str(threads))


def _launch(mpiexec: str, cli: list[str], ranks: int, threads: int, n_traj: int, n_kicks: int,
            out: Path, steps: str = "auto", extra: tuple[str, ...] = ()) -> dict:
    import h5py

    cmd = [mpiexec, "-n", str(ranks), *cli, "classical", "--out", str(out), "--label", out.stem,
           "--threads", str(threads), "--progress", "none"]
    for key, value in PHYSICS.items():
        cmd += ["--set", f"physics.{key}={value}"]
    cmd += ["--set", f"classical.n_trajectories={n_traj}", "--set", f"classical.n_kicks={n_kicks}",
            "--set", f"classical.seed={SEED}", "--set", f"classical.steps_per_kick={steps}",
            "--set", "classical.scheme=strang"]
    for item in extra:
        cmd += ["--set", item]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(threads), timeout=600)
    outside = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    with h5py.File(out, "r") as f:
        wall = float(f.attrs["wall_time_s"])
        spk = int(f.attrs["steps_per_kick"])
        got_ranks = int(f.attrs["n_ranks"])
        got_threads = int(f.attrs["n_threads"])
        p1_sq = f["series"]["p1_sq"][()]
    if got_ranks != ranks or got_threads != threads:
        raise RuntimeError(f"{out}: asked for {ranks}x{threads}, file says {got_ranks}x{got_threads}")
    return {"wall_time_s": wall, "launch_to_exit_s": outside, "steps_per_kick": spk,
            "cpu_s": cpu, "cores_obtained": cpu / outside, "load1_after": os.getloadavg()[0],
            "traj_steps_per_s": n_traj * n_kicks * spk / wall, "p1_sq_final": float(p1_sq[-1]),
            "p1_sq": p1_sq}


def scaling_part(n_traj: int, n_kicks: int, repeats: int) -> dict:
    mpiexec = _tool("mpiexec")
    if mpiexec is None:
        raise RuntimeError("mpiexec not found (install the mpich extra: pip install -e '.[mpich]')")
    cli_script = _tool("kickedpair")
    cli = [cli_script] if cli_script else [sys.executable, "-m", "kickedpair.cli"]
    layouts = [(1, 1), (1, 2), (2, 1)]
    samples: dict[tuple[int, int], list[dict]] = {lay: [] for lay in layouts}
    with tempfile.TemporaryDirectory(prefix="kickedpair-bench-") as tmp:
        tmp = Path(tmp)
        # warm-up: fills numba's on-disk cache so no timed run compiles
        relaxed = (f"classical.max_energy_drift={RELAXED_GUARD:g}",)
        _launch(mpiexec, cli, 2, 1, 8, 1, tmp / "warm.h5", steps="50", extra=relaxed)
        # a near-empty run: what every wall_time_s carries besides the stepping
        # (loading the cached kernels, thread pool start, reductions)
        # (without the interaction, so that one step per period is exact and passes the guard)
        warm = _launch(mpiexec, cli, 1, 1, 8, 1, tmp / "empty.h5", steps="1", extra=relaxed + ("physics.eps=0",))
        print(f"[part 2] warm-up done; an empty run records wall_time_s = {warm['wall_time_s']:.3f} s, "
              f"launch to exit {warm['launch_to_exit_s']:.2f} s; "
              f"{n_traj} trajectories x {n_kicks} kicks, {repeats} repeat(s) per layout", flush=True)
        # interleave the layouts so slow phases of a noisy machine hit all of them
        for rep in range(repeats):
            for ranks, threads in layouts:
                s = _launch(mpiexec, cli, ranks, threads, n_traj, n_kicks,
                            tmp / f"r{ranks}t{threads}_{rep}.h5")
                samples[(ranks, threads)].append(s)
                print(f"[part 2] {ranks} rank(s) x {threads} thread(s), repeat {rep + 1}: "
                      f"{s['wall_time_s']:.2f} s in run, {s['launch_to_exit_s']:.2f} s launch to exit",
                      flush=True)

    ref_series = samples[(1, 1)][0]["p1_sq"]
    rows = []
    for (ranks, threads), ss in samples.items():
        rates = [s["traj_steps_per_s"] for s in ss]
        same = all(np.allclose(s["p1_sq"], ref_series, rtol=1e-12, atol=0.0) for s in ss)
        rows.append({
            "ranks": ranks, "threads_per_rank": threads, "cores": ranks * threads,
            "steps_per_kick": ss[0]["steps_per_kick"],
            "wall_time_s_best": min(s["wall_time_s"] for s in ss),
            "wall_time_s_all": [s["wall_time_s"] for s in ss],
            "launch_to_exit_s_all": [s["launch_to_exit_s"] for s in ss],
            "cores_obtained_all": [s["cores_obtained"] for s in ss],
            "load1_after_all": [s["load1_after"] for s in ss],
            "traj_steps_per_s_best": max(rates),
            "traj_steps_per_s_median": statistics.median(rates),
            "p1_sq_final": ss[0]["p1_sq_final"],
            "same_result_as_1x1": bool(same),
        })
    base = next(r for r in rows if r["cores"] == 1)
    for r in rows:
        r["speedup_vs_1x1"] = r["traj_steps_per_s_best"] / base["traj_steps_per_s_best"]
        r["efficiency"] = r["speedup_vs_1x1"] / r["cores"]
    return {"n_trajectories": n_traj, "n_kicks": n_kicks, "repeats": repeats, "seed": SEED,
            "mpiexec": mpiexec, "cli": cli, "layouts": rows,
            "empty_run_wall_time_s": warm["wall_time_s"],
            "empty_run_launch_to_exit_s": warm["launch_to_exit_s"]}


# --------------------------------------------------------------------------- report
def summary(result: dict) -> str:
    lines = []
    acc = result.get("accuracy")
    if acc:
        ts, tf = acc["t_sharp"], acc["n_kicks"]
        lines.append(f"== Part 1: Strang vs RK4 ({RK4_STEPS} steps/period), m={PHYSICS['mass_ratio']:g}, "
                     f"eps={PHYSICS['eps']:g}, K1={PHYSICS['K1']:g}, lam={PHYSICS['lam']:g}; "
                     f"N={acc['n_trajectories']}, seed={acc['seed']}, {acc['n_kicks']} kicks, "
                     f"{acc['threads']} thread(s), auto step = {acc['auto_steps_per_kick']}")
        headers = ["scheme", "steps", "evals/traj/period", f"<p1^2>({ts})", f"<p1^2>({tf})",
                   f"dz({ts})", f"dz_paired({ts})", f"track({ts})", f"dz({tf})", "agree",
                   "eval ratio", "wall s", "wall ratio", "ns/traj-step", "drift"]
        rows = []
        rk = acc["rk4"]
        rows.append(["rk4", str(rk["steps_per_kick"]), str(rk["force_evals_per_period"]),
                     f"{rk['at_t_sharp']['p1_sq']:.4g}+-{rk['at_t_sharp']['p1_sq_sem']:.2g}",
                     f"{rk['at_t_final']['p1_sq']:.4g}+-{rk['at_t_final']['p1_sq_sem']:.2g}",
                     "ref", "ref", "ref", "ref", "ref", "1", _fmt(rk["wall_time_s"], ".3g"), "1",
                     _fmt(rk["ns_per_trajectory_step"], ".3g"), _fmt(rk["energy_drift_mean_max"], ".1e")])
        for r in acc["strang"]:
            a, b = r["vs_rk4_t_sharp"], r["vs_rk4_t_final"]
            rows.append([
                "strang" + ("(auto)" if r["setting"] == "auto" else ""), str(r["steps_per_kick"]),
                str(r["force_evals_per_period"]),
                f"{a['p1_sq']:.4g}+-{a['p1_sq_sem']:.2g}", f"{b['p1_sq']:.4g}+-{b['p1_sq_sem']:.2g}",
                _fmt(a["diff_over_sigma"], "+.2f"), _fmt(a["paired_diff_over_se"], "+.2f"),
                _fmt(a["fraction_tracking"], ".2f"), _fmt(b["diff_over_sigma"], "+.2f"),
                "yes" if r["agrees_t_final"] else "NO",
                _fmt(r["force_eval_ratio_rk4_over_this"], ".0f"), _fmt(r["wall_time_s"], ".3g"),
                _fmt(r["wall_ratio_rk4_over_this"], ".0f"), _fmt(r["ns_per_trajectory_step"], ".3g"),
                _fmt(r["energy_drift_mean_max"], ".1e") + ("!" if r["default_guard_would_trip"] else ""),
            ])
        lines.append(_table(headers, rows))
        lines.append(f"  dz(t) = (<p1^2>_strang - <p1^2>_rk4) / sqrt(sem_s^2 + sem_r^2); dz_paired uses the "
                     f"SE of per-trajectory p1^2 differences;\n  track = fraction of trajectories with "
                     f"|dp1| < {TRACK_TOL:g}(1+|p1|); agree = |dz({tf})| < {AGREE_SIGMA:g}; eval/wall ratio = "
                     f"RK4 / this (same N, same threads);\n  drift = largest per-kick ensemble-mean relative "
                     f"energy error ('!' = the default guard {DEFAULT_GUARD:g} would trip).")
        early = list(range(1, ts + 1))
        rows = []
        for r in acc["strang"]:
            pv = r["paired_vs_t"]
            rows.append([r["label"]] + [
                f"{_fmt(pv['paired_diff_over_se'][t - 1], '+.2f')} / {_fmt(pv['fraction_tracking'][t - 1], '.2f')}"
                for t in early])
        lines.append(f"  Early times, paired dz / track fraction (same initial conditions as RK4):")
        lines.append(_table(["setting"] + [f"t={t}" for t in early], rows))
        ch = acc["cheapest_agreeing"]
        if ch:
            verdict = "MET" if acc["target_met"] else "NOT MET"
            lines.append(f"  Cheapest Strang agreeing with RK4 at t={tf}: {ch['label']} -> "
                         f"{ch['force_eval_ratio']:.0f}x fewer force evaluations, "
                         f"{ch['wall_ratio']:.0f}x less wall time (paired check at t={ts}: "
                         f"{'agrees' if ch['also_agrees_t_sharp_paired'] else 'DIFFERS'}).")
            lines.append(f"  Target >= {TARGET_FORCE_RATIO:g}x fewer force evaluations: {verdict}.")
        else:
            lines.append(f"  No Strang setting agrees with RK4 at t={tf}; "
                         f"target >= {TARGET_FORCE_RATIO:g}x fewer force evaluations: NOT MET.")
        st = acc["cheapest_strict"]
        if st:
            lines.append(f"  Stricter (also |paired dz| < {AGREE_SIGMA:g} at every t <= {ts} and default energy "
                         f"guard not tripped): {st['label']} -> {st['force_eval_ratio']:.0f}x fewer force "
                         f"evaluations, {st['wall_ratio']:.0f}x less wall time.")
        else:
            lines.append(f"  Stricter (also |paired dz| < {AGREE_SIGMA:g} at every t <= {ts} and default energy "
                         f"guard not tripped): no setting passes.")
        if acc["rk4"]["default_guard_would_trip"]:
            lines.append(f"  Note: the RK4 reference itself exceeds the default energy guard "
                         f"({acc['rk4']['energy_drift_mean_max']:.1e} > {DEFAULT_GUARD:g}).")
        au = acc["auto"]
        lines.append(f"  Auto step ({au['steps_per_kick']}): {au['force_eval_ratio']:.0f}x fewer force "
                     f"evaluations, {au['wall_ratio']:.0f}x less wall time, "
                     f"{'agrees' if au['agrees_t_final'] else 'DISAGREES'} at t={tf}.")
    sc = result.get("scaling")
    if sc:
        lines.append("")
        lines.append(f"== Part 2: Strang throughput (auto step {sc['layouts'][0]['steps_per_kick']}), "
                     f"mpiexec + kickedpair classical; N={sc['n_trajectories']}, {sc['n_kicks']} kicks, "
                     f"best of {sc['repeats']}")
        headers = ["ranks x threads", "wall s (file)", "launch-to-exit s", "traj-steps/s (best)",
                   "traj-steps/s (median)", "speedup vs 1x1", "efficiency", "cores obtained",
                   "same <p1^2>"]
        rows = [[f"{r['ranks']} x {r['threads_per_rank']}", _fmt(r["wall_time_s_best"], ".3g"),
                 _fmt(min(r["launch_to_exit_s_all"]), ".3g"), _fmt(r["traj_steps_per_s_best"], ".3e"),
                 _fmt(r["traj_steps_per_s_median"], ".3e"), _fmt(r["speedup_vs_1x1"], ".2f"),
                 _fmt(r["efficiency"], ".2f"), _fmt(statistics.median(r["cores_obtained_all"]), ".2f"),
                 "yes" if r["same_result_as_1x1"] else "NO"]
                for r in sc["layouts"]]
        lines.append(_table(headers, rows))
        lines.append(f"  traj-steps/s = N * kicks * steps_per_kick / wall_time_s (root attribute of the result "
                     f"file, slowest rank);\n  an empty 1x1 run records wall_time_s = "
                     f"{sc['empty_run_wall_time_s']:.3f} s (kernel cache load, pool start), included above;\n"
                     f"  cores obtained = CPU seconds of the launched processes / launch-to-exit time (median).")
    load = result.get("load_average_1min", {})
    cores = result["host"]["affinity"]
    if load and max(load.values()) > cores + 0.5:
        lines.append("")
        lines.append(f"WARNING: the machine was busy during the benchmark (1-min load average up to "
                     f"{max(load.values()):.1f} on {cores} cores): wall times, ratios and scaling are "
                     f"perturbed by other processes.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke version (well under 30 s)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"JSON output (default {DEFAULT_JSON})")
    ap.add_argument("--threads", type=int, default=2, help="numba threads for part 1 (default 2)")
    ap.add_argument("--rk4-trajectories", type=int, help="ensemble of part 1 (default 500; quick 8)")
    ap.add_argument("--kicks", type=int, help="kicks in part 1 (default 20; quick 4)")
    ap.add_argument("--t-sharp", type=int, help="early comparison time (default 5; quick 2)")
    ap.add_argument("--strang-steps", type=lambda s: [int(x) for x in s.split(",") if x],
                    help="explicit Strang steps per period (default 500,1000,2000,4000)")
    ap.add_argument("--scale-trajectories", type=int, help="ensemble of part 2 (default 4000; quick 200)")
    ap.add_argument("--scale-kicks", type=int, help="kicks in part 2 (default 20; quick 3)")
    ap.add_argument("--repeats", type=int, help="timing repeats (default 3; quick 1)")
    ap.add_argument("--skip-accuracy", action="store_true", help="skip part 1")
    ap.add_argument("--skip-scaling", action="store_true", help="skip part 2 (no mpiexec)")
    args = ap.parse_args(argv)

    q = args.quick
    n_rk4 = args.rk4_trajectories or (8 if q else 500)
    kicks = args.kicks or (4 if q else 20)
    t_sharp = min(args.t_sharp or (2 if q else 5), kicks)
    strang_steps = args.strang_steps or ([500, 2000] if q else [500, 1000, 2000, 4000])
    n_scale = args.scale_trajectories or (200 if q else 4000)
    scale_kicks = args.scale_kicks or (3 if q else 20)
    repeats = args.repeats or (1 if q else 3)

    from kickedpair import parallel  # noqa: F401  (initialises MPI as a singleton)
    import numba

    start = time.perf_counter()
    result: dict = {
        "benchmark": "classical_bench",
        "quick": q,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {"hostname": platform.node(), "python": platform.python_version(),
                 "cpu_count": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                 "numba": numba.__version__, "numba_threads_max": numba.config.NUMBA_NUM_THREADS},
        "physics": PHYSICS,
    }
    load = result["load_average_1min"] = {"start": os.getloadavg()[0]}
    if not args.skip_accuracy:
        result["warm_up_s"] = warm_up(args.threads)
        result["host"]["numba_threading_layer"] = numba.threading_layer()
        result["accuracy"] = accuracy_part(n_rk4, kicks, t_sharp, strang_steps, args.threads, repeats)
        load["after_part1"] = os.getloadavg()[0]
    if not args.skip_scaling:
        result["scaling"] = scaling_part(n_scale, scale_kicks, repeats)
        load["after_part2"] = os.getloadavg()[0]
        load["max_during_part2"] = max(max(r["load1_after_all"]) for r in result["scaling"]["layouts"])
    result["total_time_s"] = time.perf_counter() - start

    text = summary(result)
    print()
    print(text)
    print(f"\ntotal benchmark time {result['total_time_s']:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for part in result.get("scaling", {}).get("layouts", []):
        part.pop("p1_sq", None)
    args.json.write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
