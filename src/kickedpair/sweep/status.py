"""Where a sweep stands: each cell done, running, partial, failed or missing.

    python -m kickedpair.sweep.status RESULTS/PRESET [--all] [--json] [--check]

A cell is ``done`` (its result file is complete), ``failed`` (its last attempt tripped a guard,
ended with a non-zero exit status, or ended with status 0 but left no result), ``running`` (no exit
status yet and its log moved within ``stale_after`` seconds), ``partial`` (a checkpoint but no
result, and nothing runs: a re-run resumes from it) or ``missing`` (nothing of it exists yet).
The cells are those of the manifest ``sweep.json``, or without one those found under
``classical/`` and ``quantum/``.  The cell jobs write a start line and an exit status line around
each attempt in their logs (:data:`kickedpair.sweep.plan.LOG_START`, ``LOG_EXIT``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from . import plan as _plan
from ..io import is_complete

STATES = ("done", "running", "partial", "failed", "missing")
STALE_AFTER_S = 300.0
_EXIT_RE = re.compile(re.escape(_plan.LOG_EXIT) + r"\s+(-?\d+)")


def read_log(path: Path) -> dict[str, Any]:
    """What the last attempt in a cell log says: exit status, guard line, last message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {"exists": False}
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(_plan.LOG_START)]
    lines = lines[starts[-1] + 1:] if starts else lines  # only the last attempt counts
    exits = [_EXIT_RE.match(line) for line in lines]
    exit_status = next((int(m.group(1)) for m in reversed(exits) if m), None)
    body = [line for line, m in zip(lines, exits) if not m]
    guard = next((ln.strip() for ln in reversed(body) if "guard '" in ln), "")
    last = next((ln.strip() for ln in reversed(body) if ln.strip()), "")
    return {"exists": True, "exit_status": exit_status, "guard": guard, "last_line": last,
            "mtime": path.stat().st_mtime}


def _checkpoints(sweep_dir: Path, entry: Mapping[str, Any]) -> list[Path]:
    if entry.get("checkpoint"):
        p = sweep_dir / entry["checkpoint"]
        return [p] if p.exists() else []
    return sorted((sweep_dir / entry["result"]).parent.glob("checkpoint*.h5")) if entry.get("kind") == "quantum" else []


def classify(sweep_dir: str | Path, entry: Mapping[str, Any], now: float | None = None,
             stale_after: float = STALE_AFTER_S) -> dict[str, Any]:
    """State of one cell of the manifest (paths relative to ``sweep_dir``)."""
    sweep_dir = Path(sweep_dir)
    now = time.time() if now is None else now
    result = sweep_dir / entry["result"]
    log = sweep_dir / entry["log"] if entry.get("log") else None
    ckpts = _checkpoints(sweep_dir, entry)
    state, detail = _state(result, log, bool(ckpts), now, stale_after)
    return {"kind": entry.get("kind", ""), "name": entry["name"], "m": entry.get("m"),
            "hbar": entry.get("hbar"), "result": str(result), "log": str(log) if log else "",
            "checkpoint": str(ckpts[0]) if ckpts else "", "state": state, "detail": detail}


def _state(result: Path, log: Path | None, ckpts: bool, now: float, stale_after: float) -> tuple[str, str]:
    """``(state, detail)`` of a cell: done, or what its log's last attempt says."""
    if is_complete(result):
        return "done", ""
    info = read_log(log) if log is not None else {"exists": False}
    if not info["exists"]:
        if ckpts:
            return "partial", "checkpoint present, no result"
        return ("failed", f"{result.name} is not a complete result file") if result.exists() else ("missing", "")
    resumable = " (checkpoint present: a re-run resumes from it)" if ckpts else ""
    status, silent = info["exit_status"], now - info["mtime"]
    if info["guard"]:
        return "failed", info["guard"] + resumable
    if status not in (None, 0):
        return "failed", f"exit status {status}: {info['last_line'] or 'no message'}{resumable}"
    if status == 0:
        aside = _set_aside(result)
        if aside is None:
            return "failed", "exit status 0 but no complete result file"
        return "missing", f"its result was not complete and is set aside as {aside.name}: the next run makes it again"
    if silent <= stale_after:
        return "running", info["last_line"]
    if ckpts:
        return "partial", (f"log silent for {silent:.0f} s, no exit status (killed or timed out?): "
                           "resumes from its checkpoint")
    return "failed", f"log silent for {silent:.0f} s without an exit status (killed or timed out?)"


