"""Sine transforms: scipy against FFTW per shape, axis and thread count; the sandwich_x1 pair.

Run from the repository root::

    python benchmarks/transforms_bench.py --threads 1    # five shapes, one thread: ~70 s
    python benchmarks/transforms_bench.py --quick        # two shapes, one thread, under 30 s
    python benchmarks/transforms_bench.py                # 1 and 2 threads (see below)

Two-thread planning is slow on a loaded machine (FFTW's OpenMP threads time every candidate
plan; measured at load 6-8 on 2 cores: 20 s for one FFTW_MEASURE plan, over 2 minutes with
FFTW_PATIENT); ``--efforts FFTW_MEASURE`` leaves PATIENT out.

Part 1 -- the up/down pair along each axis (what a substep pays per axis: :func:`basis.dst_up`
then :func:`basis.dst_down`, in place) on complex128 ``N1 x N2`` arrays, by scipy and by FFTW
(:mod:`kickedpair.quantum.sine_transforms`, complex viewed as real pairs, RODFT00) planned with
``FFTW_MEASURE`` and with ``FFTW_PATIENT``, at 1 and 2 threads (scipy ``workers``).  The three
are timed side by side, in rotating order, ``--repeats`` times; medians and the ratios
scipy / FFTW (> 1: FFTW faster).  One thread: CPU time of the process (on a shared 2-core
machine the wall time includes waits for a core); two threads: wall time.  Planning time: the first FFTW call after
``pyfftw.forget_wisdom()`` (a fresh process) minus a later call.

Part 2 -- ``sandwich_x1``: to coefficients along axis 0, times a phase ``(N1, 1)`` (what
light_exact passes), back to the grid.  "before" is the code SerialTransforms had (scipy's
``dst_down``, ``*=``, ``dst_up``), "after" :meth:`AxisTransform.sandwich` with FFTW (in
place on the real view, the ``1/(2 (N1 + 1))`` folded into the phase).  Bandwidth counts one
read and one write of the state per transform and per multiply plus the phase read once
(the counting of benchmarks/quantum_bench.py), beside a plain copy of the state.

Part 3 -- what ``fft='auto'`` chooses for each shape and axis (one thread, the module's
``PLANNING_EFFORT``), with its own timings.

Timings on a shared 2-core machine are noisy: compare the ratios, which are measured side by
side.  A table goes to stdout and all numbers to ``--json`` (default
benchmarks/results/transforms_bench.json).
"""

from __future__ import annotations

import os

os.environ["KICKEDPAIR_FFT_CACHE"] = "none"  # plan afresh here: the planning time is measured

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyfftw  # noqa: E402
import scipy  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _report import fmt, jsonable, table  # noqa: E402

from kickedpair.quantum import basis, sine_transforms  # noqa: E402
from kickedpair.quantum.sine_transforms import AxisTransform, fftw_dst_down, fftw_dst_up  # noqa: E402

DEFAULT_JSON = HERE / "results" / "transforms_bench.json"
SHAPES = [(1023, 31), (4095, 31), (2047, 127), (255, 255), (16383, 31)]
QUICK_SHAPES = [(1023, 31), (255, 255)]
EFFORTS = ("FFTW_MEASURE", "FFTW_PATIENT")


