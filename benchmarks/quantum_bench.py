"""Two-particle quantum benchmark: plain Strang against light_exact at equal accuracy.

Run from the repository root::

    python benchmarks/quantum_bench.py            # full run, ~6-8 minutes on 2 idle cores
    python benchmarks/quantum_bench.py --quick    # tiny grids, well under 60 s

Physics: m = 1e-3, eps = 2, K1 = 1.8, K2 = 0, lam = 10, L = pi (MODEL.md section 1),
at hbar = 0.05 and hbar = 0.02; observables <p1^2>(t) and purity at t = 1..20.

Grids.  hbar = 0.05: N1 x N2 = 1023 x 31, the grid ``choose_resolution`` picks for
500 kicks (the production grid).  hbar = 0.02: ``choose_resolution`` asks for 4095 x 31
for 500 kicks, where the reference and the plain-Strang ladder alone would need over
10 minutes of CPU for the 20 kicks; the benchmark uses 1023 x 31, the rule's choice for the 20 kicks measured (its momentum reach,
1.5 x the diffusive spread + kick + bump push, covers t <= 20 with margin).  The reference
run checks the guards (norm 1 +- 1e-10, top-5% modes of both particles < 1e-8) at every
t, so the smaller grid is verified, not assumed.  The substep counts needed for a given
accuracy do not depend on N1 once the tail is empty; to carry the timings to the
500-kick grid the benchmark also times whole periods of both schemes on 4095 x 31
(light 40, plain 160 substeps) and projects s/kick = substeps found x time per substep.

Part 1 -- a checked reference, per hbar: light_exact at S_ref and 2 S_ref substeps,
doubling until the two agree to <= 1e-5 relative on <p1^2>(t) and purity over
t = 1..20; the finer run is the reference.  S_ref starts at the first count of the
light ladder >= 8x ``choose_resolution``'s light-exact estimate for 20 kicks (that
estimate targets 1e-3; were the error second order in 1/S, 8x would give ~1.6e-5 and the
difference S_ref vs 2 S_ref ~ 0.75 of it).  Measured, it is not always: at hbar = 0.05 the
light_exact error stays at ~1-2e-4 from 80 to 320 substeps and then drops ~50x, hence the
doubling loop.  The Richardson value (4 f(2S) - f(S))/3 is reported beside the reference
as an error estimate.

Part 2 -- equal accuracy.  For plain Strang (ladder 250, 500, 1000, ...) and light_exact
(ladder 10, 20, 40, ...) the smallest count whose max relative error over t = 1..20 of
BOTH <p1^2> and purity against the reference is <= 1e-3.  Each ladder climbs from the
bottom and stops at the first count that passes; for light_exact every higher count up to
the reference's is run too (or reused from the reference) to check that it also passes;
for plain Strang that check would double its cost and is not made (MODEL.md section 6
puts its false resonances at 100-250 substeps, below the passing counts); a run whose error
exceeds 1e-3 at some t is stopped there (it has failed), so failing counts cost only the
kicks up to their first violation.  Seconds per kick are the median of the timed
``period`` calls (observables excluded) of the passing run, after a warm-up that
compiles/loads the numba kernel and plans the FFTs.  Target: plain / light >= 10x at
both hbar.  All in-process timings use one thread (``--workers``, default 1) for both
schemes, and are taken as CPU time of the process (``time.process_time``) beside wall
time: on a 2-core machine shared with other jobs the wall time of a long period includes
the time the process waited for a core, its CPU time does not (both are reported;
ratios use CPU time).

Part 3 -- time per substep against memory bandwidth.  Streaming bandwidth from numpy
copy / add / two-pass triad on 200 MB arrays (STREAM byte counting), plus the same on
arrays the size of the substep's working set (state + blocks, a few MB: it stays in cache,
the machine reports a 480 MB L3).  Bytes per substep are counted at one read + one write of the
state (N1 N2 complex128) per transform and per elementwise multiply, plus every
multiplier array read once; light_exact adds its eigenvector blocks, N1 N2^2 float64.
Achieved bandwidth = bytes / (s per kick / substeps); also per component (transforms,
block products, multiplies) timed on their own.

Part 4 -- slab scaling: ``mpiexec -n 1`` and ``-n 2`` subprocesses of
benchmarks/_quantum_bench_mpi.py (light_exact, hbar = 0.05, the passing substep count
of part 2, ``SlabTransforms`` with one thread per rank), interleaved and repeated.

A summary table goes to stdout and all numbers to ``--json`` (default
benchmarks/results/quantum_bench.json).
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
import time
from pathlib import Path

import _one_thread  # noqa: E402,F401  (before numpy: one BLAS thread)

import numpy as np  # noqa: E402

from _report import child_env, fmt as _fmt, jsonable as _jsonable, table as _table, tool as _tool

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "quantum_bench.json"
MPI_HELPER = HERE / "_quantum_bench_mpi.py"

PHYSICS = {"mass2": 1.0e-3, "K1": 1.8, "K2": 0.0, "strength": 2.0, "a": 10.0, "L": math.pi}
PHYSICS_LABEL = "m=1e-3, eps=2, K1=1.8, K2=0, lam=10, L=pi"
TOL = 1e-3  # equal-accuracy criterion (max relative error over t = 1..t_max)
REF_TOL = 1e-5  # reference self-agreement
TARGET_RATIO = 10.0
LIGHT_LADDER = [10 * 2**k for k in range(10)]  # 10 .. 5120
STRANG_LADDER = [250 * 2**k for k in range(6)]  # 250 .. 8000
REF_FACTOR = 8  # S_ref >= 8 x the resolution rule's light-exact estimate
OBSERVABLES = ("p1sq", "purity")
NORM_TOL = 1e-10
TAIL_TOL = 1e-8

# (hbar, n_kicks given to choose_resolution for the grid, why); n_kicks None = t_max
FULL_CASES = [
    (0.05, 500, "choose_resolution(n_kicks=500), the production grid"),
    (0.02, 20, "choose_resolution(n_kicks=20), the window measured; 500 kicks need 4095x31, see projection"),
]
QUICK_CASES = [
    (0.05, None, "choose_resolution(n_kicks=t_max)"),
    (0.02, None, "choose_resolution(n_kicks=t_max)"),
]
QUICK_REF_START = 640  # tiny grids, few kicks: start the reference where it is known to agree


# --------------------------------------------------------------------------- helpers
def _log(msg: str) -> None:
    print(msg, flush=True)


def _median_time(fn, repeats: int, min_time: float = 0.0) -> float:
    """Median CPU time of ``fn()`` after one untimed call (at least ``repeats`` calls)."""
    fn()
    ts = []
    start = time.perf_counter()
    while len(ts) < repeats or time.perf_counter() - start < min_time:
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return float(statistics.median(ts))


def make_system(hbar: float, N1: int, N2: int):
    from kickedpair.quantum.two_particle import TwoParticleSystem

    return TwoParticleSystem(N1=N1, N2=N2, hbar=hbar, **PHYSICS)


def resolution_for(hbar: float, n_kicks: int):
    from kickedpair.quantum.resolution import choose_resolution

    return choose_resolution(hbar=hbar, n_kicks=n_kicks, **PHYSICS)


def warm_up(workers: int) -> float:
    """Compile (or load from numba's cache) the block kernel; run both schemes once."""
    from kickedpair.quantum.two_particle import SerialTransforms, initial_state, make_propagator

    start = time.perf_counter()
    sys_ = make_system(0.05, 63, 31)
    tr = SerialTransforms(63, 31, workers=workers)
    for scheme, s in (("light_exact", 2), ("strang", 2)):
        make_propagator(sys_, tr, scheme, s).period(initial_state(tr))
    return time.perf_counter() - start


# --------------------------------------------------------------------------- runs
def run_series(sys_, tr, scheme: str, substeps: int, t_max: int, ref: dict | None = None,
               tol: float | None = None) -> dict:
    """Evolve ``t_max`` periods; record observables and per-kick times at every t.

    With ``ref`` and ``tol``: stop at the first t where the relative error of <p1^2> or
    purity against ``ref`` exceeds ``tol`` (the run has failed the criterion).
    """
    from kickedpair.quantum.observables import two_particle_observables
    from kickedpair.quantum.two_particle import initial_state, make_propagator

    t_setup = time.perf_counter()
    prop = make_propagator(sys_, tr, scheme, substeps)
    setup = time.perf_counter() - t_setup
    p1, p2 = sys_.p1(), sys_.p2()
    c = initial_state(tr)
    rec = {k: [] for k in ("p1sq", "purity", "norm", "tail1", "tail2", "kick_s", "kick_cpu_s")}
    err = {k: [] for k in OBSERVABLES}
    failed_at = None
    start = time.perf_counter()
    for t in range(1, t_max + 1):
        t0, p0 = time.perf_counter(), time.process_time()
        c = prop.period(c)
        rec["kick_cpu_s"].append(time.process_time() - p0)
        rec["kick_s"].append(time.perf_counter() - t0)
        o = two_particle_observables(c, p1, p2, sys_.mass1, sys_.mass2)
        for k in ("p1sq", "purity", "norm", "tail1", "tail2"):
            rec[k].append(o[k])
        if ref is not None:
            for k in OBSERVABLES:
                r = ref[k][t - 1]
                err[k].append(abs(o[k] - r) / abs(r))
            if tol is not None and max(err[k][-1] for k in OBSERVABLES) > tol:
                failed_at = t
                break
    out = {
        "scheme": scheme, "substeps": substeps, "N1": sys_.N1, "N2": sys_.N2, "hbar": sys_.hbar,
        "t": list(range(1, len(rec["p1sq"]) + 1)), "t_max": t_max, **rec,
        "setup_s": setup, "wall_s": time.perf_counter() - start,
        "kicks_done": len(rec["p1sq"]),
        "complete": failed_at is None and len(rec["p1sq"]) == t_max,
        "norm_dev_max": float(max(abs(n - 1.0) for n in rec["norm"])),
        "tail1_max": float(max(rec["tail1"])), "tail2_max": float(max(rec["tail2"])),
    }
    for key, name in (("kick_s", "wall"), ("kick_cpu_s", "cpu")):
        ks = rec[key]
        out[f"s_per_kick_{name}"] = float(statistics.median(ks[1:] if len(ks) > 2 else ks))
        out[f"s_per_kick_{name}_min"] = float(min(ks))
        out[f"s_per_substep_{name}"] = out[f"s_per_kick_{name}"] / substeps
    if ref is not None:
        out["rel_err"] = err
        out["max_rel_err"] = {k: float(max(v)) for k, v in err.items()}
        out["max_rel_err_both"] = float(max(out["max_rel_err"].values()))
        out["failed_at_t"] = failed_at
        out["passes"] = failed_at is None and out["max_rel_err_both"] <= tol if tol is not None else None
    return out


def _rel_diff(a: dict, b: dict) -> dict:
    return {k: float(max(abs(x - y) / abs(y) for x, y in zip(a[k], b[k]))) for k in OBSERVABLES}


def reference(sys_, tr, t_max: int, s_start: int, cap: int) -> dict:
    """light_exact at S and 2S, doubling until they agree to REF_TOL; the finer is the reference."""
    _log(f"  reference: light_exact {s_start} substeps x {t_max} kicks ...")
    coarse = run_series(sys_, tr, "light_exact", s_start, t_max)
    _log(f"    {s_start}: {coarse['wall_s']:.1f} s")
    runs = {s_start: coarse}
    history = []
    S = s_start
    while True:
        fine = runs[2 * S] = run_series(sys_, tr, "light_exact", 2 * S, t_max)
        agree = _rel_diff(coarse, fine)
        worst = max(agree.values())
        _log(f"    {2 * S}: {fine['wall_s']:.1f} s; max rel diff {S} vs {2 * S}: "
             f"p1sq {agree['p1sq']:.2e}, purity {agree['purity']:.2e}")
        history.append({"S": S, "S2": 2 * S, "max_rel_diff": agree, "ok": worst <= REF_TOL})
        if worst <= REF_TOL or 2 * S >= cap:
            break
        coarse, S = fine, 2 * S
    rich = {k: [(4.0 * f - c) / 3.0 for f, c in zip(fine[k], coarse[k])] for k in OBSERVABLES}
    rich_diff = _rel_diff(fine, rich)
    guards_ok = fine["norm_dev_max"] <= NORM_TOL and fine["tail1_max"] <= TAIL_TOL and fine["tail2_max"] <= TAIL_TOL
    return {
        "scheme": "light_exact", "S_ref": S, "S_fine": 2 * S, "agreement": history[-1]["max_rel_diff"],
        "agreement_ok": history[-1]["ok"], "history": history,
        "richardson_vs_fine": rich_diff,
        "p1sq": fine["p1sq"], "purity": fine["purity"],
        "norm_dev_max": fine["norm_dev_max"], "tail1_max": fine["tail1_max"], "tail2_max": fine["tail2_max"],
        "guards_ok": guards_ok, "runs": runs,
    }


def ladder(sys_, tr, scheme: str, counts: list[int], t_max: int, ref: dict, cache: dict,
           confirm_below: int | None = None) -> dict:
    """Climb ``counts`` until the max relative error of both observables is <= TOL.

    ``confirm_below``: after the first pass, also evaluate every higher count below this one
    (runs already made for the reference are reused) to check that they pass too.
    """
    tried, confirm = [], []
    passing = None
    for S in counts:
        if passing is not None and (confirm_below is None or S >= confirm_below):
            break
        run = cache.get((scheme, S))
        if run is not None:  # a complete run at this count exists (the reference runs)
            run = dict(run)
            err = {k: [abs(x - r) / abs(r) for x, r in zip(run[k], ref[k])] for k in OBSERVABLES}
            run["rel_err"] = err
            run["max_rel_err"] = {k: float(max(v)) for k, v in err.items()}
            run["max_rel_err_both"] = float(max(run["max_rel_err"].values()))
            run["failed_at_t"] = next((t for t in range(1, t_max + 1)
                                       if max(err[k][t - 1] for k in OBSERVABLES) > TOL), None)
            run["passes"] = run["failed_at_t"] is None
        else:
            run = run_series(sys_, tr, scheme, S, t_max, ref=ref, tol=TOL)
        status = "pass" if run["passes"] else f"fail at t={run['failed_at_t']}"
        if passing is not None:
            run["check"] = True
            status += " (check of a higher count)"
        _log(f"  {scheme} {S}: {status}, max rel err p1sq {run['max_rel_err']['p1sq']:.2e} "
             f"purity {run['max_rel_err']['purity']:.2e} (over t<={run['kicks_done']}), "
             f"{run['s_per_kick_cpu']:.4g} s/kick cpu, {run['s_per_kick_wall']:.4g} wall, "
             f"run {run['wall_s']:.1f} s")
        if passing is not None:
            confirm.append(run)
            continue
        tried.append(run)
        if run["passes"]:
            passing = run
    return {"scheme": scheme, "ladder": counts, "tried": tried, "passing": passing, "confirm": confirm,
            "higher_counts_all_pass": all(r["passes"] for r in confirm) if confirm else None}


# --------------------------------------------------------------------------- part 3 pieces
def stream_bandwidth(nbytes: float, repeats: int) -> dict:
    """numpy copy / add / two-pass triad on float64 arrays of ``nbytes`` each (STREAM counting)."""
    n = max(1024, int(nbytes // 8))
    a = np.full(n, 1.0)
    b = np.full(n, 2.0)
    c = np.full(n, 0.5)
    reps = repeats if nbytes >= 1e8 else max(repeats, int(2e9 / nbytes))
    best = {"copy": math.inf, "add": math.inf, "triad": math.inf}
    for _ in range(reps):
        t0 = time.perf_counter(); np.copyto(b, a); t1 = time.perf_counter()
        np.add(a, b, out=c); t2 = time.perf_counter()
        np.multiply(b, 3.0, out=c); np.add(c, a, out=c); t3 = time.perf_counter()
        best["copy"] = min(best["copy"], t1 - t0)
        best["add"] = min(best["add"], t2 - t1)
        best["triad"] = min(best["triad"], t3 - t2)
    elem = n * 8
    return {"array_bytes": elem, "repeats": reps,
            "copy_GBs": 2 * elem / best["copy"] / 1e9,
            "add_GBs": 3 * elem / best["add"] / 1e9,
            "triad_GBs": 3 * elem / best["triad"] / 1e9}


def substep_bytes(N1: int, N2: int) -> dict:
    """Nominal bytes moved by one substep of each scheme (see the module docstring)."""
    s = 16 * N1 * N2  # the state, complex128
    light_blocks = 8 * N1 * N2 * N2 + s + 2 * s  # V read, phase read, state read+write
    light_transforms = 2 * (2 * s)  # dst_down + dst_up along x1
    light_mult = 2 * s + 16 * N1  # state read+write, 1-D phase
    strang_transforms = 4 * (2 * s)  # x2 down, x1 down, x1 up, x2 up
    strang_mult = (2 * s + s) * 2  # kinetic (2-D) and full_v (2-D) multiplies
    return {
        "state_bytes": s, "eig_block_bytes": 8 * N1 * N2 * N2,
        "light_exact": {"blocks": light_blocks, "transforms": light_transforms, "multiplies": light_mult,
                        "total": light_blocks + light_transforms + light_mult},
        "strang": {"transforms": strang_transforms, "multiplies": strang_mult,
                   "total": strang_transforms + strang_mult},
    }


def component_times(hbar: float, N1: int, N2: int, workers: int, repeats: int) -> dict:
    """Median time of each piece of a substep, timed on its own (one substep's worth)."""
    from kickedpair.quantum.two_particle import SerialTransforms, make_propagator

    sys_ = make_system(hbar, N1, N2)
    tr = SerialTransforms(N1, N2, workers=workers)
    light = make_propagator(sys_, tr, "light_exact", 40)
    plain = make_propagator(sys_, tr, "strang", 1000)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((N1, N2)) + 1j * rng.standard_normal((N1, N2))
    a /= np.linalg.norm(a)
    box = {"a": a}

    def blocks():
        box["a"] = light.apply_blocks(box["a"])

    def sandwich_1d():
        box["a"] = tr.sandwich_x1(box["a"], light.full_t1)

    def sandwich_2d():
        box["a"] = tr.sandwich_x1(box["a"], plain.kinetic)

    def x2_pair():
        box["a"] = tr.x2_to_grid(tr.x2_to_coeffs(box["a"]))

    def mult():
        box["a"] *= plain.full_v

    mt = 0.05
    out = {
        "light_blocks_s": _median_time(blocks, repeats, mt),
        "light_x1_transforms_s": _median_time(sandwich_1d, repeats, mt),
        "strang_x1_transforms_s": _median_time(sandwich_2d, repeats, mt),
        "strang_x2_transforms_s": _median_time(x2_pair, repeats, mt),
        "strang_multiply_s": _median_time(mult, repeats, mt),
    }
    out["light_sum_s"] = out["light_blocks_s"] + out["light_x1_transforms_s"]
    out["strang_sum_s"] = out["strang_x1_transforms_s"] + out["strang_x2_transforms_s"] + out["strang_multiply_s"]
    return out


def substep_time(hbar: float, N1: int, N2: int, workers: int, scheme: str, substeps: int, kicks: int) -> float:
    """CPU s per substep from ``kicks`` whole periods of ``substeps`` (one untimed period first)."""
    from kickedpair.quantum.two_particle import SerialTransforms, initial_state, make_propagator

    sys_ = make_system(hbar, N1, N2)
    tr = SerialTransforms(N1, N2, workers=workers)
    prop = make_propagator(sys_, tr, scheme, substeps)
    c = prop.period(initial_state(tr))
    ts = []
    for _ in range(kicks):
        t0 = time.process_time()
        c = prop.period(c)
        ts.append(time.process_time() - t0)
    return float(statistics.median(ts)) / substeps


# --------------------------------------------------------------------------- one hbar
def hbar_case(hbar: float, grid_kicks: int | None, why: str, t_max: int, workers: int,
              production_kicks: int, project: bool, ref_start: int | None = None) -> dict:
    from kickedpair.quantum.two_particle import SerialTransforms

    res_run = resolution_for(hbar, grid_kicks or t_max)
    N1, N2 = res_run.N1, res_run.N2
    res_t = resolution_for(hbar, t_max)
    res_prod = resolution_for(hbar, production_kicks)
    _log(f"[hbar={hbar:g}] grid {N1} x {N2} ({why}); t = 1..{t_max}")
    sys_ = make_system(hbar, N1, N2)
    tr = SerialTransforms(N1, N2, workers=workers)
    s_start = ref_start or next(s for s in LIGHT_LADDER if s >= REF_FACTOR * res_t.substeps_light_exact)
    ref = reference(sys_, tr, t_max, s_start, cap=LIGHT_LADDER[-1] * 4)
    cache = {("light_exact", S): run for S, run in ref["runs"].items()}
    _log(f"  reference: {ref['S_ref']} vs {ref['S_fine']} agree to {max(ref['agreement'].values()):.2e} "
         f"({'ok' if ref['agreement_ok'] else 'NOT within ' + format(REF_TOL, 'g')}); guards "
         f"{'ok' if ref['guards_ok'] else 'BROKEN'} (tail1 {ref['tail1_max']:.1e}, tail2 {ref['tail2_max']:.1e})")
    light = ladder(sys_, tr, "light_exact", LIGHT_LADDER, t_max, ref, cache, confirm_below=ref["S_fine"])
    plain = ladder(sys_, tr, "strang", STRANG_LADDER, t_max, ref, cache)
    out = {
        "hbar": hbar, "N1": N1, "N2": N2, "grid_choice": why, "t_max": t_max, "workers": workers,
        "resolution_rule": {
            "n_kicks_t_max": {"N1": res_t.N1, "N2": res_t.N2, "light": res_t.substeps_light_exact,
                              "strang": res_t.substeps_strang},
            f"n_kicks_{production_kicks}": {"N1": res_prod.N1, "N2": res_prod.N2,
                                            "light": res_prod.substeps_light_exact,
                                            "strang": res_prod.substeps_strang},
        },
        "reference": ref, "light_exact": light, "strang": plain,
    }
    lp, pp = light["passing"], plain["passing"]
    if lp and pp:
        out["ratio_cpu"] = pp["s_per_kick_cpu"] / lp["s_per_kick_cpu"]
        out["ratio_wall"] = pp["s_per_kick_wall"] / lp["s_per_kick_wall"]
        out["substep_ratio"] = pp["substeps"] / lp["substeps"]
        out["per_substep_cost_ratio"] = pp["s_per_substep_cpu"] / lp["s_per_substep_cpu"]
        out["target_met"] = out["ratio_cpu"] >= TARGET_RATIO
    _log(f"  components of a substep ...")
    out["components"] = component_times(hbar, N1, N2, workers, repeats=15)
    out["bytes"] = substep_bytes(N1, N2)
    if project and lp and pp and res_prod.N1 != N1:
        _log(f"  per-substep times on the {production_kicks}-kick grid {res_prod.N1} x {res_prod.N2} ...")
        tl = substep_time(hbar, res_prod.N1, res_prod.N2, workers, "light_exact", 40, 3)
        tp = substep_time(hbar, res_prod.N1, res_prod.N2, workers, "strang", 160, 3)
        out["production_projection"] = {
            "N1": res_prod.N1, "N2": res_prod.N2, "light_s_per_substep": tl, "strang_s_per_substep": tp,
            "light_s_per_kick": tl * lp["substeps"], "strang_s_per_kick": tp * pp["substeps"],
            "ratio": tp * pp["substeps"] / (tl * lp["substeps"]),
        }
    return out


# --------------------------------------------------------------------------- part 4
def _child_env() -> dict:
    src = str(HERE.parent / "src")
    return child_env(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                     KICKEDPAIR_THREADS="1",
                     PYTHONPATH=src + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))


def _launch(mpiexec: str, ranks: int, N1: int, N2: int, hbar: float, substeps: int, kicks: int) -> dict:
    cmd = [mpiexec, "-n", str(ranks), sys.executable, str(MPI_HELPER), "--N1", str(N1), "--N2", str(N2),
           "--hbar", repr(hbar), "--substeps", str(substeps), "--kicks", str(kicks)]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(), timeout=600)
    outside = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    out = json.loads(line)
    out["launch_to_exit_s"] = outside
    out["cores_obtained"] = ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / outside
    out["load1_after"] = os.getloadavg()[0]
    return out


def scaling_part(N1: int, N2: int, hbar: float, substeps: int, kicks: int, repeats: int,
                 warm_launch: bool = True) -> dict:
    mpiexec = _tool("mpiexec")
    if mpiexec is None:
        raise RuntimeError("mpiexec not found (install the mpich extra: pip install -e '.[mpich]')")
    _log(f"[slabs] light_exact {N1} x {N2}, hbar={hbar:g}, {substeps} substeps, {kicks} timed kicks, "
         f"{repeats} repeat(s) of 1 and 2 ranks (1 thread each)")
    if warm_launch:
        _launch(mpiexec, 2, N1, N2, hbar, substeps, 1)  # warm-up: numba cache, page cache
    samples: dict[int, list[dict]] = {1: [], 2: []}
    for rep in range(repeats):
        for ranks in (1, 2):
            s = _launch(mpiexec, ranks, N1, N2, hbar, substeps, kicks)
            samples[ranks].append(s)
            _log(f"  {ranks} rank(s), repeat {rep + 1}: {s['s_per_kick_median']:.4g} s/kick wall, "
                 f"{s['cpu_s_per_kick_median']:.4g} cpu (median), cores obtained {s['cores_obtained']:.2f}")
    rows = []
    base = statistics.median(s["s_per_kick_median"] for s in samples[1])
    base_cpu = statistics.median(s["cpu_s_per_kick_median"] for s in samples[1])
    ref = samples[1][0]
    for ranks, ss in samples.items():
        med = statistics.median(s["s_per_kick_median"] for s in ss)
        med_cpu = statistics.median(s["cpu_s_per_kick_median"] for s in ss)
        same = all(abs(s["p1sq"] - ref["p1sq"]) <= 1e-10 * abs(ref["p1sq"])
                   and abs(s["purity"] - ref["purity"]) <= 1e-10 * abs(ref["purity"]) for s in ss)
        rows.append({
            "ranks": ranks, "s_per_kick_median": med,
            "s_per_kick_best": min(s["s_per_kick_min"] for s in ss),
            "s_per_kick_all": [s["s_per_kick_all"] for s in ss],
            "speedup_vs_1": base / med, "efficiency": base / med / ranks,
            "cpu_s_per_kick_median": med_cpu, "cpu_speedup_vs_1": base_cpu / med_cpu,
            "cores_obtained_all": [s["cores_obtained"] for s in ss],
            "load1_after_all": [s["load1_after"] for s in ss],
            "same_result_as_1_rank": same,
            "p1sq": [s["p1sq"] for s in ss], "purity": [s["purity"] for s in ss],
        })
    return {"N1": N1, "N2": N2, "hbar": hbar, "substeps": substeps, "kicks": kicks, "repeats": repeats,
            "t_after": ref["t"], "layouts": rows}


# --------------------------------------------------------------------------- summary
def summary(result: dict) -> str:
    lines = []
    bw = result.get("bandwidth", {})
    cases = result.get("cases", [])
    tm = result["t_max"]
    lines.append(f"== Quantum two-particle benchmark ({PHYSICS_LABEL}); t = 1..{tm}; "
                 f"{result['workers']} thread in-process")
    lines.append("   s/kick 'cpu' = CPU seconds of the (single-threaded) process per kick, robust to other "
                 "load;\n   'wall' = elapsed seconds (inflated whenever the 2 cores are shared). "
                 "Ratios use cpu unless marked wall.")
    lines.append("")
    lines.append(f"-- Part 1: references (light_exact at S and 2S; must agree to <= {REF_TOL:g} relative)")
    rows = []
    for c in cases:
        r = c["reference"]
        rows.append([f"{c['hbar']:g}", f"{c['N1']}x{c['N2']}", f"{r['S_ref']} vs {r['S_fine']}",
                     _fmt(r["agreement"]["p1sq"], ".1e"), _fmt(r["agreement"]["purity"], ".1e"),
                     "yes" if r["agreement_ok"] else "NO",
                     _fmt(max(r["richardson_vs_fine"].values()), ".1e"),
                     _fmt(r["norm_dev_max"], ".1e"), _fmt(r["tail1_max"], ".1e"), _fmt(r["tail2_max"], ".1e"),
                     "ok" if r["guards_ok"] else "BROKEN"])
    lines.append(_table(["hbar", "grid", "S vs 2S", "diff p1sq", "diff purity", "<=1e-5",
                         "|Richardson-2S|", "|norm-1|", "tail1", "tail2", "guards"], rows))
    lines.append("  reference = the 2S run; |Richardson-2S| = max rel. distance of (4 f(2S) - f(S))/3 from it "
                 "(its error estimate).")
    for c in cases:
        rr = c["resolution_rule"]
        prod = next(v for k, v in rr.items() if k != "n_kicks_t_max")
        lines.append(f"  grid hbar={c['hbar']:g}: {c['N1']}x{c['N2']} ({c['grid_choice']}); rule for t<={tm}: "
                     f"{rr['n_kicks_t_max']['N1']}x{rr['n_kicks_t_max']['N2']}, for 500 kicks: "
                     f"{prod['N1']}x{prod['N2']}")
    lines.append("")
    lines.append(f"-- Part 2: substep ladders (max rel. error over t=1..{tm} of <p1^2> and purity vs reference; "
                 f"pass <= {TOL:g})")
    rows = []
    for c in cases:
        for scheme in ("light_exact", "strang"):
            for r in c[scheme]["tried"] + c[scheme].get("confirm", []):
                res = "pass" if r["passes"] else f"fail at t={r['failed_at_t']}"
                rows.append([f"{c['hbar']:g}", scheme, str(r["substeps"]),
                             _fmt(r["max_rel_err"]["p1sq"], ".2e"), _fmt(r["max_rel_err"]["purity"], ".2e"),
                             res + (" (check)" if r.get("check") else ""),
                             _fmt(r["s_per_kick_cpu"], ".4g"), _fmt(r["s_per_kick_wall"], ".4g"),
                             _fmt(r["s_per_substep_cpu"] * 1e3, ".3f")])
    lines.append(_table(["hbar", "scheme", "substeps", "err p1sq", "err purity", "result", "s/kick cpu",
                         "s/kick wall", "ms/substep cpu"], rows))
    lines.append("  a failing run stops at its first t above tolerance; its errors are over the kicks it ran.\n"
                 "  (check) = light_exact counts above the smallest passing one, up to the reference's S, run to "
                 "confirm they pass too\n  (the S-run of the reference is reused); plain Strang stops at its "
                 "first pass (the next count would cost 2x the passing run).")
    lines.append("")
    lines.append(f"-- Equal accuracy (<= {TOL:g}): plain Strang / light_exact, target >= {TARGET_RATIO:g}x "
                 f"(median s/kick of the passing runs)")
    rows = []
    for c in cases:
        lp, pp = c["light_exact"]["passing"], c["strang"]["passing"]
        if not (lp and pp):
            rows.append([f"{c['hbar']:g}", f"{c['N1']}x{c['N2']}"] + ["-"] * 8 + ["no pass"])
            continue
        rows.append([f"{c['hbar']:g}", f"{c['N1']}x{c['N2']}",
                     str(lp["substeps"]), _fmt(lp["s_per_kick_cpu"], ".4g"), _fmt(lp["max_rel_err_both"], ".1e"),
                     str(pp["substeps"]), _fmt(pp["s_per_kick_cpu"], ".4g"), _fmt(pp["max_rel_err_both"], ".1e"),
                     _fmt(c["ratio_cpu"], ".1f") + "x", _fmt(c["ratio_wall"], ".1f") + "x",
                     "MET" if c["target_met"] else f"NOT MET ({c['ratio_cpu'] / TARGET_RATIO:.2f} of it)"])
    lines.append(_table(["hbar", "grid", "light S", "light s/kick", "light err", "plain S", "plain s/kick",
                         "plain err", "ratio", "ratio wall", "target"], rows))
    for c in cases:
        if "ratio_cpu" in c:
            lines.append(f"  hbar={c['hbar']:g}: ratio = {c['substep_ratio']:.1f}x fewer substeps "
                         f"x {c['per_substep_cost_ratio']:.2f} (plain substep time / light substep time)")
        pj = c.get("production_projection")
        if pj:
            lines.append(f"  hbar={c['hbar']:g} on the 500-kick grid {pj['N1']}x{pj['N2']} (measured cpu s/substep "
                         f"x the substeps above): light {pj['light_s_per_kick']:.3g} s/kick, "
                         f"plain {pj['strang_s_per_kick']:.3g} s/kick, ratio {pj['ratio']:.1f}x")
    if bw:
        lines.append("")
        st = bw["stream_200MB"]
        big = bw.get("stream_large")
        lines.append(f"-- Part 3: time per substep vs memory bandwidth (1 thread). numpy, 200 MB arrays: "
                     f"copy {st['copy_GBs']:.1f}, add {st['add_GBs']:.1f}, triad (2-pass) {st['triad_GBs']:.1f} GB/s"
                     + (f"; {big['array_bytes'] / 1e9:.1f} GB arrays: copy {big['copy_GBs']:.1f}, "
                        f"add {big['add_GBs']:.1f} GB/s" if big else ""))
        lines.append(f"   bound B = max(copy, add) at 200 MB = {bw['bound_GBs']:.1f} GB/s "
                     "(STREAM counting: copy 16 B/element, add 24 B/element)")
        rows = []
        for c in cases:
            by = c["bytes"]
            ws = c["working_set_stream"]
            for scheme in ("light_exact", "strang"):
                p = c[scheme]["passing"]
                if not p:
                    continue
                t_sub = p["s_per_substep_cpu"]
                nb = by[scheme]["total"]
                rows.append([f"{c['hbar']:g}", scheme, f"{nb / 1e6:.2f}", f"{t_sub * 1e3:.3f}",
                             f"{nb / bw['bound_GBs'] / 1e9 * 1e3:.3f}", f"{nb / t_sub / 1e9:.1f}",
                             f"{nb / t_sub / 1e9 / bw['bound_GBs']:.2f}",
                             f"{nb / t_sub / 1e9 / ws['copy_GBs']:.2f}"])
        lines.append(_table(["hbar", "scheme", "MB/substep", "ms/substep", "ms at B", "GB/s achieved",
                             "fraction of B", "fraction of cache copy"], rows))
        lines.append("  MB/substep: the state (N1 N2 x 16 B) read + written once per 1-D transform and per multiply,"
                     " multipliers read once;\n  light_exact adds its eigenvector blocks (N1 N2^2 x 8 B) and "
                     "block phases. ms/substep: cpu s/kick of the passing run / substeps.")
        lines.append("  cache copy = numpy copy bandwidth on an array the size of state + blocks (it fits in this "
                     "machine's cache): " +
                     "; ".join(f"hbar={c['hbar']:g}: {c['working_set_stream']['array_bytes'] / 1e6:.1f} MB "
                               f"-> {c['working_set_stream']['copy_GBs']:.1f} GB/s" for c in cases))
        lines.append("  Where a substep's time goes (each piece timed alone, median cpu ms; (GB/s) = nominal "
                     "bytes / time):")
        rows = []
        for c in cases:
            co, by = c["components"], c["bytes"]
            lb = by["light_exact"]
            rows.append([f"{c['hbar']:g}", "light_exact",
                         f"{co['light_x1_transforms_s'] * 1e3:.3f} "
                         f"({(lb['transforms'] + lb['multiplies']) / co['light_x1_transforms_s'] / 1e9:.1f})",
                         f"{co['light_blocks_s'] * 1e3:.3f} ({lb['blocks'] / co['light_blocks_s'] / 1e9:.1f})",
                         f"{co['light_sum_s'] * 1e3:.3f}",
                         f"{co['light_blocks_s'] / co['light_sum_s']:.0%}"])
            sb = by["strang"]
            rows.append([f"{c['hbar']:g}", "strang",
                         f"{co['strang_sum_s'] * 1e3:.3f} ({sb['total'] / co['strang_sum_s'] / 1e9:.1f})",
                         "-", f"{co['strang_sum_s'] * 1e3:.3f}", "-"])
        lines.append(_table(["hbar", "scheme", "transforms+mult ms (GB/s)", "blocks ms (GB/s)",
                             "sum ms", "blocks share"], rows))
        lines.append("  light: x1 DST pair with the 1-D T1 phase + V diag(phase) V^T on every row; "
                     "strang: x1 DST pair with the 2-D T1+T2 phase, x2 DST pair, V_I multiply.")
    sc = result.get("scaling")
    if sc:
        lines.append("")
        lines.append(f"-- Part 4: slab scaling, light_exact {sc['N1']}x{sc['N2']}, hbar={sc['hbar']:g}, "
                     f"{sc['substeps']} substeps, SlabTransforms 1 thread/rank; {sc['kicks']} kicks x "
                     f"{sc['repeats']} launches each, interleaved (median)")
        rows = [[str(r["ranks"]), _fmt(r["s_per_kick_median"], ".4g"), _fmt(r["s_per_kick_best"], ".4g"),
                 _fmt(r["speedup_vs_1"], ".2f"), _fmt(r["efficiency"], ".2f"),
                 _fmt(r["cpu_s_per_kick_median"], ".4g"), _fmt(r["cpu_speedup_vs_1"], ".2f"),
                 _fmt(statistics.median(r["cores_obtained_all"]), ".2f"),
                 "yes" if r["same_result_as_1_rank"] else "NO"] for r in sc["layouts"]]
        lines.append(_table(["ranks", "s/kick wall", "best wall", "speed-up wall", "efficiency",
                             "s/kick cpu (max rank)", "speed-up cpu", "cores obtained",
                             f"same obs. at t={sc['t_after']}"], rows))
        lines.append("  cpu of a rank includes MPICH's busy-wait inside Alltoallv; cores obtained = CPU s of the "
                     "launch / its elapsed s (includes start-up).")
    load = result.get("load_average_1min", {})
    cores = result["host"]["affinity"]
    if load:
        lines.append("")
        lines.append("1-min load average: " + ", ".join(f"{k} {v:.1f}" for k, v in load.items()) +
                     f" ({cores} cores)")
        if max(load.values()) > cores + 0.5:
            lines.append(f"WARNING: the machine was busy: wall times and the 2-rank scaling are perturbed by other "
                         f"processes; cpu-time ratios are from this one run, side by side.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny grids, t <= 3 (well under 60 s)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"JSON output (default {DEFAULT_JSON})")
    ap.add_argument("--workers", type=int, default=1, help="scipy.fft threads in-process (default 1)")
    ap.add_argument("--hbar", type=lambda s: [float(x) for x in s.split(",") if x],
                    help="comma-separated subset of the hbar values to run (default 0.05,0.02)")
    ap.add_argument("--scale-kicks", type=int, help="timed kicks per slab run (default 5; quick 2)")
    ap.add_argument("--repeats", type=int, help="repeats of each slab layout (default 3; quick 1)")
    ap.add_argument("--skip-scaling", action="store_true", help="skip part 4 (no mpiexec)")
    ap.add_argument("--no-projection", action="store_true", help="skip timing the 500-kick grids")
    args = ap.parse_args(argv)

    q = args.quick
    t_max = 3 if q else 20
    production_kicks = 500
    cases_spec = QUICK_CASES if q else FULL_CASES
    if args.hbar:
        cases_spec = [c for c in cases_spec if c[0] in args.hbar]
    scale_kicks = args.scale_kicks or (2 if q else 5)
    repeats = args.repeats or (1 if q else 3)

    from kickedpair import parallel  # noqa: F401  (initialises MPI as a singleton)
    import numba
    import scipy

    start = time.perf_counter()
    result: dict = {
        "benchmark": "quantum_bench", "quick": q,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {"hostname": platform.node(), "python": platform.python_version(),
                 "cpu_count": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                 "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__},
        "physics": {**PHYSICS, "L": "pi"}, "t_max": t_max, "workers": args.workers,
        "tolerance": TOL, "reference_tolerance": REF_TOL, "target_ratio": TARGET_RATIO,
        "ladders": {"light_exact": LIGHT_LADDER, "strang": STRANG_LADDER},
    }
    load = result["load_average_1min"] = {"start": os.getloadavg()[0]}
    phases = result["phase_wall_s"] = {}
    result["warm_up_s"] = warm_up(args.workers)
    t_phase = time.perf_counter()

    _log("[bandwidth] numpy streaming on 200 MB arrays ...")
    bw = {"stream_200MB": stream_bandwidth(200e6, repeats=5 if not q else 3)}
    if not q:
        bw["stream_large"] = stream_bandwidth(1.0e9, repeats=3)
    bw["bound_GBs"] = max(bw["stream_200MB"]["copy_GBs"], bw["stream_200MB"]["add_GBs"])
    _log(f"  copy {bw['stream_200MB']['copy_GBs']:.1f} GB/s, add {bw['stream_200MB']['add_GBs']:.1f} GB/s")
    result["bandwidth"] = bw
    phases["bandwidth"] = time.perf_counter() - t_phase

    cases = []
    for hbar, grid_kicks, why in cases_spec:
        t_phase = time.perf_counter()
        case = hbar_case(hbar, grid_kicks, why, t_max, args.workers, production_kicks,
                         project=not (q or args.no_projection), ref_start=QUICK_REF_START if q else None)
        by = case["bytes"]
        case["working_set_stream"] = stream_bandwidth(by["state_bytes"] + by["eig_block_bytes"], repeats=20)
        cases.append(case)
        phases[f"hbar_{hbar:g}"] = time.perf_counter() - t_phase
        load[f"after_hbar_{hbar:g}"] = os.getloadavg()[0]
        result["cases"] = cases
    result["cases"] = cases

    if not args.skip_scaling:
        c05 = next((c for c in cases if c["hbar"] == 0.05), cases[0] if cases else None)
        if c05 is not None:
            lp = c05["light_exact"]["passing"]
            S = lp["substeps"] if lp else 40
            t_phase = time.perf_counter()
            result["scaling"] = scaling_part(c05["N1"], c05["N2"], c05["hbar"], S, scale_kicks, repeats,
                                             warm_launch=not q)
            phases["scaling"] = time.perf_counter() - t_phase
            load["after_scaling"] = os.getloadavg()[0]
    result["total_time_s"] = time.perf_counter() - start

    text = summary(result)
    print()
    print(text)
    print(f"\ntotal benchmark time {result['total_time_s']:.0f} s (" +
          ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()) + ")")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_jsonable(result), indent=1) + "\n")
    print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