def _set_aside(result: Path) -> Path | None:
    """The newest ``<result>.incomplete*`` left by the workflow when ``result`` is missing."""
    if result.exists():
        return None
    base = result.name + ".incomplete"
    found = [p for p in result.parent.glob(base + "*")
             if p.name == base or re.fullmatch(re.escape(base) + r"\.\d+", p.name)]
    return max(found, key=lambda p: int(p.name[len(base) + 1:] or 0)) if found else None


def _discover(sweep_dir: Path) -> dict[str, Any]:
    """A manifest built from the folders present (when sweep.json is missing)."""
    def cell(kind: str, result: str, log: str, **grid: str) -> dict[str, Any]:
        return {"kind": kind, **grid, "name": ",".join(f"{k}={v}" for k, v in grid.items()),
                "result": result.format(**grid), "log": log.format(**grid)}

    return {"preset": sweep_dir.name, "cells": [
        cell("classical", _plan.CLASSICAL_RESULT, _plan.CLASSICAL_LOG, m=d.name[2:])
        for d in sorted((sweep_dir / "classical").glob("m=*"))] + [
        cell("quantum", _plan.QUANTUM_RESULT, _plan.QUANTUM_LOG, m=d.parent.name[2:], hbar=d.name[5:])
        for d in sorted((sweep_dir / "quantum").glob("m=*/hbar=*"))]}


def summarise(sweep_dir: str | Path, now: float | None = None,
              stale_after: float = STALE_AFTER_S) -> dict[str, Any]:
    """State of every cell of a sweep folder (``RESULTS/PRESET``): ``{"sweep_dir", "preset",
    "from_manifest", "cells", "counts": {state: n}, "complete"}``, each cell as :func:`classify`
    gives it.  Without ``sweep.json`` the cells are those found on disk; a ``sweep.json`` that is
    not a manifest raises :class:`kickedpair.sweep.plan.ManifestError`."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep folder")
    try:
        manifest, from_manifest = _plan.read_manifest(sweep_dir / _plan.MANIFEST), True
    except FileNotFoundError:
        manifest, from_manifest = _discover(sweep_dir), False
    cells = [classify(sweep_dir, e, now, stale_after) for e in manifest["cells"]]
    counts = {s: sum(c["state"] == s for c in cells) for s in STATES}
    return {"sweep_dir": str(sweep_dir), "preset": manifest.get("preset", sweep_dir.name),
            "from_manifest": from_manifest, "cells": cells, "counts": counts,
            "complete": bool(cells) and counts["done"] == len(cells)}


def format_summary(summary: Mapping[str, Any], show_all: bool = False) -> str:
    counts, cells = summary["counts"], summary["cells"]
    lines = [f"sweep {summary['preset']} ({summary['sweep_dir']}): {len(cells)} cells -- "
             + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s] or s == "done")]
    if not summary["from_manifest"]:
        lines.append("  (no sweep.json: only cells with files on disk are listed)")
    width = max((len(c["name"]) for c in cells), default=4) + 10
    lines += [f"  {c['kind'] + ' ' + c['name']:<{width}} {c['state']:<8} {c['detail']}".rstrip()
              for c in cells if show_all or c["state"] != "done"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kickedpair status",
                                description="state of every cell of a sweep folder (RESULTS/PRESET)")
    p.add_argument("sweep_dir", help="the sweep folder, e.g. results/demo")
    p.add_argument("--all", action="store_true", help="list the done cells too")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--check", action="store_true", help="exit status 1 unless every cell is done")
    p.add_argument("--stale-after", type=float, default=STALE_AFTER_S, metavar="S",
                   help="a log silent for longer counts as not running (default %(default)g s)")
    args = p.parse_args(argv)
    try:
        summary = summarise(args.sweep_dir, stale_after=args.stale_after)
    except (FileNotFoundError, _plan.ManifestError) as exc:
        print(f"kickedpair status: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary, show_all=args.all))
    return 1 if args.check and not summary["complete"] else 0


if __name__ == "__main__":
    sys.exit(main())
