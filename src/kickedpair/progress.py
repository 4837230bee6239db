"""Progress reporting on rank 0: a tqdm bar on a terminal, plain lines in a log.

``mode``: 'auto' (a bar on a terminal, nothing otherwise), 'bar', 'log'
(a line with kick, rate and ETA about every ``log_every`` seconds, for batch
logs), or 'none'.  Other ranks always get a silent reporter.  A :class:`Progress` is an
observer of :func:`kickedpair.driver.evolve`: one kick per ``after_kick``.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from .driver import Observer

MODES = ("auto", "bar", "log", "none")


class Progress(Observer):
    def __init__(self, total: int, label: str, mode: str = "auto", enabled: bool = True,
                 log_every: float = 10.0, stream=None):
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.stream = stream or sys.stderr
        if not enabled or mode == "none":
            mode = "none"
        elif mode == "auto":
            mode = "bar" if self.stream.isatty() else "none"
        self.mode = mode
        self.total = total
        self.label = label
        self.done = 0
        self.log_every = log_every
        self._start = self._last = time.monotonic()
        self._bar = (
            tqdm(total=total, desc=label, unit="kick", file=self.stream, dynamic_ncols=True)
            if mode == "bar" else None
        )

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log":
            now = time.monotonic()
            if now - self._last >= self.log_every or self.done == self.total:
                self._last = now
                elapsed = now - self._start
                rate = self.done / elapsed if elapsed > 0 else float("inf")
                eta = (self.total - self.done) / rate if rate > 0 else float("inf")
                print(f"[{self.label}] kick {self.done}/{self.total}  "
                      f"elapsed {elapsed:.1f}s  {rate:.2f} kicks/s  ETA {eta:.1f}s",
                      file=self.stream, flush=True)

    def start(self, t0: int, state=None) -> None:
        self.update(t0)  # a resumed run starts part of the way

    def after_kick(self, t: int, state=None) -> None:
        self.update()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
