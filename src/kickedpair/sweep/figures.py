"""Figures of a sweep from its aggregated tables (``tables/sweep.h5``).

    python -m kickedpair.sweep.figures RESULTS/PRESET/tables/sweep.h5 --out-dir RESULTS/PRESET/figures

* :func:`phase_diagram` -- ``hbar_c(m)`` and ``hbar_DL(m)`` over ``(m, hbar)``, ``m`` on a log
  axis, regions labelled classical diffusion (below ``hbar_c``), transition, dynamical
  localisation (above ``hbar_DL``); thresholds outside the grid drawn as open arrows at the
  grid's edge; missing cells named in the title.
* :func:`eta_vs_hbar` -- ``eta(hbar)`` per mass ratio with the exponential fits (Fig. 4a).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import write_file_atomic  # noqa: E402
from .aggregate import OK, read_tables  # noqa: E402
from .files import replaced_together  # noqa: E402

REGION_COLOURS = {"classical diffusion": "#d8e8f5", "transition": "#f4ecd2",
                  "dynamical localisation": "#f5d9d9"}


def _save(fig, paths: Sequence[str | Path]) -> list[Path]:
    try:
        return [write_file_atomic(p, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight"))
                for p in paths]
    finally:
        plt.close(fig)


def _finish(fig, ax, paths: Sequence[str | Path], title: str, meta: Mapping[str, Any], ncol: int) -> list[Path]:
    """Title (in red, naming the missing cells, when there are) and legend; saved unless drawn into an ax given."""
    n = int(meta.get("n_missing", 0))
    note = f"  [{n} of {int(meta.get('n_cells', 0))} cells missing]" if n else ""
    ax.set_title(title + note, fontsize=10, color="firebrick" if note else "black")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol, frameon=False)
    return _save(fig, paths) if fig is not None else []


def _axis_limits(m: np.ndarray, hbar_grid: Sequence[float], hbar_scale: str) -> tuple[float, float, float, float]:
    """(xlo, xhi, ylo, yhi) of the phase diagram: the masses and the hbar grid with a margin."""
    hmin, hmax = float(min(hbar_grid)), float(max(hbar_grid))
    if hbar_scale == "log":
        ylo, yhi = hmin / 1.3, hmax * 1.3
    else:
        pad = 0.05 * (hmax - hmin or hmax)
        ylo, yhi = max(0.0, hmin - pad), hmax + pad
    xlo, xhi = (m.min() / 1.6, m.max() * 1.6) if m.size else (1e-3, 1.0)
    return xlo, xhi, ylo, yhi


def _region_bounds(rows, m, hc, hdl, lims) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x and the two threshold curves extended flat to the plot's sides. A threshold beyond the
    grid bounds its region at the plot's edge (shading only; the tables keep NaN and the flag);
    a threshold not bracketed leaves a gap."""
    xlo, xhi, ylo, yhi = lims

    def shading_curve(values, key):
        edges = {"below_grid": ylo, "above_grid": yhi}
        return np.array([edges.get(r[f"{key}_flag"], v) for r, v in zip(rows, values)], dtype=float)

    def edge(v):
        return np.concatenate([[v[0]], v, [v[-1]]]) if v.size else np.array([np.nan, np.nan])

    x = np.concatenate([[xlo], m, [xhi]]) if m.size else np.array([xlo, xhi])
    return x, edge(shading_curve(hc, "hbar_c")), edge(shading_curve(hdl, "hbar_DL"))


def _shade(ax, x, c_line, dl_line, ylo, yhi) -> None:
    ok_c, ok_dl = np.isfinite(c_line), np.isfinite(dl_line)
    c, dl = np.where(ok_c, c_line, ylo), np.where(ok_dl, dl_line, yhi)
    for lo, hi, where, name in ((ylo, c, ok_c, "classical diffusion"), (c, dl, ok_c & ok_dl, "transition"),
                                (dl, yhi, ok_dl, "dynamical localisation")):
        ax.fill_between(x, lo, hi, where=where, color=REGION_COLOURS[name], lw=0)


