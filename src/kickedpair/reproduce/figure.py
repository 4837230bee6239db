"""``python -m kickedpair.reproduce.figure FIG --plan PLAN.json --out-dir DIR``.

Draws one of the paper's figures from its runs (see :mod:`kickedpair.reproduce.common` for the
contract of the figure modules) and writes ``DIR/FIG.json``, the summary the report is built from.
Exit status 2, with one line naming the file, when a result it needs is missing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from .common import MissingResult, check_summary, write_json
from .plan import FIGURE_TABLES, FIGURES


def make_figure(figure: str, plan: dict, out_dir: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    module = importlib.import_module(f"kickedpair.reproduce.{figure}")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = module.make(plan, out_dir)
    summary.setdefault("image", f"{figure}.png")
    summary.setdefault("tables", list(module.TABLES))
    if tuple(summary["tables"]) != tuple(FIGURE_TABLES[figure]):
        raise ValueError(f"{figure}: tables {summary['tables']} differ from plan.FIGURE_TABLES")
    check_summary(summary, out_dir, figure)
    summary["figure"] = figure
    write_json(out_dir / f"{figure}.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kickedpair.reproduce.figure", description=__doc__)
    ap.add_argument("figure", choices=FIGURES)
    ap.add_argument("--plan", required=True, help="plan.json written by the workflow")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args(argv)
    plan = json.loads(Path(args.plan).read_text())
    try:
        make_figure(args.figure, plan, Path(args.out_dir))
    except MissingResult as exc:
        print(f"{args.figure}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.figure}: written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