def _state(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _interleaved(variants: dict, x: np.ndarray, repeats: int, clock) -> dict[str, float]:
    """Median seconds of each ``variant(y)`` on fresh copies ``y`` of ``x``, in rotating order."""
    names = list(variants)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            y = x.copy()
            start = clock()
            variants[name](y)
            times[name].append(clock() - start)
    return {name: statistics.median(v) for name, v in times.items()}


def _clock(threads: int):
    """The process's CPU time for one thread (a shared machine's waits for a core left out), the
    wall clock for more (CPU time would add the threads' work up)."""
    return time.process_time if threads == 1 else time.perf_counter


def _with_effort(effort, fn):
    def run(y):
        sine_transforms.PLANNING_EFFORT = effort
        return fn(y)
    return run


def _first_call(effort, fn, x) -> float:
    """Seconds of the first call of ``fn`` with ``effort`` after FFTW forgot its wisdom."""
    pyfftw.forget_wisdom()
    sine_transforms.PLANNING_EFFORT = effort
    y = x.copy()
    start = time.perf_counter()
    fn(y)
    return time.perf_counter() - start


def _tag(effort: str) -> str:
    return effort.split("_")[1].lower()


def pair_case(shape, axis, threads, repeats, efforts=EFFORTS) -> dict:
    x = _state(shape)

    def scipy_pair(y):
        return basis.dst_down(basis.dst_up(y, axis, threads, True), axis, threads, True)

    def fftw_pair(y):
        return fftw_dst_down(fftw_dst_up(y, axis, threads, True), axis, threads, True)

    first = {effort: _first_call(effort, fftw_pair, x) for effort in efforts}
    variants = {"scipy": scipy_pair, **{effort: _with_effort(effort, fftw_pair) for effort in efforts}}
    med = _interleaved(variants, x, repeats, _clock(threads))
    out = {"shape": list(shape), "axis": axis, "threads": threads, "scipy_s": med["scipy"]}
    for effort in efforts:
        tag = _tag(effort)
        out[f"fftw_{tag}_s"] = med[effort]
        out[f"ratio_{tag}"] = med["scipy"] / med[effort]
        out[f"plan_{tag}_s"] = max(0.0, first[effort] - 2 * med[effort])  # two plans: up and down share one
    return out


def sandwich_case(shape, threads, repeats, efforts=EFFORTS) -> dict:
    x = _state(shape, 1)
    N1 = shape[0]
    phase = np.exp(-1j * np.linspace(0.0, 3.0, N1))[:, None]
    fftw_axis = AxisTransform(shape, 0, threads, fft="fftw")

    def before(y):
        b = basis.dst_down(y, axis=0, workers=threads, overwrite_x=True)
        b *= phase
        return basis.dst_up(b, axis=0, workers=threads, overwrite_x=True)

    copy_target = np.empty_like(x)
    variants = {
        "before (scipy)": before,
        **{f"after ({effort})": _with_effort(effort, lambda y: fftw_axis.sandwich(y, phase)) for effort in efforts},
        "copy": lambda y: np.copyto(copy_target, y),
    }
    for effort in efforts:  # plan outside the timings
        variants[f"after ({effort})"](x.copy())
    med = _interleaved(variants, x, repeats, _clock(threads))
    nbytes = 6 * x.nbytes + phase.nbytes
    out = {"shape": list(shape), "threads": threads, "bytes": nbytes}
    for name, seconds in med.items():
        moved = 2 * x.nbytes if name == "copy" else nbytes
        out[name] = {"s": seconds, "GB_s": moved / seconds / 1e9}
    return out


def auto_case(shape, axis) -> dict:
    sine_transforms.PLANNING_EFFORT = "FFTW_MEASURE"
    backend = sine_transforms.choose_backend(shape, axis, 1, "auto")
    rec = sine_transforms.chosen_backends()[f"{shape[0]}x{shape[1]} axis {axis} threads 1"]
    return {"shape": list(shape), "axis": axis, **rec, "backend": backend}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1023x31 and 255x255, one thread (under 30 s)")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 15, quick 7)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"JSON output (default {DEFAULT_JSON})")
    ap.add_argument("--threads", default=None, help="thread counts, comma-separated (default 1,2; quick 1)")
    ap.add_argument("--shapes", default=None, help="N1xN2 shapes, comma-separated (default the five above)")
    ap.add_argument("--efforts", default=",".join(EFFORTS),
                    help=f"FFTW planner efforts, comma-separated (default {','.join(EFFORTS)})")
    args = ap.parse_args(argv)
    efforts = tuple(args.efforts.split(","))
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shapes:
        shapes = [tuple(int(n) for n in s.split("x")) for s in args.shapes.split(",")]
    thread_counts = (1,) if args.quick else (1, 2)
    if args.threads:
        thread_counts = tuple(int(n) for n in args.threads.split(","))
    repeats = args.repeats or (7 if args.quick else 15)
    clock = time.perf_counter()

    pairs = []
    for s in shapes:
        for axis in (0, 1):
            for th in thread_counts:
                pairs.append(pair_case(s, axis, th, repeats, efforts))
                print(f"  [{time.perf_counter() - clock:6.1f} s] pair {s[0]}x{s[1]} axis {axis} threads {th}",
                      file=sys.stderr, flush=True)
    print("Part 1: up/down pair along one axis, complex128, median ms (ratio scipy/FFTW: > 1 FFTW faster)")
    tags = [_tag(e) for e in efforts]
    print(table(["N1 x N2", "axis", "thr", "scipy"] + [h for t in tags for h in (t.upper(), "ratio", "plan s")],
                [[f"{p['shape'][0]}x{p['shape'][1]}", str(p["axis"]), str(p["threads"]), fmt(1e3 * p["scipy_s"], ".3f")]
                 + [c for t in tags for c in (fmt(1e3 * p[f"fftw_{t}_s"], ".3f"), fmt(p[f"ratio_{t}"], ".2f"),
                                              fmt(p[f"plan_{t}_s"], ".2f"))]
                 for p in pairs]))

    sandwiches = [sandwich_case(s, th, repeats, efforts) for s in shapes for th in thread_counts]
    names = ["before (scipy)"] + [f"after ({effort})" for effort in efforts]
    print("\nPart 2: sandwich_x1 (down along axis 0, * phase (N1, 1), up), ms and GB/s (6 state passes + phase)")
    print(table(["N1 x N2", "thr"] + [n for name in names for n in (name, "GB/s")] + ["copy GB/s", "after/before"],
                [[f"{w['shape'][0]}x{w['shape'][1]}", str(w["threads"])]
                 + [c for name in names for c in (fmt(1e3 * w[name]["s"], ".3f"), fmt(w[name]["GB_s"], ".2f"))]
                 + [fmt(w["copy"]["GB_s"], ".1f"),
                    fmt(w["before (scipy)"]["s"] / min(w[n]["s"] for n in names[1:]), ".2f")]
                 for w in sandwiches]))

    autos = [auto_case(s, axis) for s in shapes for axis in (0, 1)]
    print(f"\nPart 3: fft='auto' (1 thread, {sine_transforms.PLANNING_EFFORT}, FFTW kept when >= "
          f"{100 * sine_transforms.FFTW_MARGIN:.0f}% faster)")
    print(table(["N1 x N2", "axis", "scipy ms", "FFTW ms", "plan s", "chosen"],
                [[f"{a['shape'][0]}x{a['shape'][1]}", str(a["axis"]), fmt(1e3 * a["scipy_s"], ".3f"),
                  fmt(1e3 * a["fftw_s"], ".3f"), fmt(a["plan_s"], ".2f"), a["backend"]] for a in autos]))
    took = time.perf_counter() - clock
    print(f"\n{took:.1f} s in all")

    result = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
        "machine": platform.machine(), "cpus": os.cpu_count(), "numpy": np.__version__,
        "scipy": scipy.__version__, "pyfftw": pyfftw.__version__, "quick": args.quick, "repeats": repeats,
        "pairs": pairs, "sandwich": sandwiches, "auto": autos, "seconds": took,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(jsonable(result), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