def _thresholds(ax, rows, m, hc, hdl, hbar_grid, meta) -> None:
    """The two threshold curves; those the grid does not bracket as open arrows at its edge."""
    hmin, hmax = float(min(hbar_grid)), float(max(hbar_grid))
    ax.plot(m, hc, "o-", color="tab:blue", label=r"$\hbar_c$ ($\eta = %g$)" % _level(meta, "eta_c", 0.9))
    ax.plot(m, hdl, "^-", color="tab:red", label=r"$\hbar_{DL}$ ($\eta = %g$)" % _level(meta, "eta_dl", 0.1))
    for key, values, colour in (("hbar_c", hc, "tab:blue"), ("hbar_DL", hdl, "tab:red")):
        lo, hi = (np.array([r.get(f"{key}_{end}", math.nan) for r in rows], dtype=float) for end in ("lo", "hi"))
        known = np.isfinite(values) & np.isfinite(lo) & np.isfinite(hi)
        if known.any():  # the one-standard-error interval of each threshold (eta's errors)
            ax.errorbar(m[known], values[known], yerr=[values[known] - lo[known], hi[known] - values[known]],
                        fmt="none", ecolor=colour, capsize=3, lw=1)
    beyond = {"above_grid": ("^", hmax), "below_grid": ("v", hmin)}
    for r in rows:
        for key, colour in (("hbar_c", "tab:blue"), ("hbar_DL", "tab:red")):
            if r[f"{key}_flag"] in beyond:
                marker, y = beyond[r[f"{key}_flag"]]
                ax.plot([r["m"]], [y], marker=marker, mfc="none", mec=colour, ms=9, ls="none")
    ax.plot([], [], marker="^", mfc="none", mec="grey", ls="none", label="threshold beyond the grid")


