"""Two-particle propagators on an ``N1 x N2`` state (MODEL.md section 3).

State layout
------------
The state is a 2-D complex array, axis 0 = particle 1, axis 1 = particle 2, stored between
periods as sine coefficients ``c[n1 - 1, n2 - 1]``.  Each axis is independently either in
the sine basis or on the grid (see :mod:`.basis` for the scaling), so intermediate stages
use mixed forms, e.g. ``(x1 grid, n2 sine)``.

Every function works on the *local slab* ``rows = [row_start, row_stop)`` of axis 0 (all of
axis 1 is local) and reaches transforms along axis 0 only through a *transforms object*:

* ``N1, N2, row_start, row_stop`` -- the global sizes and the local rows of axis 0;
* ``col_start, col_stop`` -- the local columns of axis 1 in the transposed (column) layout;
* ``x2_to_grid(a)``, ``x2_to_coeffs(a)`` -- along axis 1 (always local);
* ``x1_to_grid(a)``, ``x1_to_coeffs(a)`` -- along axis 0 (serial: local; MPI: transpose,
  transform, transpose back);
* ``sandwich_x1(a, phase)`` -- ``a`` on the x1 grid: to coefficients, times ``phase``
  (broadcastable to the column layout ``(N1, col_stop - col_start)``), back to the grid
  (one transpose pair under MPI);
* ``allreduce(v)`` -- sum of a partial-sum array over ranks (serial: identity).

``*_to_grid`` is :func:`basis.dst_up` and ``*_to_coeffs`` :func:`basis.dst_down`: grid values
inside a period carry a constant factor ``sqrt(2 (N + 1))`` per axis (no rounded
normalisation constant, hence no systematic norm drift; see :mod:`.basis`).

:class:`SerialTransforms` is the one-process version; :mod:`.slab` provides the MPI one.
Transform methods may overwrite their argument: always use the returned array.

Propagators (each ``period(c)`` = kick, then evolution over one unit time; returns the new
coefficients and leaves ``c`` untouched):

* :class:`StrangPropagator` -- plain Strang with ``S`` substeps: half ``V_I`` on the grid,
  ``T1 + T2`` in the sine basis, half ``V_I`` (adjacent half steps merged).
* :class:`LightExactPropagator` -- ``H = T1 + H2(x1)``, ``H2(x1_j) = T2 + V_I(x1_j, .)`` an
  ``N2 x N2`` matrix in particle 2's sine basis, diagonalised once per grid row: a substep
  is half ``T1``, exact ``exp(-i H2(x1_j) dt / hbar)`` on each row, half ``T1``.  Particle 2's
  fast motion is exact, so the substeps only resolve particle 1's motion through the
  interaction.  The row products need no communication across ``x1`` slabs.
* :class:`FreePropagator` -- ``eps = 0``: the product of the two exact one-particle maps.

Both splittings approximate the same discrete Hamiltonian (``V_I`` diagonal on the grid,
``T_j`` diagonal in the sine basis) and converge to the same limit, at second order in
``dt = 1/S`` -- or at fourth order with ``order=4``, a symmetric composition of the same
second-order step (:func:`splitting_stages`): measured at 63 x 15, hbar = 0.15, m = 0.05,
3 kicks, the state error falls 15.6x per halving of ``dt`` (order 3.96, triple jump,
light_exact 80 -> 320 substeps; plain Strang 3.8-3.9 over 160 -> 640) and the two schemes'
4th-order limits agree to 1e-9 (tests/quantum/test_splitting_order.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import basis
from .sine_transforms import AxisTransform

__all__ = [
    "TwoParticleSystem",
    "SerialTransforms",
    "initial_state",
    "kick_factor",
    "interaction_grid",
    "StrangPropagator",
    "LightExactPropagator",
    "FreePropagator",
    "make_propagator",
    "splitting_stages",
    "evolve",
    "apply_eig_blocks",
    "apply_dense_blocks",
]


@dataclass(frozen=True)
class TwoParticleSystem:
    """Everything the propagators need: sizes, ``hbar``, masses, kicks, interaction.

    The interaction is ``V_I(x1, x2) = strength * exp(-a (x1 - x2)^2)``.
    """

    N1: int
    N2: int
    hbar: float
    mass2: float
    K1: float
    K2: float
    strength: float
    a: float
    L: float = math.pi
    mass1: float = 1.0

    @classmethod
    def from_physics(cls, physics, N1: int, N2: int) -> "TwoParticleSystem":
        """From a :class:`kickedpair.params.Physics` (``hbar`` must be set)."""
        if physics.hbar is None:
            raise ValueError("physics.hbar must be set for a quantum run")
        return cls(
            N1=int(N1),
            N2=int(N2),
            hbar=float(physics.hbar),
            mass2=float(physics.mass_ratio),
            K1=float(physics.K1),
            K2=float(physics.K2),
            strength=float(physics.interaction_strength),
            a=float(physics.interaction_exponent),
            L=float(physics.L),
        )

    def x1(self) -> np.ndarray:
        return basis.grid(self.N1, self.L)

    def x2(self) -> np.ndarray:
        return basis.grid(self.N2, self.L)

    def p1(self) -> np.ndarray:
        return basis.momenta(self.N1, self.L, self.hbar)

    def p2(self) -> np.ndarray:
        return basis.momenta(self.N2, self.L, self.hbar)


class SerialTransforms:
    """The transforms object of a single process (the whole state is the local slab)."""

    def __init__(self, N1: int, N2: int, workers: int | None = None, fft: str = "auto"):
        self.N1, self.N2 = int(N1), int(N2)
        self.row_start, self.row_stop = 0, self.N1
        self.col_start, self.col_stop = 0, self.N2
        self.workers = workers
        # fft: 'scipy', 'fftw' or 'auto' (the faster, per axis; see sine_transforms)
        self.x1_transform = AxisTransform((self.N1, self.N2), 0, workers, fft)
        self.x2_transform = AxisTransform((self.N1, self.N2), 1, workers, fft)

    def x2_to_grid(self, a: np.ndarray) -> np.ndarray:
        return self.x2_transform.up(a)

    def x2_to_coeffs(self, a: np.ndarray) -> np.ndarray:
        return self.x2_transform.down(a)

    def x1_to_grid(self, a: np.ndarray) -> np.ndarray:
        return self.x1_transform.up(a)

    def x1_to_coeffs(self, a: np.ndarray) -> np.ndarray:
        return self.x1_transform.down(a)

    def sandwich_x1(self, a: np.ndarray, phase: np.ndarray) -> np.ndarray:
        return self.x1_transform.sandwich(a, phase)

    def allreduce(self, v: np.ndarray) -> np.ndarray:
        return v


def initial_state(tr) -> np.ndarray:
    """Local slab of the product of ground states, ``c[1, 1] = 1``."""
    c = np.zeros((tr.row_stop - tr.row_start, tr.N2), dtype=np.complex128)
    if tr.row_start == 0 and tr.row_stop > 0:
        c[0, 0] = 1.0
    return c


def _rows(sys: TwoParticleSystem, tr) -> slice:
    if (tr.N1, tr.N2) != (sys.N1, sys.N2):
        raise ValueError(f"transforms are for {tr.N1} x {tr.N2}, system is {sys.N1} x {sys.N2}")
    return slice(tr.row_start, tr.row_stop)


def kick_factor(sys: TwoParticleSystem, rows: slice) -> np.ndarray:
    """``exp(-i (K1 cos x1 + K2 cos x2) / hbar)`` on the local grid rows."""
    k1 = np.exp(-1j * (sys.K1 / sys.hbar) * np.cos(sys.x1()[rows]))
    k2 = np.exp(-1j * (sys.K2 / sys.hbar) * np.cos(sys.x2()))
    return k1[:, None] * k2[None, :]


def interaction_grid(sys: TwoParticleSystem, rows: slice) -> np.ndarray:
    """``V_I(x1_j, x2_k)`` on the local grid rows."""
    d = sys.x1()[rows, None] - sys.x2()[None, :]
    return sys.strength * np.exp(-sys.a * d * d)


# --------------------------------------------------------------------------- splitting orders
#: Yoshida (Phys. Lett. A 150, 262 (1990)) / Suzuki triple jump: S2(w1 h) S2(w0 h) S2(w1 h)
TRIPLE_JUMP_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
TRIPLE_JUMP_W0 = 1.0 - 2.0 * TRIPLE_JUMP_W1
#: Suzuki's 5-stage fractal (Phys. Lett. A 146, 319 (1990)): S2(p h)^2 S2((1 - 4p) h) S2(p h)^2
SUZUKI5_P = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
#: Blanes & Moan, J. Comput. Appl. Math. 142, 313 (2002), the 6-stage symmetric 4th-order
#: partitioned method S6: e^{a1 h A} e^{b1 h B} e^{a2 h A} e^{b2 h B} e^{a3 h A} e^{b3 h B}
#: e^{a4 h A} e^{b3 h B} ... e^{a1 h A} (A: the outer operator, 7 stages; B: inner, 6)
BLANES_MOAN6_A = (0.0792036964311957, 0.353172906049774, -0.0420650803577195)
BLANES_MOAN6_B = (0.209515106613362, -0.143851773179818)

#: method -> (order, Strang-step weights) for compositions of the symmetric 2nd-order step
COMPOSITIONS = {
    "strang": (2, (1.0,)),
    "triple_jump": (4, (TRIPLE_JUMP_W1, TRIPLE_JUMP_W0, TRIPLE_JUMP_W1)),
    "suzuki5": (4, (SUZUKI5_P, SUZUKI5_P, 1.0 - 4.0 * SUZUKI5_P, SUZUKI5_P, SUZUKI5_P)),
}
METHODS = ("strang", "triple_jump", "suzuki5", "blanes_moan6")
DEFAULT_METHOD = {2: "strang", 4: "triple_jump"}


def _method(order: int, method: str | None) -> str:
    if order not in DEFAULT_METHOD:
        raise ValueError(f"splitting order must be 2 or 4, got {order!r}")
    method = DEFAULT_METHOD[order] if method is None else method
    if method not in METHODS:
        raise ValueError(f"unknown splitting method {method!r} (known: {', '.join(METHODS)})")
    got = 4 if method == "blanes_moan6" else COMPOSITIONS[method][0]
    if got != order:
        raise ValueError(f"splitting method {method!r} is of order {got}, not {order}")
    return method


def splitting_stages(order: int = 2, method: str | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Coefficients ``(outer, inner)`` of one symmetric substep of length ``h``.

    The substep is ``O(outer[0] h) I(inner[0] h) O(outer[1] h) ... I(inner[-1] h) O(outer[-1] h)``
    with ``O`` the outer factor (``V_I`` in plain Strang, ``T1`` in light-particle-exact) and
    ``I`` the inner one; ``len(outer) = len(inner) + 1``, both sum to 1.  A composition of the
    Strang step with weights ``c`` gives ``inner = c`` and ``outer = (c1/2, (c1+c2)/2, ...,
    ck/2)``.  ``order=2``: ``'strang'`` (``(1/2, 1/2), (1,)``).  ``order=4``: ``'triple_jump'``
    (default, 3 inner stages), ``'suzuki5'`` (5) or ``'blanes_moan6'`` (6 inner, 7 outer).
    """
    method = _method(order, method)
    if method == "blanes_moan6":
        a1, a2, a3 = BLANES_MOAN6_A
        b1, b2 = BLANES_MOAN6_B
        a4, b3 = 1.0 - 2.0 * (a1 + a2 + a3), 0.5 - (b1 + b2)
        return (a1, a2, a3, a4, a3, a2, a1), (b1, b2, b3, b3, b2, b1)
    weights = COMPOSITIONS[method][1]
    outer = [0.5 * weights[0]]
    outer += [0.5 * (weights[i] + weights[i + 1]) for i in range(len(weights) - 1)]
    outer.append(0.5 * weights[-1])
    return tuple(outer), tuple(weights)


