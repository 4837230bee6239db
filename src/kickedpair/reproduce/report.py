"""``python -m kickedpair.reproduce.report FIG1.json ... FIG5.json --estimates E.json --out-dir DIR``.

Writes ``DIR/reproduction.md`` and copies each figure's picture, summary and tables to
``DIR/figures/``. Everything it needs is checked first: a missing or incomplete summary, picture
or table stops it with exit status 2 and a line naming the file, and nothing is written -- the
report is whole or absent, never partial.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..io import write_text_atomic
from .common import SUMMARY_KEYS, VERDICTS, write_bytes
from .plan import FIGURE_TABLES, FIGURES, REPORT_NAME

PAPER = "Zhao & Jie 2020, *Quantum to classical transition induced by a classically small influence*"


class ReportError(RuntimeError):
    """An input of the report is missing or malformed."""


# --------------------------------------------------------------------------- loading
def load_summaries(paths: Iterable[str | os.PathLike]) -> dict[str, dict]:
    """Summary of each figure, keyed by figure; every file it names must be beside it."""
    summaries: dict[str, dict] = {}
    for p in map(Path, paths):
        if not p.is_file():
            raise ReportError(f"{p}: missing")
        try:
            s = json.loads(p.read_text())
        except ValueError as exc:
            raise ReportError(f"{p}: not valid JSON ({exc})") from None
        missing = [k for k in (*SUMMARY_KEYS, "figure") if k not in s]
        if missing:
            raise ReportError(f"{p}: lacks {', '.join(missing)}")
        if s["figure"] not in FIGURES:
            raise ReportError(f"{p}: unknown figure {s['figure']!r}")
        if tuple(s["tables"]) != tuple(FIGURE_TABLES[s["figure"]]):
            raise ReportError(f"{p}: tables {s['tables']} are not {list(FIGURE_TABLES[s['figure']])}")
        for name in [s["image"], *s["tables"]]:
            f = p.parent / name
            if not f.is_file() or f.stat().st_size == 0:
                raise ReportError(f"{f}: missing or empty")
        for c in s["comparisons"]:
            if c.get("verdict") not in VERDICTS:
                raise ReportError(f"{p}: comparison {c.get('quantity')!r} has verdict {c.get('verdict')!r}")
        s["_dir"] = str(p.parent)
        summaries[s["figure"]] = s
    absent = [f for f in FIGURES if f not in summaries]
    if absent:
        raise ReportError(f"no summary of {', '.join(absent)}: the report needs all of {', '.join(FIGURES)}")
    return summaries


def load_estimates(path: str | os.PathLike | None) -> dict[str, list[dict]]:
    if path is None:
        raise ReportError("--estimates: required (the workflow's reproduction/estimates.json)")
    p = Path(path)
    if not p.is_file():
        raise ReportError(f"{p}: missing")
    return json.loads(p.read_text())


# --------------------------------------------------------------------------- markdown
def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:.3g}" if (abs(v) >= 1e-3 or v == 0) and abs(v) < 1e5 else f"{v:.2e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if v is None:
        return ""
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(rows: list[Mapping[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "_none_\n"
    if columns is None:
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |\n" for r in rows)


def _verdict(v: str) -> str:
    return {"agrees": "agrees", "partly": "**partly**", "differs": "**differs**"}.get(v, v)


def _estimate_rows(rows: list[dict], figure: str | None = None) -> list[dict]:
    out = []
    for r in rows:
        if figure and r["figure"] != figure:
            continue
        out.append({"figure": r["figure"], "run": r["run"], "N1 x N2": f"{r['N1']} x {r['N2']}",
                    "scheme": r["scheme"], "substeps": r["substeps"], "kicks": r["n_kicks"],
                    "memory (GB)": r["memory_mb"] / 1024, "core-hours": r["core_hours"]})
    return out


def render(summaries: dict[str, dict], estimates: dict[str, list[dict]], preset: str,
           provenance: Mapping[str, str]) -> str:
    lines: list[str] = []
    for section in (_header(preset, provenance), _all_comparisons(summaries), _convergence(summaries),
                    _disagreements(summaries), *(_figure(f, summaries[f]) for f in FIGURES), _resources(estimates)):
        lines += section
    return "\n".join(lines) + "\n"


def _header(preset: str, provenance: Mapping[str, str]) -> list[str]:
    return [
        "# Reproduction of the paper's figures\n",
        f"Generated by the pipeline (`snakemake figures --config preset={preset}`) from the results of "
        f"preset `{preset}`; do not edit by hand. Paper: {PAPER} (`shared/paper`), physics contract "
        f"`MODEL.md`. Code version {provenance.get('code_version', '?')}, commit "
        f"`{provenance.get('git_commit', '?')}`, written {provenance.get('created_utc', '?')}.\n",
        "Each figure below shows the picture, the parameters and resolution actually used, the "
        "convergence checks of its quantum runs, and a side-by-side table of what the paper states and "
        "what the project measured. Every verdict comes from a rule stated in the comparison and in the "
        "figure's module (`src/kickedpair/reproduce/figN.py`). The tables behind each picture are in "
        "`figures/`.\n",
    ]


def _all_comparisons(summaries: dict[str, dict]) -> list[str]:
    rows = [{"figure": f, "quantity": c["quantity"], "paper": c["paper"], "project": c["project"],
             "verdict": _verdict(c["verdict"])} for f in FIGURES for c in summaries[f]["comparisons"]]
    return ["## All comparisons\n", md_table(rows, ["figure", "quantity", "paper", "project", "verdict"])]


def _convergence(summaries: dict[str, dict]) -> list[str]:
    lines = ["\n## Convergence of the quantum runs\n"]
    judged = [(f, r) for f in FIGURES for r in summaries[f].get("convergence", []) if "accepted" in r]
    if not judged:
        return lines + ["No quantum run of these figures has a convergence verdict.\n"]
    tols = sorted({(float(r["tol_p1"]), float(r["tol_purity"])) for _, r in judged})
    lines.append(
        "Every checked quantum run is evolved again over its first `quantum.convergence_kicks` kicks and over "
        "as many kicks on from its final state, at twice the substeps and on doubled grids (its own "
        "substeps are the ones its pilot self-check accepted). A run is accepted only when every pointwise "
        "relative change of <p1^2> is below "
        + " / ".join(f"{p:g}" for p, _ in tols) + " and every absolute change of the purity below "
        + " / ".join(f"{q:g}" for _, q in tols)
        + f" (verdict 'converged'): {sum(bool(r['accepted']) for _, r in judged)} of {len(judged)} accepted.\n")
    bad = [(f, r) for f, r in judged if not r["accepted"]]
    for f, r in bad:
        lines.append(f"- **{f}, run {r['run']}: NOT ACCEPTED** ({r['verdict']}"
                     + (f": {r['verdict_reason']}" if r.get("verdict_reason") else "") + ")")
    return lines + ([""] if bad else [])


def _disagreements(summaries: dict[str, dict]) -> list[str]:
    lines = ["\n## Disagreements and their likely causes\n"]
    bad = [(f, c) for f in FIGURES for c in summaries[f]["comparisons"] if c["verdict"] in ("partly", "differs")]
    if not bad:
        lines.append("None: every compared statement agrees.\n")
    for f, c in bad:
        lines.append(f"- **{f}, {c['quantity']}** ({c['verdict']}): paper: {c['paper']}; project: {c['project']}. "
                     f"Likely cause: {c.get('cause') or 'not identified'}.")
    return lines + [""]


def _figure(f: str, s: Mapping[str, Any]) -> list[str]:
    label = f"Fig. {f[3:]}"
    title = s["title"] if s["title"].startswith(label) else f"{label}: {s['title']}"
    lines = [f"## {title}\n", f"![{f}](figures/{s['image']})\n", "**Parameters used**\n",
             md_table([{"parameter": k, "value": v} for k, v in s["parameters"].items()]),
             "\n**Comparison with the paper**\n",
             md_table([{**c, "verdict": _verdict(c["verdict"])} for c in s["comparisons"]],
                      ["quantity", "paper", "project", "verdict", "cause"]),
             "\n**Resolution and cost of each run**\n", md_table(s["resolution"])]
    if s["convergence"]:
        lines += ["\n**Convergence of the quantum runs** (largest change at twice the substeps and on doubled "
                  "grids: `half_step_*`, `double_grid_*` relative, over the first kicks; `start_*_purity_abs` and "
                  "`end_*` over the first kicks and over the kicks after the run's final state, the purity's "
                  "absolute; `accepted`: the verdict is 'converged' over both stretches, against `tol_p1` "
                  "(relative, <p1^2>) and `tol_purity` (absolute, purity))\n", md_table(s["convergence"])]
    if s["notes"]:
        lines += ["\n**Notes**\n", *(f"- {n}" for n in s["notes"])]
    return lines + [f"\nTables: {', '.join(f'`figures/{t}`' for t in s['tables'])}.\n"]


def _resources(estimates: dict[str, list[dict]]) -> list[str]:
    lines = [
        "## Resources of the paper variants\n",
        "The engine's own estimate (`kickedpair estimate`, `kickedpair.quantum.cost`) of every quantum run "
        "of each preset's variants and of the quantum cells of its sweep (Fig. 4); one core's time, "
        "divide by the ranks for the wall time at full efficiency. The grids and substeps are the "
        "engine's automatic choice unless the variant sets them.\n",
    ]
    for name, rows in estimates.items():
        total = sum(r["core_hours"] for r in rows)
        peak = max((r["memory_mb"] for r in rows), default=0) / 1024
        lines += [f"### Preset `{name}`: {len(rows)} quantum runs, {total:.3g} core-hours in all, "
                  f"largest {peak:.3g} GB\n",
                  md_table([r for r in _estimate_rows(rows) if r["figure"] != "fig4"])]
        sweep = [r for r in rows if r["figure"] == "fig4"]
        if sweep:
            big = max(sweep, key=lambda r: r["core_hours"])
            lines.append(f"\nFig. 4's sweep: {len(sweep)} cells, {sum(r['core_hours'] for r in sweep):.3g} "
                         f"core-hours; the largest, {big['run']}, {big['N1']} x {big['N2']} ({big['scheme']}, "
                         f"{big['substeps']} substeps), {big['memory_mb'] / 1024:.3g} GB, "
                         f"{big['core_hours']:.3g} core-hours.\n")
    return lines


# --------------------------------------------------------------------------- writing
def _copy_atomic(src: Path, dst: Path) -> None:
    write_bytes(dst, src.read_bytes())


def write_report(summaries: dict[str, dict], estimates: dict[str, list[dict]], out_dir: Path,
                 preset: str) -> Path:
    from ..io import provenance

    from datetime import datetime, timezone

    prov = {**provenance(), "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    text = render(summaries, estimates, preset, prov)
    figures_dir = out_dir / "figures"
    for f in FIGURES:
        s = summaries[f]
        src = Path(s["_dir"])
        for name in [s["image"], f"{f}.json", *s["tables"]]:
            _copy_atomic(src / name, figures_dir / name)
    return write_text_atomic(out_dir / REPORT_NAME, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kickedpair.reproduce.report", description=__doc__)
    ap.add_argument("summaries", nargs="+", help="FIG.json of each figure (all five)")
    ap.add_argument("--estimates", help="reproduction/estimates.json written by the workflow")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--preset", required=True)
    args = ap.parse_args(argv)
    try:
        summaries = load_summaries(args.summaries)
        estimates = load_estimates(args.estimates)
    except ReportError as exc:
        print(f"report: error: {exc}; no report written", file=sys.stderr)
        return 2
    path = write_report(summaries, estimates, Path(args.out_dir), args.preset)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
