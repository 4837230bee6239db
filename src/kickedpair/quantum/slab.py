"""Slab decomposition of the two-particle state along x1 across MPI ranks.

Rank ``r`` of ``P`` owns rows ``block_range(N1, P, r)`` of axis 0 (particle 1) -- in the
coefficient form these are modes ``n1``, on the grid points ``x1_j`` -- and all of axis 1.
Everything along axis 1 (transforms of particle 2, the exact ``H2(x1_j)`` row blocks, kicks,
potentials) is local.  Transforms along axis 0 go through a global transpose to the column
layout, where rank ``r`` owns columns ``block_range(N2, P, r)`` of axis 1 and all of axis 0,
done with one ``Alltoallv`` each way:

* row -> column: rank ``s`` sends ``a[:, cols_r]`` (``nrows_s x ncols_r``) to rank ``r``; the
  blocks arrive in rank order, which is row order, so the receive buffer *is* the
  ``(N1, ncols_r)`` column slab;
* column -> row: rank ``r`` sends ``b[rows_s, :]`` (a contiguous row block) to rank ``s``,
  which unpacks the ``(nrows_s, ncols_r)`` pieces into its columns.

:class:`SlabTransforms` implements the transforms-object interface of :mod:`.two_particle`,
so the same propagators and :func:`~.observables.two_particle_observables` (with
``reduce=transforms.allreduce``) run serially or on slabs; with one rank it reproduces
:class:`~.two_particle.SerialTransforms` exactly.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from ..parallel import block_range
from . import sine_transforms
from .sine_transforms import AxisTransform

__all__ = ["SlabTransforms", "gather_state", "scatter_state"]


class SlabTransforms:
    """Transforms object for an ``N1 x N2`` state slab-decomposed along axis 0 over ``comm``."""

    def __init__(self, N1: int, N2: int, comm: MPI.Comm = MPI.COMM_WORLD, workers: int | None = None,
                 fft: str = "auto"):
        self.N1, self.N2 = int(N1), int(N2)
        self.comm = comm
        self.size, self.rank = comm.size, comm.rank
        self.workers = workers
        self.rows = [block_range(self.N1, self.size, r) for r in range(self.size)]
        self.cols = [block_range(self.N2, self.size, r) for r in range(self.size)]
        self.row_start, self.row_stop = self.rows[self.rank]
        self.col_start, self.col_stop = self.cols[self.rank]
        # rank 0 chooses the backend and plans for every rank's slab shapes: all ranks agree
        cases = sorted({((self.N1, c1 - c0), 0) for c0, c1 in self.cols}
                       | {((r1 - r0, self.N2), 1) for r0, r1 in self.rows})
        sine_transforms.agree_on_root(comm, cases, workers, fft)
        self.x1_transform = AxisTransform((self.N1, self.col_stop - self.col_start), 0, workers, fft)  # column slab
        self.x2_transform = AxisTransform((self.row_stop - self.row_start, self.N2), 1, workers, fft)  # row slab
        nr = np.array([b - a for a, b in self.rows])
        nc = np.array([b - a for a, b in self.cols])
        me_r, me_c = nr[self.rank], nc[self.rank]
        # row -> column: send nrows_me * ncols_r to r; receive nrows_r * ncols_me from r
        self._rc_send = (me_r * nc).astype(np.int64)
        self._rc_recv = (nr * me_c).astype(np.int64)
        self._rc_sdisp = np.concatenate([[0], np.cumsum(self._rc_send)[:-1]])
        self._rc_rdisp = np.concatenate([[0], np.cumsum(self._rc_recv)[:-1]])
        self._nrows, self._ncols = int(me_r), int(me_c)

    # ----------------------------------------------------------------- transposes
    def to_columns(self, a: np.ndarray) -> np.ndarray:
        """Row slab ``(nrows, N2)`` -> column slab ``(N1, ncols)``."""
        a = np.asarray(a, dtype=np.complex128)
        send = np.empty(self._nrows * self.N2, dtype=np.complex128)
        for r, (c0, c1) in enumerate(self.cols):
            o = self._rc_sdisp[r]
            send[o : o + self._rc_send[r]] = a[:, c0:c1].ravel()
        recv = np.empty(self.N1 * self._ncols, dtype=np.complex128)
        self.comm.Alltoallv(
            [send, (self._rc_send, self._rc_sdisp), MPI.C_DOUBLE_COMPLEX],
            [recv, (self._rc_recv, self._rc_rdisp), MPI.C_DOUBLE_COMPLEX],
        )
        return recv.reshape(self.N1, self._ncols)

    def to_rows(self, b: np.ndarray) -> np.ndarray:
        """Column slab ``(N1, ncols)`` -> row slab ``(nrows, N2)``."""
        send = np.ascontiguousarray(b, dtype=np.complex128).ravel()
        recv = np.empty(self._nrows * self.N2, dtype=np.complex128)
        self.comm.Alltoallv(
            [send, (self._rc_recv, self._rc_rdisp), MPI.C_DOUBLE_COMPLEX],
            [recv, (self._rc_send, self._rc_sdisp), MPI.C_DOUBLE_COMPLEX],
        )
        out = np.empty((self._nrows, self.N2), dtype=np.complex128)
        for r, (c0, c1) in enumerate(self.cols):
            o = self._rc_sdisp[r]
            out[:, c0:c1] = recv[o : o + self._rc_send[r]].reshape(self._nrows, c1 - c0)
        return out

    # ----------------------------------------------------------------- interface
    def x2_to_grid(self, a: np.ndarray) -> np.ndarray:
        return self.x2_transform.up(a)

    def x2_to_coeffs(self, a: np.ndarray) -> np.ndarray:
        return self.x2_transform.down(a)

    def x1_to_grid(self, a: np.ndarray) -> np.ndarray:
        return self.to_rows(self.x1_transform.up(self.to_columns(a)))

    def x1_to_coeffs(self, a: np.ndarray) -> np.ndarray:
        return self.to_rows(self.x1_transform.down(self.to_columns(a)))

    def sandwich_x1(self, a: np.ndarray, phase: np.ndarray) -> np.ndarray:
        return self.to_rows(self.x1_transform.sandwich(self.to_columns(a), phase))

    def allreduce(self, v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        self.comm.Allreduce(np.ascontiguousarray(v), out, op=MPI.SUM)
        return out


def gather_state(tr: SlabTransforms, c: np.ndarray, root: int = 0) -> np.ndarray | None:
    """The whole ``N1 x N2`` state on ``root`` (None elsewhere), e.g. for a checkpoint."""
    parts = tr.comm.gather(np.ascontiguousarray(c), root=root)
    return np.vstack(parts) if tr.rank == root else None


def scatter_state(tr: SlabTransforms, full: np.ndarray | None, root: int = 0) -> np.ndarray:
    """This rank's row slab of a whole state held on ``root`` (e.g. read from a checkpoint)."""
    parts = None
    if tr.rank == root:
        parts = [np.ascontiguousarray(full[a:b]) for a, b in tr.rows]
    return tr.comm.scatter(parts, root=root)
