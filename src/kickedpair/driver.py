"""The kick loop the engines share, and the observers that watch it.

:func:`evolve` applies one period at a time; everything else a run does along the way is an
:class:`Observer` (as in Dedalus's file handlers or QuTiP's solver loop): recording the series
and checking the guards, writing checkpoints, reporting progress, timing the kicks.  Per run:

* ``start(t0, state)``        -- once, before the first kick (``t0``: 0, or where a resumed run is);
* ``after_kick(t, state)``    -- after kick ``t``, in the order the observers are given;
* ``on_stop(t, state)``       -- when the run stops on a signal after kick ``t`` (a checkpoint,
  say); returns text added to the message of :class:`~kickedpair.stopping.Interrupted`;
* ``close()``                 -- always, also on an error.

An observer that raises (a tripped guard, a full disk) ends the run.  With ``stop`` given, a first
SIGINT / SIGTERM only raises a flag (:class:`~kickedpair.stopping.deferred_signals`) and
``stop(t)`` -- a collective, such as :func:`~kickedpair.stopping.stop_requested` -- says after
every kick whether any rank received one; the run then stops there on every rank.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Sequence

from . import stopping


class Observer:
    """The hooks of :func:`evolve`; each does nothing unless overridden."""

    def start(self, t0: int, state: Any) -> None:
        pass

    def after_kick(self, t: int, state: Any) -> None:
        pass

    def on_stop(self, t: int, state: Any) -> str:
        return ""

    def close(self) -> None:
        pass


def evolve(step: Callable[[int, Any], Any], state: Any, t0: int, t_end: int,
           observers: Sequence[Observer], stop: Callable[[int], int] | None = None,
           where: str = "at t={t}") -> Any:
    """Kicks ``t = t0 + 1 .. t_end``: ``state = step(t, state)``, then every observer's
    ``after_kick(t, state)``, then ``stop(t)`` (when given); returns the final state.

    A non-zero ``stop(t)`` (a signal number) calls every observer's ``on_stop`` and raises
    :class:`~kickedpair.stopping.Interrupted` with ``where`` (``{t}``: the kick) and their notes.
    """
    with contextlib.ExitStack() as stack:
        for observer in reversed(observers):  # closed in the order given
            stack.callback(observer.close)
        if stop is not None:
            stack.enter_context(stopping.deferred_signals())
        for observer in observers:
            observer.start(t0, state)
        for t in range(t0 + 1, t_end + 1):
            state = step(t, state)
            for observer in observers:
                observer.after_kick(t, state)
            signum = stop(t) if stop is not None else 0
            if signum:
                notes = "".join(observer.on_stop(t, state) for observer in observers)
                raise stopping.Interrupted(signum, where.format(t=t) + notes)
    return state


class Stopwatch(Observer):
    """The time from ``start`` (put it last, so the other observers' start is not counted)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.t0 = 0

    def start(self, t0: int, state: Any) -> None:
        self.began, self.t0 = time.perf_counter(), t0

    def seconds_per_kick(self, t_end: int) -> float:
        kicks = t_end - self.t0
        return (time.perf_counter() - self.began) / kicks if kicks else float("nan")
