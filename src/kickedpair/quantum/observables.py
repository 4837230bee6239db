"""Observables of the two-particle state and the numerical guards (MODEL.md section 3).

All functions take the local slab ``c[rows, :]`` of the sine coefficients (axis 0 =
particle 1, rows ``[row_start, row_start + len(c))``) and a ``reduce`` callable summing a
partial-sum array over ranks (identity for one process, ``transforms.allreduce`` for
slabs).  Every reduction is packed into one array, so one collective per time step.

* ``P1(n1) = sum_n2 |c|^2`` (local rows), ``P2(n2) = sum_n1 |c|^2`` (reduced);
* ``<p1^2> = sum P1 p_n1^2``, ``<p2^2>``, ``E1 = <p1^2>/2``, ``E2 = <p2^2>/(2 m)`` (kinetic);
* purity ``Tr rho1^2 = ||c^dagger c||_F^2`` from the ``N2 x N2`` Gram matrix, whose partial
  sums over the local rows add up across ranks;
* ``norm = sum |c|^2``; ``tail1``/``tail2``: probability in the top 5% of modes of each
  particle (a grid too small for the dynamics shows up there first).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import GuardError, guard_message

__all__ = [
    "TAIL_FRACTION",
    "tail_start",
    "two_particle_observables",
    "check_guards",
]

TAIL_FRACTION = 0.05
NORM_TOL = 1e-10
TAIL_TOL = 1e-8


def tail_start(N: int, fraction: float = TAIL_FRACTION) -> int:
    """Array index of the first mode in the top ``fraction`` of ``N`` modes (>= 1 mode)."""
    return N - max(1, int(math.ceil(fraction * N)))


def _identity(v):
    return v


def two_particle_observables(
    c: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    mass1: float = 1.0,
    mass2: float = 1.0,
    row_start: int = 0,
    reduce=None,
    purity: bool = True,
) -> dict:
    """Observables of the (local slab of the) state ``c``; ``p1``, ``p2``: global momenta.

    Returns a dict with floats ``norm, p1sq, p2sq, E1, E2, purity, tail1, tail2`` and arrays
    ``P1_local`` (rows of this slab) and ``P2`` (all modes).
    """
    reduce = reduce or _identity
    N1, N2 = len(p1), c.shape[1]
    nloc = c.shape[0]
    P = c.real**2 + c.imag**2
    P1 = P.sum(axis=1)
    P2_part = P.sum(axis=0)
    rows = slice(row_start, row_start + nloc)
    p1_loc = p1[rows]
    i1 = tail_start(N1)
    head = np.array(
        [
            P1 @ (p1_loc * p1_loc),
            P1[max(0, i1 - row_start) :].sum() if row_start + nloc > i1 else 0.0,
        ]
    )
    parts = [head, P2_part]
    if purity:
        gram = c.conj().T @ c  # N2 x N2 partial sum over the local rows
        parts.append(gram.view(np.float64).ravel())
    total = reduce(np.concatenate(parts))
    p1sq, tail1 = total[0], total[1]
    P2 = total[2 : 2 + N2]
    out = {
        "norm": float(P2.sum()),
        "p1sq": float(p1sq),
        "p2sq": float(P2 @ (p2 * p2)),
        "tail1": float(tail1),
        "tail2": float(P2[tail_start(N2) :].sum()),
        "P1_local": P1,
        "P2": P2,
    }
    out["E1"] = out["p1sq"] / (2.0 * mass1)
    out["E2"] = out["p2sq"] / (2.0 * mass2)
    if purity:
        g = total[2 + N2 :]
        out["purity"] = float(g @ g)  # sum |G_ab|^2 over real and imaginary parts
    return out


def check_guards(
    cell: str,
    t: int,
    norm: float,
    tails: dict | None = None,
    *,
    norm_tol: float = NORM_TOL,
    tail_tol: float = TAIL_TOL,
    scheme: str | None = None,
) -> None:
    """Raise :class:`GuardError` naming cell, guard and value when a guard trips.

    ``norm`` must lie in ``1 +- norm_tol``; each ``tails[name]`` (probability in the top 5% of
    the modes of a particle, e.g. ``{'particle 1': ..., 'particle 2': ...}``) must not
    exceed ``tail_tol``.  ``scheme`` (the two-particle propagator) shapes the tail guard's
    advice: under plain ``'strang'`` probability also reaches the top modes when the step is
    resonant (a populated mode's phase per substep near a multiple of ``2 pi``), which a larger
    grid does not cure.
    """
    if not (abs(norm - 1.0) <= norm_tol):  # also catches NaN
        raise GuardError(
            guard_message(
                cell,
                "norm",
                t,
                f"{norm:.15g} (|norm - 1| = {abs(norm - 1.0):.3e} > {norm_tol:g})",
                "the propagator is not unitary to the required accuracy",
            )
        )
    for name, value in (tails or {}).items():
        if not (value <= tail_tol):
            raise GuardError(
                guard_message(
                    cell,
                    f"top-5% modes of {name}",
                    t,
                    f"{value:.3e} > {tail_tol:g}",
                    _tail_hint(name, scheme),
                )
            )


def _tail_hint(name: str, scheme: str | None) -> str:
    if scheme == "strang":
        return (f"the basis of {name} may be too small for this run, or the plain-Strang step may be "
                f"resonant (a populated mode's phase per substep near 2 pi): increase its grid size, "
                f"or raise quantum.substeps, or use quantum.scheme: light_exact")
    return f"the basis of {name} is too small for this run: increase its grid size"