class _StagePlan:
    """Indices into the distinct outer / inner coefficients of a substep (each array built once).

    ``first``: the outer factor opening a period, ``last``: the one closing it, ``between``:
    the merged ``outer[-1] + outer[0]`` joining two substeps; ``outer[k]``: the factor after
    inner stage ``k`` inside a substep (``k < len(inner) - 1``); ``inner[k]``: inner stage ``k``.
    """

    def __init__(self, outer, inner):
        self.outer_values, self.inner_values = [], []

        def index(values, f):
            if f not in values:
                values.append(f)
            return values.index(f)

        self.first = index(self.outer_values, outer[0])
        self.outer = [index(self.outer_values, f) for f in outer[1:-1]]
        self.last = index(self.outer_values, outer[-1])
        self.between = index(self.outer_values, outer[-1] + outer[0])
        self.inner = [index(self.inner_values, f) for f in inner]


class StrangPropagator:
    """Plain Strang splitting with ``substeps`` substeps per unit time.

    ``order=2`` (default): half ``V_I`` on the grid, ``T1 + T2`` in the sine basis, half
    ``V_I``, adjacent half steps merged: per substep one ``x2`` DST pair, one ``x1`` DST pair
    and one multiply by ``V_I`` (``2 S + 2`` 2-D DSTs a period).  ``order=4`` composes that
    symmetric step (:func:`splitting_stages`; default the triple jump, 3 stages a substep):
    each stage is the same work, the half ``V_I`` factors between stages and between substeps
    merged into one multiply, so a triple-jump substep costs 3 order-2 substeps.  The
    ``V_I`` and kinetic phase arrays are stored once per distinct stage coefficient.
    Measured at 1e-3 in ``<p1^2>`` and purity over 10 kicks (benchmarks/splitting_order.py,
    docs/numerics.md): order 2 / triple jump / Blanes-Moan need 724 / 512 / 181 substeps at
    m = 1e-3, hbar = 0.05 (order 4 0.44x / 0.58x the speed), 181 / 64 / 16 at m = 0.1
    (0.74x / 1.47x), 45 / 23 / 8 at m = 1 (0.65x / 1.07x).
    """

    def __init__(self, sys: TwoParticleSystem, tr, substeps: int, order: int = 2, method: str | None = None):
        rows = _rows(sys, tr)
        self.sys, self.tr, self.substeps = sys, tr, int(substeps)
        self.order, self.method = int(order), _method(order, method)
        dt = 1.0 / self.substeps
        outer, inner = splitting_stages(self.order, self.method)
        plan = _StagePlan(outer, inner)
        v = interaction_grid(sys, rows)
        self._v = [np.exp((-1j * (f * dt) / sys.hbar) * v) for f in plan.outer_values]
        ph2_cols = slice(tr.col_start, tr.col_stop)
        self._kinetic = [
            basis.free_phase(sys.N1, sys.L, sys.hbar, sys.mass1, f * dt)[:, None]
            * basis.free_phase(sys.N2, sys.L, sys.hbar, sys.mass2, f * dt)[ph2_cols][None, :]
            for f in plan.inner_values
        ]  # column layout
        self.plan = plan
        self.kick_first_v = kick_factor(sys, rows) * self._v[plan.first]
        if self.order == 2:  # the names of the order-2 arrays (used by the benchmarks)
            self.half_v, self.full_v = self._v[plan.last], self._v[plan.between]
            self.kick_half_v, self.kinetic = self.kick_first_v, self._kinetic[0]

    def period(self, c: np.ndarray) -> np.ndarray:
        tr, plan, vs, kin = self.tr, self.plan, self._v, self._kinetic
        g = tr.x2_to_grid(tr.x1_to_grid(c.copy()))
        g *= self.kick_first_v
        n_stages = len(plan.inner)
        for s in range(self.substeps):
            for k in range(n_stages):
                a = tr.sandwich_x1(tr.x2_to_coeffs(g), kin[plan.inner[k]])
                g = tr.x2_to_grid(a)
                if k < n_stages - 1:
                    g *= vs[plan.outer[k]]
                else:
                    g *= vs[plan.between] if s < self.substeps - 1 else vs[plan.last]
        return tr.x1_to_coeffs(tr.x2_to_coeffs(g))


