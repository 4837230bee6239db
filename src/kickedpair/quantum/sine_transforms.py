"""The DST-I pair of :mod:`.basis` by scipy or by FFTW, chosen per shape and axis.

FFTW backend
------------
:func:`fftw_dst_up` and :func:`fftw_dst_down` have the signatures and semantics of
:func:`.basis.dst_up` and :func:`.basis.dst_down`: unscaled DST-I, and its exact inverse
scaled by ``1/(2 (N + 1))`` (a power of two when ``N + 1`` is; no rounded constant).  FFTW
refuses RODFT00 on complex arrays, so a C-contiguous complex128 array is transformed as
its float64 view: along axis ``k < ndim - 1`` the ``(..., 2 n_last)`` view along ``k``,
along the last axis the ``(..., n_last, 2)`` view along the same axis (DST-I is real and
linear: the real and imaginary parts transform independently).  float64 arrays are
transformed as they are; any other dtype, and empty arrays, go to scipy.  A non-contiguous
input is first copied to a C-contiguous output.

Plans (``pyfftw.FFTW`` objects) are made once per (shape, strides, axis, threads,
in/out-of-place) on scratch arrays -- planning with :data:`PLANNING_EFFORT` overwrites its
arrays -- with ``FFTW_UNALIGNED``, so that any numpy array can be executed with them (numpy
gives 16-byte alignment, FFTW's SIMD wants 32; measured: the unaligned plan is as fast).

Choice per shape and axis
-------------------------
``fft='auto'`` times both backends the first time a (shape, axis, threads) is asked for:
the up/down pair on scratch arrays of that shape, interleaved, :data:`TIMING_REPEATS`
times after a warm-up, and keeps FFTW only where its median is at least
:data:`FFTW_MARGIN` below scipy's (within the noise scipy is kept: it needs no plan).
:func:`chosen_backends` lists what each (shape, axis, threads) met in the process uses,
with the timings; the quantum result file records it (``/transforms``).

Measured (benchmarks/transforms_bench.py, 2-core machine shared with other jobs, one
thread, docs/numerics.md "Transforms"): along x1 (axis 0) FFTW is 1.2-1.3x faster from
N1 = 2047 on (x 31 or x 127), as fast at 1023 x 31 and 0.85x at 255 x 255; along x2
(axis 1) FFTW_MEASURE is slower (0.6-0.9x).  The transforms are compute-bound: the x1 pair
runs at 2-5 GB/s by either backend against ~25-40 GB/s for a copy of the state.
``FFTW_PATIENT`` plans 2-26 s along x1 for no consistent gain over ``FFTW_MEASURE``
(0.05-0.7 s, 4 s at 16383 x 31), hence :data:`PLANNING_EFFORT`.

Reproducibility and the per-host cache
--------------------------------------
Measured: FFTW's plan for the same problem differs between processes under
``FFTW_MEASURE`` (the planner times candidate algorithms), and so do the last bits of its
results; the 'auto' choice can also fall either way where the two backends are close.  A
run resumed from a checkpoint continues bit for bit only with the same backend and the
same plans, so both are kept in a per-host cache file (FFTW wisdom and the choices, JSON):
read before the process's first plan, merged and rewritten (atomically) after each new one;
a choice already in the file is never replaced.  :func:`cache_path` says where:
``$KICKEDPAIR_FFT_CACHE`` if set (empty or ``none``: no file, choices and plans live and die
with the process), else ``$XDG_CACHE_HOME/kickedpair/fft-<host>.json`` (default
``~/.cache``).  A cache that cannot be read or written is ignored.  On a new host, or with
no cache, a resumed run agrees with the uninterrupted one to rounding (~1e-15), not bitwise.
Under MPI, :func:`agree_on_root` lets rank 0 plan and choose for every rank's shapes and
hands its wisdom and choices to the others, so all ranks use rank 0's decisions.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import statistics
import time
import weakref
from pathlib import Path

import numpy as np
import scipy.fft

from . import basis

__all__ = [
    "PLANNING_EFFORT",
    "BACKENDS",
    "fftw_dst_up",
    "fftw_dst_down",
    "AxisTransform",
    "choose_backend",
    "chosen_backends",
    "agree_on_root",
    "release_plans",
    "cache_path",
    "export_state",
    "import_state",
]

#: FFTW planner effort of every new plan (see docs/numerics.md, "Transforms", for the
#: measured planning cost and speed of FFTW_MEASURE against FFTW_PATIENT); a program may set
#: it before its first transform (benchmarks/transforms_bench.py does)
PLANNING_EFFORT = "FFTW_MEASURE"
#: the backends a transform can use
BACKENDS = ("scipy", "fftw")
#: timed repetitions of each backend's up/down pair when 'auto' chooses (after a warm-up)
TIMING_REPEATS = 7
#: FFTW is chosen only when its median time is at least this fraction below scipy's
FFTW_MARGIN = 0.05

_PLANS: dict[tuple, object] = {}
_KNOWN: dict[str, dict] = {}  # the 'auto' choices: timed here, or from the cache or MPI rank 0
_MET: dict[str, dict] = {}  # what each key met in this process used
_CACHE_LOADED = False


def _threads(workers: int | None) -> int:
    """scipy's ``workers`` as a thread count (None: 1; negative: counted back from the cores)."""
    if workers is None:
        return 1
    if workers < 0:
        return max(1, (os.cpu_count() or 1) + 1 + workers)
    return max(1, int(workers))


