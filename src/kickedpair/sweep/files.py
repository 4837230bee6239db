"""The files of a sweep: results that are not complete are set aside, tables are replaced together.

:func:`set_aside_incomplete` renames a result that is not complete to ``<name>.incomplete``: the
evidence stays, and Snakemake, which only asks whether a file exists, runs the cell again.  Each
move is a line of ``logs/set-aside.log`` (:data:`SET_ASIDE_LOG`), an input of the aggregation, so
the tables are out of date and Snakemake remakes them and with them the cell (it does not remake a
missing file that no job to be run needs).  The workflow calls it when it is parsed
(``workflow/rules/common.smk``); the engines rename their results into place only when complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..io import fsync_and_replace, fsync_file, temporary_name, why_incomplete

INCOMPLETE_SUFFIX = ".incomplete"
SET_ASIDE_LOG = "logs/set-aside.log"   # relative to the sweep folder (and to reproduction/)


def _free_name(path: Path) -> Path:
    candidate = path.with_name(path.name + INCOMPLETE_SUFFIX)
    n = 0
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.name}{INCOMPLETE_SUFFIX}.{n}")
    return candidate


def set_aside_incomplete(paths: Iterable[str | os.PathLike],
                         record: str | os.PathLike | None = None) -> list[tuple[Path, Path, str]]:
    """Rename every existing file of ``paths`` that is not a complete result to
    ``<name>.incomplete`` (never over an existing file); returns ``(path, new path, reason)``
    for each one moved, and appends one line per move to ``record`` when given.  An error
    renaming is raised as :class:`OSError` naming the file."""
    moved = []
    for p in paths:
        p = Path(p)
        reason = why_incomplete(p) if os.path.lexists(p) else ""
        if not reason:
            continue
        dest = _free_name(p)
        try:
            os.rename(p, dest)
        except OSError as exc:
            raise OSError(f"{p}: not a complete result ({reason}) and cannot be moved aside: "
                          f"{exc.strerror or exc}") from None
        moved.append((p, dest, reason))
    if moved and record is not None:
        record = Path(record)
        record.parent.mkdir(parents=True, exist_ok=True)
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        with open(record, "a") as fh:
            fh.writelines(f"{now} {p} -> {dest.name}: {reason}\n" for p, dest, reason in moved)
    return moved


@contextlib.contextmanager
def replaced_together(paths: Sequence[str | os.PathLike]) -> Iterator[dict[Path, Path]]:
    """``{path: temporary}`` for the block to write into; after it, every temporary is renamed
    over its path, each flushed to disk first (:func:`kickedpair.io.fsync_and_replace`) -- if
    the block raised or left one of them unwritten, none is, the temporaries are removed and
    the previous files stay as they were."""
    targets = [Path(p) for p in paths]
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
    tmp = {t: temporary_name(t) for t in targets}
    try:
        yield tmp
        unwritten = [str(t) for t, x in tmp.items() if not x.exists()]
        if unwritten:
            raise FileNotFoundError(f"not written: {', '.join(unwritten)} (the previous files are kept)")
        for x in tmp.values():  # every one on disk before the first rename
            fsync_file(x)
        for t, x in tmp.items():
            fsync_and_replace(x, t)
    finally:
        for x in tmp.values():
            with contextlib.suppress(FileNotFoundError):
                x.unlink()