class FreePropagator:
    """``eps = 0``: the exact product of one-particle Floquet maps (one DST pair per axis)."""

    def __init__(self, sys: TwoParticleSystem, tr):
        rows = _rows(sys, tr)
        self.sys, self.tr = sys, tr
        self.kick = kick_factor(sys, rows)
        ph1 = basis.free_phase(sys.N1, sys.L, sys.hbar, sys.mass1, 1.0)[rows]
        ph2 = basis.free_phase(sys.N2, sys.L, sys.hbar, sys.mass2, 1.0)
        self.free = ph1[:, None] * ph2[None, :]

    def period(self, c: np.ndarray) -> np.ndarray:
        tr = self.tr
        g = tr.x2_to_grid(tr.x1_to_grid(c.copy()))
        g *= self.kick
        c = tr.x1_to_coeffs(tr.x2_to_coeffs(g))
        c *= self.free
        return c


# --------------------------------------------------------------------------- row blocks
def particle2_hamiltonians(sys: TwoParticleSystem, rows: slice) -> np.ndarray:
    """``H2(x1_j)`` for the local rows: ``(nrows, N2, N2)`` real symmetric, sine basis of 2.

    ``V_I(x1_j, .)`` is the grid-diagonal potential seen in the sine basis,
    ``S diag(V) S`` with ``S`` the orthonormal DST-I matrix -- the same discrete operator the
    plain Strang splitting uses.
    """
    N2 = sys.N2
    S = basis.dst(np.eye(N2), axis=0)
    v = interaction_grid(sys, rows)
    H = np.einsum("nk,jk,km->jnm", S, v, S, optimize=True)
    H = 0.5 * (H + H.transpose(0, 2, 1))
    idx = np.arange(N2)
    H[:, idx, idx] += basis.mode_energies(N2, sys.L, sys.hbar, sys.mass2)
    return H


