"""MPI plumbing: the communicator, block partitions, reductions, thread counts.

Physics kernels never see MPI; drivers ask this module which slice of the
global problem this rank owns and hand their partial results back to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

COMM = MPI.COMM_WORLD
#: a duplicate of COMM used only to agree on how a run ends (kickedpair.stopping), so that its
#: messages can never be matched with a collective of the run itself
CONTROL = COMM.Dup()


def block_range(n: int, size: int, rank: int) -> tuple[int, int]:
    """Contiguous ``[start, stop)`` of ``n`` items owned by ``rank`` of ``size``.

    The first ``n % size`` ranks get one item more (the layout of numpy.array_split).
    """
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


@dataclass(frozen=True)
class Layout:
    """Where this process sits: rank, size, and the ranks sharing its node."""

    comm: MPI.Comm
    rank: int
    size: int
    local_size: int

    @property
    def is_root(self) -> bool:
        return self.rank == 0


def layout(comm: MPI.Comm = COMM) -> Layout:
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank)
    local = node.size
    node.Free()
    return Layout(comm=comm, rank=comm.rank, size=comm.size, local_size=local)


def default_threads(lay: Layout, share_cores: bool = True) -> int:
    """Threads of this rank: ``KICKEDPAIR_THREADS`` or ``SLURM_CPUS_PER_TASK`` when set, else the
    CPU affinity mask shared by the node's ranks (``share_cores``) or one.

    The quantum engines take one thread unless asked (``share_cores=False``): their FFTs and
    block products are memory-bound, and measured at hbar = 0.05, 1023 x 31, one process ran
    0.063 s/kick with one thread and 0.106 s/kick with two on the 2-core machine; ranks are
    the engines' parallelism.  The classical ensemble's compiled loop does use the cores.
    """
    for var in ("KICKEDPAIR_THREADS", "SLURM_CPUS_PER_TASK"):
        if os.environ.get(var, "").isdigit():
            return max(1, int(os.environ[var]))
    if not share_cores:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // lay.local_size)


def set_threads(n: int) -> int:
    """Set the compiled kernels' thread count (capped by numba's pool); return it."""
    import numba

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def sum_to_all(local: np.ndarray, comm: MPI.Comm = COMM) -> np.ndarray:
    out = np.empty_like(local)
    comm.Allreduce(np.ascontiguousarray(local), out, op=MPI.SUM)
    return out


def max_to_all(local: np.ndarray, comm: MPI.Comm = COMM) -> np.ndarray:
    out = np.empty_like(local)
    comm.Allreduce(np.ascontiguousarray(local), out, op=MPI.MAX)
    return out


def gather_blocks(local: np.ndarray, comm: MPI.Comm = COMM) -> np.ndarray | None:
    """Concatenate each rank's 1-D block in rank order on rank 0 (None elsewhere)."""
    local = np.ascontiguousarray(local)
    counts = np.array(comm.allgather(local.size))
    if comm.rank == 0:
        out = np.empty(int(counts.sum()), dtype=local.dtype)
        comm.Gatherv(local, (out, counts), root=0)
        return out
    comm.Gatherv(local, None, root=0)
    return None
