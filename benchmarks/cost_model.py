"""The quantum cost model against the machine: its prices measured, and its estimates checked.

Run from the repository root, on a quiet machine (one process, one thread)::

    python benchmarks/cost_model.py --measure   # time each term; print the prices for cost.py
    python benchmarks/cost_model.py --check     # >= 8 (scheme, grid) cases: model / measured
    python benchmarks/cost_model.py --check --quick

``--measure`` times, on their own, the terms that :mod:`kickedpair.quantum.cost` prices:
the DST pair along x1 with its phase (``sandwich_x1``) and along x2, per point and log2 of
the transform length; the light-particle-exact blocks per block entry at N2 = 31..255; a
multiply of the state; the set-up (Hamiltonians and ``eigh``) per N1 N2^3; the purity's Gram
product per N1 N2 min(N1, N2) and the other observables per point.  Each price is the median
over the shapes measured (listed with their spread).

``--check`` builds real propagators (the engine's own transforms, the configured FFT
backend) for at least eight (scheme, grid) cases, times whole periods with the observables
of a kick (median of repeats, CPU time of the process) and the set-up, and prints
model / measured for each.  It exits 1 when a ratio lies outside [0.75, 1.33] (the set-up's
too when it takes a second or more).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _one_thread  # noqa: E402,F401  (before numpy: one BLAS thread)

import argparse  # noqa: E402
import math
import statistics
import time

import numpy as np

from _report import table  # noqa: E402

from kickedpair.quantum import basis, cost  # noqa: E402
from kickedpair.quantum.observables import two_particle_observables  # noqa: E402
from kickedpair.quantum.two_particle import (  # noqa: E402
    LightExactPropagator, SerialTransforms, StrangPropagator, TwoParticleSystem, _real_view,
    apply_eig_blocks, particle2_hamiltonians)

BOUNDS = (0.75, 1.33)
#: set-ups shorter than this are reported, not checked (at 0.1 s they are mostly call overheads)
SETUP_CHECKED_S = 1.0


def cpu_median(fn, repeats: int, min_time: float = 0.2) -> float:
    """Median CPU seconds of ``fn()``, after one warm-up call; at least ``repeats`` calls and
    ``min_time`` seconds in all."""
    fn()
    times, spent = [], 0.0
    while len(times) < repeats or spent < min_time:
        t0 = time.process_time()
        fn()
        dt = time.process_time() - t0
        times.append(dt)
        spent += dt
        if len(times) > 200:
            break
    return statistics.median(times)


def system(N1: int, N2: int, hbar: float = 0.05, m: float = 1e-3) -> TwoParticleSystem:
    return TwoParticleSystem(N1=N1, N2=N2, hbar=hbar, mass2=m, K1=1.8, K2=0.0, strength=2.0, a=10.0)


def random_state(N1: int, N2: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((N1, N2)) + 1j * rng.standard_normal((N1, N2))
    return c / np.linalg.norm(c)


def fft_options(fft: str) -> dict:
    """Keyword arguments for the transforms object (only when it takes a backend)."""
    import inspect

    return {"fft": fft} if "fft" in inspect.signature(SerialTransforms).parameters else {}


def measure(quick: bool, fft: str) -> None:
    rows, prices = [], {}
    shapes = [(1023, 31), (4095, 31), (2047, 127), (511, 511)] if not quick else [(255, 31), (127, 63)]

    def note(name, shape, seconds, units):
        price = seconds / units
        prices.setdefault(name, []).append(price)
        rows.append([name, f"{shape[0]}x{shape[1]}", f"{seconds * 1e3:.3f}", f"{price:.3e}"])

    for N1, N2 in shapes:
        tr = SerialTransforms(N1, N2, workers=1, **fft_options(fft))
        c = random_state(N1, N2)
        phase = basis.free_phase(N1, np.pi, 0.05, 1.0, 0.01)[:, None]
        pts = float(N1) * N2
        note("T_X1", (N1, N2), cpu_median(lambda: tr.sandwich_x1(c.copy(), phase), 5),
             pts * math.log2(2 * (N1 + 1)))
        note("T_X2", (N1, N2), cpu_median(lambda: tr.x2_to_coeffs(tr.x2_to_grid(c.copy())), 5),
             pts * math.log2(2 * (N2 + 1)))
        f = np.exp(1j * np.random.default_rng(2).random((N1, N2)))
        g = c.copy()
        note("T_MUL", (N1, N2), cpu_median(lambda: g.__imul__(f), 5), pts)
        note("T_GRAM", (N1, N2), cpu_median(lambda: c.conj().T @ c, 3), pts * min(N1, N2))
        note("T_OBS", (N1, N2), cpu_median(lambda: two_particle_observables(
            c, np.arange(N1) * 0.05, np.arange(N2) * 0.05, 1.0, 1e-3, purity=False), 3), pts)
    block_shapes = [(2047, 31), (1023, 63), (255, 127), (63, 255)] if not quick else [(255, 31), (63, 63)]
    for N1, N2 in block_shapes:
        sys_ = system(N1, N2)
        t0 = time.process_time()
        H = particle2_hamiltonians(sys_, slice(0, N1))
        w, V = np.linalg.eigh(H)
        setup = time.process_time() - t0
        V = np.ascontiguousarray(V)
        phase = np.ascontiguousarray(np.exp(-1j * w * 0.01 / 0.05))
        a = random_state(N1, N2)
        pv, av = _real_view(phase), _real_view(a)
        note(f"block N2={N2}", (N1, N2), cpu_median(lambda: apply_eig_blocks(V, pv, av, 0, N1), 5),
             float(N1) * N2 * N2)
        note(f"eigh N2={N2}", (N1, N2), setup, float(N1) * N2**3)
    # fixed costs of a call: whole periods on a tiny grid at 1 and 41 substeps
    for scheme in ("light_exact", "strang"):
        sys_ = system(15, 15)
        tr = SerialTransforms(15, 15, workers=1, **fft_options(fft))
        c = random_state(15, 15)
        p1, p2 = sys_.p1(), sys_.p2()
        times = {}
        for S in (1, 41):
            prop = LightExactPropagator(sys_, tr, S) if scheme == "light_exact" else StrangPropagator(sys_, tr, S)
            times[S] = cpu_median(lambda: two_particle_observables(prop.period(c), p1, p2, 1.0, 1e-3), 5)
        per_substep = (times[41] - times[1]) / 40
        note(f"OVERHEAD_SUBSTEP {scheme}", (15, 15), per_substep, 1.0)
        note("OVERHEAD_KICK", (15, 15), times[1] - per_substep, 1.0)
    print(table(["term", "shape", "ms", "price (s per unit)"], rows))
    print("\nprices (median over shapes; min..max):")
    for name, values in prices.items():
        print(f"  {name:<14} {statistics.median(values):.3e}   ({min(values):.2e}..{max(values):.2e})")


CASES = [  # (scheme, N1, N2, m, hbar, substeps)
    ("light_exact", 1023, 31, 1e-3, 0.05, 20),
    ("light_exact", 4095, 31, 1e-3, 0.02, 10),
    ("light_exact", 1023, 63, 1e-2, 0.05, 10),
    ("light_exact", 511, 127, 0.1, 0.05, 5),
    ("light_exact", 255, 255, 1.0, 0.1, 4),
    ("strang", 1023, 31, 1e-3, 0.05, 40),
    ("strang", 255, 255, 1.0, 0.1, 20),
    ("strang", 511, 511, 1.0, 0.05, 10),
    ("strang", 1023, 511, 1.0, 0.05, 5),
    ("strang", 2047, 127, 0.1, 0.02, 10),
]
QUICK_CASES = [("light_exact", 255, 31, 1e-3, 0.1, 10), ("strang", 127, 63, 1.0, 0.1, 10)]


def check(quick: bool, fft: str) -> int:
    rows, bad = [], 0
    for scheme, N1, N2, m, hbar, S in (QUICK_CASES if quick else CASES):
        sys_ = system(N1, N2, hbar, m)
        tr = SerialTransforms(N1, N2, workers=1, **fft_options(fft))
        t0 = time.process_time()
        prop = (LightExactPropagator(sys_, tr, S) if scheme == "light_exact" else StrangPropagator(sys_, tr, S))
        setup = time.process_time() - t0
        c = random_state(N1, N2)
        p1, p2 = sys_.p1(), sys_.p2()

        def kick():
            two_particle_observables(prop.period(c), p1, p2, 1.0, m)

        measured = cpu_median(kick, 3, min_time=1.0)
        model = cost.seconds_per_kick(N1, N2, scheme, S)
        ratio = model / measured
        model_setup = cost.setup_seconds(N1, N2, scheme)
        setup_ratio = model_setup / setup if scheme == "light_exact" and setup > 0.05 else math.nan
        ok = BOUNDS[0] <= ratio <= BOUNDS[1]
        if setup >= SETUP_CHECKED_S:  # a set-up that matters to the run's cost is checked too
            ok = ok and BOUNDS[0] <= setup_ratio <= BOUNDS[1]
        bad += not ok
        rows.append([scheme, f"{N1}x{N2}", str(S), f"{measured * 1e3:.1f}", f"{model * 1e3:.1f}",
                     f"{ratio:.2f}", "-" if math.isnan(setup_ratio) else f"{setup:.2f} s, {setup_ratio:.2f}",
                     "ok" if ok else "OUT"])
        print(table(["scheme", "grid", "S", "measured ms/kick", "model ms/kick", "model/measured",
                     "set-up (measured, model/measured)", ""], rows[-1:]), flush=True)
    print()
    print(table(["scheme", "grid", "S", "measured ms/kick", "model ms/kick", "model/measured",
                 "set-up (measured, model/measured)", ""], rows))
    print(f"\n{len(rows) - bad} of {len(rows)} cases within {BOUNDS[0]}..{BOUNDS[1]}")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fft", default="auto", choices=("auto", "scipy", "fftw"))
    args = ap.parse_args(argv)
    if not (args.measure or args.check):
        ap.error("give --measure and/or --check")
    if args.measure:
        measure(args.quick, args.fft)
    return check(args.quick, args.fft) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