_FASTMATH = {"reassoc", "contract"}  # reorder sums, fuse multiply-adds; keep NaN/inf semantics


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def apply_eig_blocks(V, phase, a, j0, j1):
    """In place ``a[j] <- V[j] @ (phase[j] * (V[j].T @ a[j]))`` for rows ``j0 <= j < j1``.

    ``V``: ``(n, N2, N2)`` real eigenvectors (columns), float64 or float32; ``phase`` and
    ``a``: ``(n, N2, 2)`` float64, the real and imaginary parts of complex ``(n, N2)`` arrays
    (``z.view(np.float64).reshape(n, N2, 2)``).  ``V[j]`` is read twice, the second time from
    cache, so the memory traffic is half that of a complex propagator.  Serial by design:
    measured on 2 cores, numba's ``prange`` version of this loop is 10x slower (its loops are
    not vectorised) and two threads gain nothing (memory-bound); ranks give the parallelism.
    """
    N2 = V.shape[1]
    tr = np.empty(N2)
    ti = np.empty(N2)
    for j in range(j0, j1):
        for k in range(N2):
            tr[k] = 0.0
            ti[k] = 0.0
        for b in range(N2):
            xr = a[j, b, 0]
            xi = a[j, b, 1]
            for k in range(N2):
                v = V[j, b, k]
                tr[k] += v * xr
                ti[k] += v * xi
        for k in range(N2):
            pr = phase[j, k, 0]
            pi = phase[j, k, 1]
            r = tr[k] * pr - ti[k] * pi
            ti[k] = tr[k] * pi + ti[k] * pr
            tr[k] = r
        for b in range(N2):
            sr = 0.0
            si = 0.0
            for k in range(N2):
                v = V[j, b, k]
                sr += v * tr[k]
                si += v * ti[k]
            a[j, b, 0] = sr
            a[j, b, 1] = si


