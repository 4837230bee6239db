"""How a run stops: on a signal, on an error of every rank, on an error of one rank.

A job that hangs is worse than one that fails, so every way out of a run ends
every rank, within seconds, with a non-zero status and one message:

* **Signals.**  SIGINT and SIGTERM (Ctrl-C, ``scancel``, a Slurm time limit)
  do not interrupt a kick: the first one only raises a flag, which the run
  loops read once per kick through :func:`stop_requested` (one tiny
  collective), so all ranks stop after the same kick, write a checkpoint and
  raise :class:`Interrupted` together.  Outside the loops (set-up, writing
  files) and for a second signal, :class:`Interrupted` is raised at once.
  The exit status is ``128 + signal`` (130, 143), never 0.
* **Errors every rank meets** (a bad config, a tripped guard, an agreed stop):
  rank 0 prints the message, then the ranks check within
  :data:`GRACE_S` seconds that all of them have stopped (a non-blocking
  barrier on a communicator of its own, so it can never match a collective
  of the run) and exit with the error's status.
* **Errors of one rank** (a full disk while rank 0 writes, a failed
  allocation, a bug): that rank prints the message naming itself and calls
  ``MPI_Abort``, which ends every rank at once.  So does a collective error
  whose agreement did not complete in time.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
import traceback

#: seconds the ranks wait for each other after an error every rank should meet
GRACE_S = float(os.environ.get("KICKEDPAIR_STOP_GRACE_S", "10"))

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_GUARD = 3

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run was stopped by a signal; ``status`` is ``128 + signum``."""

    def __init__(self, signum: int, where: str = ""):
        self.signum = int(signum)
        name = signal.Signals(self.signum).name
        super().__init__(f"stopped by {name}" + (f" {where}" if where else ""))

    @property
    def status(self) -> int:
        return 128 + self.signum


_pending = 0         # the first signal received (0: none)
_deferring = False   # inside a run loop that polls stop_requested()
_exiting = False     # in exit_status(): a further signal must not cut the way out short


def _handler(signum, frame) -> None:
    global _pending
    first = _pending == 0
    if first:
        _pending = signum
    if not (_deferring and first) and not _exiting:
        raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise the stop flag (see the module docstring)."""
    reset()
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _handler)


def pending_signal() -> int:
    """The signal received so far on this rank (0: none)."""
    return _pending


def reset() -> None:
    """Forget a received signal and an earlier exit (several runs in one process)."""
    global _pending, _exiting
    _pending = 0
    _exiting = False


class deferred_signals:
    """Within this block a first signal only raises the flag; the loop polls it."""

    def __enter__(self):
        global _deferring
        self._outer = _deferring
        _deferring = True
        return self

    def __exit__(self, *exc):
        global _deferring
        _deferring = self._outer
        return False


def stop_requested(comm) -> int:
    """Collective: the signal any rank received (0: none).  Call once per kick on every rank."""
    from mpi4py import MPI

    import numpy as np

    flag = np.array([_pending], dtype=np.int64)
    if comm.size > 1:
        comm.Allreduce(MPI.IN_PLACE, flag, op=MPI.MAX)
    return int(flag[0])


# ----------------------------------------------------------------------------- exits
def classify(exc: BaseException) -> tuple[int, str, bool]:
    """``(exit status, one-line message, met by every rank)`` of an exception ending a run."""
    from .errors import ConfigError, GuardError

    if isinstance(exc, Interrupted):
        return exc.status, str(exc), True
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "interrupted", True
    if isinstance(exc, GuardError):
        return EXIT_GUARD, str(exc), True
    if isinstance(exc, ConfigError):  # the CLI's UserError and ResourceError among them
        return EXIT_USAGE, f"error: {exc}", True
    if isinstance(exc, MemoryError):
        return EXIT_FAILURE, "error: out of memory" + (f" ({exc})" if str(exc) else ""), False
    if isinstance(exc, OSError):
        return EXIT_FAILURE, f"error: {describe_os_error(exc)}", False
    return EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc}", False


def describe_os_error(exc: OSError) -> str:
    """A short reason for an OSError, h5py's long messages included."""
    if exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc)
    found = re.search(r"errno = (\d+)", text)  # h5py: "Unable to create file (... errno = 28, ...)"
    return f"{os.strerror(int(found.group(1)))} ({text})" if found else text


def _mpi_world():
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.Is_finalized():
        return None
    return mpi.COMM_WORLD


def _agree(timeout: float) -> bool:
    """Non-blocking barrier of every rank on the control communicator, with a deadline."""
    from . import parallel

    req = parallel.CONTROL.Ibarrier()
    deadline = time.monotonic() + timeout
    while True:
        if req.Test():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def exit_status(exc: BaseException, prog: str) -> int:
    """Report ``exc`` once and return the exit status; under MPI, make sure every rank ends.

    Returns only when this process may exit normally; otherwise ``MPI_Abort`` ends every rank.
    """
    global _exiting
    _exiting = True
    status, message, collective = classify(exc)
    world = _mpi_world()
    rank = world.rank if world is not None else 0
    size = world.size if world is not None else 1
    if not collective and not isinstance(exc, (OSError, MemoryError)):
        traceback.print_exception(exc, file=sys.stderr)

    def say(text: str) -> None:
        if text:
            print(f"{prog}: {text}", file=sys.stderr, flush=True)

    if size == 1:
        say(message)
        return status
    if not collective:
        say(f"rank {rank} of {size}: {message}; aborting all ranks")
        world.Abort(status or EXIT_FAILURE)
        return status  # pragma: no cover - Abort does not return
    if rank == 0:
        say(message)
    if _agree(GRACE_S):
        return status
    if rank != 0:
        say(f"rank {rank} of {size}: {message}")
    say(f"rank {rank} of {size}: the other ranks did not stop within {GRACE_S:g} s; aborting all ranks")
    world.Abort(status or EXIT_FAILURE)
    return status  # pragma: no cover