def _region_labels(ax, m, c_line, dl_line, lims, hbar_scale) -> None:
    """Each region's name in its middle, at a mass ratio where both bounds are known (the middle
    one of those), else in the middle of the plot; near a side, anchored at that side."""
    xlo, xhi, ylo, yhi = lims
    known = np.flatnonzero(np.isfinite(c_line[1:-1]) & np.isfinite(dl_line[1:-1])) if m.size else []
    if len(known):
        k = known[len(known) // 2]
        xm, yc, ydl = m[k], c_line[1 + k], max(dl_line[1 + k], c_line[1 + k])
    else:
        xm = math.sqrt(xlo * xhi)
        yc, ydl = ylo + (yhi - ylo) / 3, ylo + 2 * (yhi - ylo) / 3

    def mid(a, b):
        return math.sqrt(a * b) if hbar_scale == "log" and a > 0 and b > 0 else 0.5 * (a + b)

    fx = (math.log(xm) - math.log(xlo)) / (math.log(xhi) - math.log(xlo))
    ha = "left" if fx < 0.3 else "right" if fx > 0.7 else "center"
    xm = xlo * 1.15 if ha == "left" else xhi / 1.15 if ha == "right" else xm
    style = dict(ha=ha, va="center", fontsize=9, style="italic", clip_on=True)
    for lo, hi, name in ((ylo, yc, "classical diffusion"), (yc, ydl, "transition"), (ydl, yhi, "dynamical localisation")):
        if hi > lo:
            ax.text(xm, mid(lo, hi), name, **style)


def phase_diagram(thresholds: Sequence[Mapping[str, Any]], paths: Sequence[str | Path],
                  hbar_grid: Sequence[float], meta: Mapping[str, Any] | None = None,
                  hbar_scale: str = "linear", ax=None) -> list[Path]:
    """Draw the phase diagram into every file of ``paths`` (format from the suffix),
    or into ``ax`` when one is given (then nothing is saved)."""
    meta = meta or {}
    rows = sorted(thresholds, key=lambda r: r["m"])
    m, hc, hdl = (np.array([r[k] for r in rows], dtype=float) for k in ("m", "hbar_c", "hbar_DL"))
    lims = _axis_limits(m, hbar_grid, hbar_scale)
    fig, ax = (None, ax) if ax is not None else plt.subplots(figsize=(5.5, 4.2))
    ax.set(xscale="log", yscale=hbar_scale, xlim=lims[:2], ylim=lims[2:])
    x, c_line, dl_line = _region_bounds(rows, m, hc, hdl, lims)
    _shade(ax, x, c_line, dl_line, *lims[2:])
    _thresholds(ax, rows, m, hc, hdl, hbar_grid, meta)
    _region_labels(ax, m, c_line, dl_line, lims, hbar_scale)
    ax.set(xlabel=r"mass ratio $m$", ylabel=r"$\hbar_{\rm eff}$")
    return _finish(fig, ax, paths, f"phase diagram, preset {meta.get('preset', '')}".rstrip(), meta, ncol=3)


def _level(meta: Mapping[str, Any], key: str, default: float) -> float:
    return float(_analysis(meta).get(key, default))


def eta_vs_hbar(cells: Sequence[Mapping[str, Any]], thresholds: Sequence[Mapping[str, Any]],
                paths: Sequence[str | Path], meta: Mapping[str, Any] | None = None,
                hbar_scale: str = "linear", ax=None) -> list[Path]:
    """``eta(hbar)`` per mass ratio (log ``eta``) with its exponential fit over the fit range;
    into ``ax`` when one is given (then nothing is saved)."""
    meta = meta or {}
    fig, ax = (None, ax) if ax is not None else plt.subplots(figsize=(5.5, 4.2))
    ax.set(yscale="log", xscale=hbar_scale)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, t in enumerate(sorted(thresholds, key=lambda r: r["m"])):
        colour = colours[k % len(colours)]
        pts = sorted((c for c in cells if c["m"] == t["m"] and c["status"] == OK), key=lambda c: c["hbar"])
        h, e, err = (np.array([c[key] for c in pts], dtype=float) for key in ("hbar", "eta", "eta_err"))
        err = np.where(np.isfinite(err), err, 0.0)
        label = f"m = {t['m']:g}"
        if np.isfinite(t["alpha"]):
            label += r", $\alpha$ = %.3g" % t["alpha"]
            if np.isfinite(t["alpha_err"]):
                label += r" $\pm$ %.2g" % t["alpha_err"]
        ax.errorbar(h, e, yerr=err, fmt="o", color=colour, ms=4, capsize=2, label=label)
        if np.isfinite(t["alpha"]) and np.isfinite(t["fit_hbar_lo"]):
            hf = np.linspace(t["fit_hbar_lo"], t["fit_hbar_hi"], 50)
            ax.plot(hf, np.exp(t["a"] - t["alpha"] * hf), "--", color=colour, lw=1)
    for key, default in (("eta_c", 0.9), ("eta_dl", 0.1)):
        ax.axhline(_level(meta, key, default), color="grey", lw=0.7, ls=":")
    ax.set(xlabel=r"$\hbar_{\rm eff}$", ylabel=r"$\eta = D_q / D_c$")
    return _finish(fig, ax, paths, f"eta vs hbar, preset {meta.get('preset', '')}", meta, ncol=2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kickedpair.sweep.figures",
                                description="phase diagram and eta(hbar) from tables/sweep.h5")
    p.add_argument("table", help="the sweep.h5 written by kickedpair.sweep.aggregate")
    p.add_argument("--out-dir", required=True, help="folder of the figures")
    p.add_argument("--hbar-scale", choices=("linear", "log"), help="default: from the sweep's analysis settings")
    args = p.parse_args(argv)
    try:
        cells, thresholds, meta = read_tables(args.table)
    except (OSError, KeyError) as exc:
        print(f"figures: error: cannot read {args.table}: {exc}", file=sys.stderr)
        return 2
    scale = args.hbar_scale or _analysis(meta).get("hbar_scale", "linear")
    grid = json.loads(meta["hbar_grid"]) if isinstance(meta.get("hbar_grid"), str) else \
        sorted({c["hbar"] for c in cells})
    out = Path(args.out_dir)
    phase = [out / "phase_diagram.png", out / "phase_diagram.pdf"]
    eta = [out / "eta_vs_hbar.png", out / "eta_vs_hbar.pdf"]
    # drawn under temporary names, renamed over the previous figures once all four are there
    with replaced_together(phase + eta) as tmp:
        phase_diagram(thresholds, [tmp[p_] for p_ in phase], grid, meta, scale)
        eta_vs_hbar(cells, thresholds, [tmp[p_] for p_ in eta], meta, scale)
    if int(meta.get("n_missing", 0)):
        print(f"figures: WARNING: {meta['n_missing']} cells missing (see tables/missing.txt); "
              "the figures say so in their titles", file=sys.stderr)
    print(*phase, *eta, sep="\n")
    return 0


def _analysis(meta: Mapping[str, Any]) -> dict:
    a = meta.get("analysis", {})
    if isinstance(a, str):
        try:
            return json.loads(a)
        except ValueError:
            return {}
    return dict(a)


if __name__ == "__main__":
    sys.exit(main())