def apply_dense_blocks(U, a):
    """``U[j] @ a[j]`` for every row (batched BLAS); returns a new ``(n, N2)`` array."""
    return np.matmul(U, a[:, :, None])[:, :, 0]


def _real_view(z: np.ndarray) -> np.ndarray:
    """``(n, m)`` C-contiguous complex128 as ``(n, m, 2)`` float64 (no copy)."""
    return z.view(np.float64).reshape(z.shape[0], z.shape[1], 2)


class LightExactPropagator:
    """``H = T1 + H2(x1)`` with ``H2`` exact per grid row; Strang in ``T1`` with ``S`` substeps.

    ``order=2``: a substep is half ``T1``, the blocks, half ``T1`` (adjacent halves merged):
    one block application and one ``x1`` DST pair per substep.  ``order=4``: a composition of
    that step (:func:`splitting_stages`; triple jump by default: 3 block applications and 3
    ``x1`` DST pairs per substep, i.e. 3 order-2 substeps; ``'blanes_moan6'``: 6 and 6).  The
    eigenvectors ``V_j`` serve every stage: only one phase array ``exp(-i w_j c dt/hbar)`` is
    stored per distinct stage coefficient ``c`` (2 for the triple jump, 3 for Blanes-Moan),
    and the ``T1`` factors between stages and substeps are merged into one multiply.
    Measured at 1e-3 in ``<p1^2>`` and purity over 10 kicks (benchmarks/splitting_order.py,
    docs/numerics.md): order 2 / triple jump / Blanes-Moan need 91 / 91 / 45 substeps at
    m = 1e-3, hbar = 0.05 and 91 / 128 / 32 at hbar = 0.02 (order 4 0.2-0.45x the speed),
    64 / 45 / 11 at m = 0.1 and 45 / 23 / 6 at m = 1 (0.58-0.67x triple jump, 1.05-1.20x
    Blanes-Moan): order 4 pays only below ~1e-3 and with heavy partners.

    ``blocks``: ``'eig'`` (default) keeps the real eigenvectors ``V_j`` and applies
    ``V_j diag(exp(-i w_j dt/hbar)) V_j^T`` (compiled kernel :func:`apply_eig_blocks`, half the
    memory of complex propagators); ``'dense'`` stores the complex ``U_j`` and applies them
    with batched BLAS.  Measured at ``N1 = 1023, N2 = 31`` on 2 cores: 1.1 ms and 1.6 ms per
    application; a whole substep (blocks + one DST pair along x1) 1.3 ms, a plain-Strang
    substep 1.15 ms.  ``block_dtype=np.float32`` stores ``V_j`` in single precision: only ~15%
    faster and unitary to ~1e-7 only (norm drifts 3e-7 per kick at 40 substeps, the norm
    guard trips) -- kept for experiments, not for production.
    A truncated adiabatic basis of particle 2 was not adopted: the blocks are already
    cheaper than the transforms at ``N2 = 31``.
    """

    def __init__(self, sys: TwoParticleSystem, tr, substeps: int, blocks: str = "eig", block_dtype=np.float64,
                 order: int = 2, method: str | None = None):
        rows = _rows(sys, tr)
        self.sys, self.tr, self.substeps, self.blocks = sys, tr, int(substeps), blocks
        self.order, self.method = int(order), _method(order, method)
        dt = 1.0 / self.substeps
        outer, inner = splitting_stages(self.order, self.method)
        self.plan = plan = _StagePlan(outer, inner)
        H = particle2_hamiltonians(sys, rows)
        w, V = np.linalg.eigh(H)
        # one phase array per distinct inner stage: the eigenvectors serve every step size
        phases = [np.exp((-1j * (f * dt) / sys.hbar) * w) for f in plan.inner_values]
        if blocks == "eig":
            self.V = np.ascontiguousarray(V, dtype=block_dtype)
            self.phases = [np.ascontiguousarray(ph) for ph in phases]
            self.phase = self.phases[0]
        elif blocks == "dense":
            dense_dtype = np.complex128 if block_dtype == np.float64 else np.complex64
            self.Us = [np.ascontiguousarray(np.einsum("jnk,jk,jmk->jnm", V, ph, V, optimize=True), dtype=dense_dtype)
                       for ph in phases]
            self.U = self.Us[0]
        else:
            raise ValueError(f"blocks must be 'eig' or 'dense', got {blocks!r}")
        self.kick = kick_factor(sys, rows)
        self._t1 = [basis.free_phase(sys.N1, sys.L, sys.hbar, sys.mass1, f * dt)[:, None]
                    for f in plan.outer_values]
        self.last_t1_rows = self._t1[plan.last][rows]
        if self.order == 2:  # the names of the order-2 arrays (used by the benchmarks)
            self.half_t1, self.full_t1 = self._t1[plan.first], self._t1[plan.between]
            self.half_t1_rows = self.last_t1_rows

    def apply_blocks(self, a: np.ndarray, stage: int = 0) -> np.ndarray:
        """Exact particle-2 step on ``a`` in the ``(x1 grid, n2 sine)`` form, in place.

        ``stage`` indexes the distinct inner coefficients (``plan.inner_values``); 0 is the
        full step ``dt`` at order 2.
        """
        if self.blocks == "dense":
            return apply_dense_blocks(self.Us[stage], a)
        n, N2 = a.shape
        apply_eig_blocks(self.V, _real_view(self.phases[stage]), _real_view(a), 0, n)
        return a

    def period(self, c: np.ndarray) -> np.ndarray:
        tr, plan, t1 = self.tr, self.plan, self._t1
        g = tr.x2_to_grid(tr.x1_to_grid(c.copy()))
        g *= self.kick
        a = tr.sandwich_x1(tr.x2_to_coeffs(g), t1[plan.first])  # (x1 grid, n2 sine)
        n_stages = len(plan.inner)
        for s in range(self.substeps):
            for k in range(n_stages):
                a = np.ascontiguousarray(a)
                a = self.apply_blocks(a, plan.inner[k])
                if k < n_stages - 1:
                    a = tr.sandwich_x1(a, t1[plan.outer[k]])
                elif s < self.substeps - 1:
                    a = tr.sandwich_x1(a, t1[plan.between])
        c = tr.x1_to_coeffs(a)
        c *= self.last_t1_rows
        return c