def _real_problem(a: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """The float64 array FFTW transforms for C-contiguous ``a`` (a view, no copy)."""
    if a.dtype == np.float64:
        return a, axis
    r = a.view(np.float64)
    if axis == a.ndim - 1:
        r = r.reshape(a.shape + (2,))
    return r, axis


def _plan(real_shape: tuple, real_strides: tuple, axis: int, threads: int, inplace: bool):
    """The cached FFTW RODFT00 plan for float64 arrays of this shape and these strides."""
    key = (real_shape, real_strides, axis, threads, inplace, PLANNING_EFFORT)
    plan = _PLANS.get(key)
    if plan is None:
        import pyfftw

        _load_cache()
        # C order, as every source; zeros, not garbage: denormals would skew the planner's timings
        scratch = [np.zeros(real_shape) for _ in range(1 if inplace else 2)]
        plan = pyfftw.FFTW(scratch[0], scratch[-1], axes=(axis,), direction="FFTW_RODFT00",
                           flags=(PLANNING_EFFORT, "FFTW_UNALIGNED"), threads=threads)
        _PLANS[key] = plan
        _save_cache()
    return plan


def release_plans() -> None:
    """Drop the cached FFTW plans.  A plan holds the arrays of its last call, so a propagator
    that is done with (the pilot's, a convergence variant's) would otherwise stay in memory
    beside the next one's arrays.  FFTW keeps the plans' wisdom: planning them again is quick."""
    _PLANS.clear()


def _execute(src: np.ndarray, out: np.ndarray, axis: int, threads: int) -> None:
    """Unscaled DST-I of C-contiguous ``src`` into ``out`` (the same array or another)."""
    r_src, raxis = _real_problem(src, axis)
    r_out = r_src if out is src else _real_problem(out, axis)[0]
    plan = _plan(r_src.shape, r_src.strides, raxis, threads, out is src)
    plan.update_arrays(r_src, r_out)
    plan.execute()


def _fftw_unscaled(a, axis: int, workers: int | None, overwrite_x: bool) -> np.ndarray | None:
    """Unscaled DST-I by FFTW, or None where the FFTW path does not apply."""
    a = np.asarray(a)
    if a.dtype not in (np.float64, np.complex128) or a.size == 0 or a.ndim == 0:
        return None
    axis = axis % a.ndim
    if overwrite_x and a.flags.c_contiguous and a.flags.writeable:
        src = out = a
    elif a.flags.c_contiguous:
        src, out = a, np.empty(a.shape, dtype=a.dtype)
    else:
        src = out = np.ascontiguousarray(a)  # a copy
    _execute(src, out, axis, _threads(workers))
    return out


def _scale(out: np.ndarray, axis: int) -> None:
    """``out *= 1/(2 (N + 1))`` on the float64 view (half the multiplications of complex)."""
    real = out.view(np.float64)  # out is C-contiguous
    real *= 1.0 / (2 * (out.shape[axis] + 1))


def fftw_dst_up(a: np.ndarray, axis: int = -1, workers: int | None = None, overwrite_x: bool = False) -> np.ndarray:
    """:func:`.basis.dst_up` by FFTW (unscaled DST-I; scipy for dtypes FFTW is not used for)."""
    out = _fftw_unscaled(a, axis, workers, overwrite_x)
    return basis.dst_up(a, axis=axis, workers=workers, overwrite_x=overwrite_x) if out is None else out


def fftw_dst_down(a: np.ndarray, axis: int = -1, workers: int | None = None, overwrite_x: bool = False) -> np.ndarray:
    """:func:`.basis.dst_down` by FFTW: the unscaled DST-I times ``1/(2 (N + 1))``."""
    out = _fftw_unscaled(a, axis, workers, overwrite_x)
    if out is None:
        return basis.dst_down(a, axis=axis, workers=workers, overwrite_x=overwrite_x)
    _scale(out, axis % out.ndim)
    return out


# --------------------------------------------------------------------------- the choice
def _key(shape, axis: int, threads: int) -> str:
    return f"{'x'.join(str(n) for n in shape)} axis {axis} threads {threads}"


def _time_pairs(shape: tuple, axis: int, workers: int | None) -> tuple[float, float]:
    """Median seconds of the up/down pair by scipy and by FFTW, interleaved, on scratch data."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    pairs = {
        "scipy": lambda y: basis.dst_down(basis.dst_up(y, axis, workers, True), axis, workers, True),
        "fftw": lambda y: fftw_dst_down(fftw_dst_up(y, axis, workers, True), axis, workers, True),
    }
    # CPU time for one thread: on a shared machine the wall clock includes waits for a core
    clock = time.process_time if _threads(workers) == 1 else time.perf_counter
    times = {name: [] for name in pairs}
    for repeat in range(TIMING_REPEATS + 1):
        for name, pair in pairs.items():
            y = x.copy()
            start = clock()
            pair(y)
            if repeat:  # the first round warms up (and plans)
                times[name].append(clock() - start)
    return statistics.median(times["scipy"]), statistics.median(times["fftw"])


def choose_backend(shape, axis: int, workers: int | None = None, fft: str = "auto") -> str:
    """'scipy' or 'fftw' for complex128 arrays of ``shape`` along ``axis`` (recorded)."""
    shape, axis, threads = tuple(int(n) for n in shape), axis % len(shape), _threads(workers)
    if fft not in ("auto",) + BACKENDS:
        raise ValueError(f"fft must be 'auto', 'scipy' or 'fftw', got {fft!r}")
    if 0 in shape:
        return "scipy"
    key = _key(shape, axis, threads)
    if fft != "auto":
        _MET[key] = {"backend": fft, "how": "asked"}
        return fft
    _load_cache()
    found = _KNOWN.get(key)
    if found is None:
        plan_start = time.perf_counter()
        scratch = np.zeros(shape, dtype=np.complex128)
        _execute(scratch, scratch, axis, threads)
        plan_s = time.perf_counter() - plan_start
        scipy_s, fftw_s = _time_pairs(shape, axis, workers)
        backend = "fftw" if fftw_s <= (1.0 - FFTW_MARGIN) * scipy_s else "scipy"
        release_plans()  # the timing's scratch arrays
        found = {"backend": backend, "how": "timed", "scipy_s": scipy_s, "fftw_s": fftw_s, "plan_s": plan_s}
        _KNOWN[key] = found
        _save_cache()
    _MET[key] = found
    return found["backend"]


def chosen_backends() -> dict[str, dict]:
    """The backend of each (shape, axis, threads) met in this process: ``{key: {backend, how, ...}}``.

    ``how``: 'timed' ('auto' chose here: ``scipy_s``, ``fftw_s`` are the medians of the up/down
    pair, ``plan_s`` the FFTW planning time), 'cached' ('auto' found the choice in the per-host
    cache or got it from MPI rank 0) or 'asked' (``fft`` named the backend).
    """
    return {key: dict(value) for key, value in _MET.items()}


class AxisTransform:
    """The DST-I pair along ``axis`` of complex128 arrays of ``shape``, by the chosen backend.

    Methods transform in place where the layout allows (always use the returned array).
    ``phase`` arrays given to :meth:`sandwich` are taken as constants: with FFTW the
    ``1/(2 (N + 1))`` of the down transform is folded into a cached copy of each phase array
    (exact when ``N + 1`` is a power of two), which saves one pass over the state.
    """

    def __init__(self, shape, axis: int, workers: int | None = None, fft: str = "auto"):
        self.shape, self.axis, self.workers = tuple(int(n) for n in shape), axis % len(shape), workers
        self.backend = choose_backend(self.shape, self.axis, workers, fft)
        self.down_factor = 1.0 / (2 * (self.shape[self.axis] + 1))
        self._threads = _threads(workers)
        self._scaled_phases: dict[int, tuple] = {}

    def up(self, a: np.ndarray) -> np.ndarray:
        if self.backend == "fftw":
            return fftw_dst_up(a, self.axis, self.workers, overwrite_x=True)
        return basis.dst_up(a, axis=self.axis, workers=self.workers, overwrite_x=True)

    def down(self, a: np.ndarray) -> np.ndarray:
        if self.backend == "fftw":
            return fftw_dst_down(a, self.axis, self.workers, overwrite_x=True)
        return basis.dst_down(a, axis=self.axis, workers=self.workers, overwrite_x=True)

    def _scaled(self, phase: np.ndarray) -> np.ndarray:
        """``phase / (2 (N + 1))``, computed once per phase array and held while that array
        lives (a weak reference: the copies of a propagator that is done with go with it)."""
        key = id(phase)
        hit = self._scaled_phases.get(key)
        if hit is None or hit[0]() is not phase:
            if len(self._scaled_phases) >= 8:
                self._scaled_phases.clear()
            cache = self._scaled_phases

            def forget(ref, key=key):
                if cache.get(key, (None,))[0] is ref:
                    del cache[key]

            hit = cache[key] = (weakref.ref(phase, forget), np.asarray(phase) * self.down_factor)
        return hit[1]

    def sandwich(self, a: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """``up(phase * down(a))``, in place for a C-contiguous complex128 ``a``."""
        if (self.backend == "fftw" and a.dtype == np.complex128 and a.size
                and a.flags.c_contiguous and a.flags.writeable):
            _execute(a, a, self.axis, self._threads)
            a *= self._scaled(phase)
            _execute(a, a, self.axis, self._threads)
            return a
        b = self.down(a)
        b *= phase
        return self.up(b)


# --------------------------------------------------------------------------- cache, MPI
def cache_path() -> Path | None:
    """The per-host cache file of FFTW wisdom and 'auto' choices (None: no file)."""
    env = os.environ.get("KICKEDPAIR_FFT_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "none") else Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kickedpair" / f"fft-{socket.gethostname()}.json"


def export_state() -> dict:
    """FFTW wisdom (base64) and the 'auto' choices this process knows, as plain JSON-able data."""
    import pyfftw

    return {"wisdom": [base64.b64encode(w).decode("ascii") for w in pyfftw.export_wisdom()],
            "effort": PLANNING_EFFORT, "choices": {key: dict(value) for key, value in _KNOWN.items()}}


def import_state(state: dict) -> None:
    """Adopt the wisdom and choices of :func:`export_state` (choices already made here stay)."""
    import pyfftw

    wisdom = state.get("wisdom") or []
    if len(wisdom) == 3:
        pyfftw.import_wisdom(tuple(base64.b64decode(w) for w in wisdom))
    for key, value in (state.get("choices") or {}).items():
        if key not in _KNOWN and value.get("backend") in BACKENDS:
            _KNOWN[key] = {**value, "how": "cached"}


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _load_cache() -> None:
    global _CACHE_LOADED
    if _CACHE_LOADED:
        return
    _CACHE_LOADED = True
    path = cache_path()
    if path is not None:
        state = _read_cache(path)
        if state.get("effort") == PLANNING_EFFORT:
            import_state(state)


def _save_cache() -> None:
    path = cache_path()
    if path is None:
        return
    from ..io import write_bytes_atomic

    on_disk = _read_cache(path)
    if on_disk.get("effort") != PLANNING_EFFORT:
        on_disk = {}  # another effort's file is replaced
    import_state(on_disk)  # another process's plans and choices are kept too
    state = export_state()
    state["choices"].update(on_disk.get("choices") or {})  # a choice in the file stays
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(state, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a cache that cannot be written costs planning time, nothing else


def agree_on_root(comm, cases, workers: int | None = None, fft: str = "auto") -> None:
    """Rank 0 plans and chooses for every ``(shape, axis)`` in ``cases``; the others adopt.

    Collective.  Afterwards :class:`AxisTransform` on any rank finds rank 0's choice and
    plans from rank 0's wisdom (the same plan, the same rounding on every rank).
    """
    _load_cache()
    state = None
    if comm.rank == 0:
        for shape, axis in cases:
            backend = choose_backend(shape, axis, workers, fft)
            if backend == "fftw":
                scratch = np.zeros(tuple(shape), dtype=np.complex128)
                _execute(scratch, scratch, axis % len(shape), _threads(workers))
        state = export_state()
    state = comm.bcast(state, root=0)
    if comm.rank != 0:
        import_state(state)