SCHEMES = ("strang", "light_exact", "free")


def make_propagator(sys: TwoParticleSystem, tr, scheme: str, substeps: int | None = None, order: int = 2,
                    **kw):
    """Build a propagator: ``'strang'``, ``'light_exact'`` or ``'free'`` (needs ``strength == 0``).

    ``scheme='auto'`` picks ``'free'`` when the interaction vanishes, else ``'light_exact'``.
    ``order`` (2 or 4) is the splitting order of ``'strang'`` and ``'light_exact'``; the free
    map is exact and ignores it.  ``method=`` (in ``kw``) picks the 4th-order composition
    (:func:`splitting_stages`, default the triple jump).
    """
    if order not in (2, 4):
        raise ValueError(f"splitting order must be 2 or 4, got {order!r}")
    if scheme == "auto":
        scheme = "free" if sys.strength == 0.0 else "light_exact"
    if scheme == "free":
        if sys.strength != 0.0:
            raise ValueError("scheme 'free' is exact only without interaction (strength 0)")
        return FreePropagator(sys, tr)
    if substeps is None or substeps < 1:
        raise ValueError(f"scheme {scheme!r} needs substeps >= 1, got {substeps!r}")
    if scheme == "strang":
        return StrangPropagator(sys, tr, substeps, order=order, **kw)
    if scheme == "light_exact":
        return LightExactPropagator(sys, tr, substeps, order=order, **kw)
    raise ValueError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)}, auto)")


def evolve(prop, c: np.ndarray, n_kicks: int, observe=None, t0: int = 0) -> np.ndarray:
    """Apply ``n_kicks`` periods; ``observe(t, c)`` is called at ``t0`` and after every period."""
    if observe is not None:
        observe(t0, c)
    for t in range(t0 + 1, t0 + n_kicks + 1):
        c = prop.period(c)
        if observe is not None:
            observe(t, c)
    return c
