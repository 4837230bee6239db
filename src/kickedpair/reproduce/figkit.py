"""What the figure modules share beyond reading and writing (:mod:`kickedpair.reproduce.common`):
number formatting for the comparison texts, matching runs by their roles, the measures of a
quantum or random-kick energy curve against the classical line (Figs. 2 and 3), the combination
of checks into a verdict, the summary and comparison records, and the grey shades of the curves.

Every figure module ``figN`` is a short driver over four stages,

    load(plan)       the runs' results, as read (MissingResult if one is absent)
    measure(data)    the numbers the verdicts and tables need
    judge(...)       the comparisons with the paper, each verdict from a pure rule
    draw / write     figN.png and the tables

and imports its helpers from here or from ``common`` and ``fits``, never from another figure.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import common
from .fits import FIT_FLOOR

# Rules shared by Fig. 2 and Fig. 3 (stated in their comparisons).
FOLLOW_TOL = 0.2        # "follows the classical line": |ratio - 1| <= 0.2
LOCAL_GROWTH = 0.25     # "localised" / "stopped growing": late growth <= 0.25 of the classical one
PAPER_T_F = 500         # the paper's t_f of Figs. 2 and 3, used only to name the causes of a difference


# --------------------------------------------------------------------------- text
def num(x: Any, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; "nan" when it is not finite; ``str(x)`` when it
    is not a number."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{x:.{digits}g}" if math.isfinite(x) else "nan"


def pm(value: float, error: float, error_digits: int = 2) -> str:
    """``value ± error``: three digits of the value, ``error_digits`` of the error."""
    return f"{num(value)} ± {num(error, error_digits)}"


def sci(v: float) -> str:
    """1e-4 rather than 0.0001."""
    m, e = f"{v:.2e}".split("e")
    return f"{float(m):g}e{int(e)}"


def joined(*parts: str) -> str:
    """The non-empty ``parts``, joined by "; " (a comparison's causes)."""
    return "; ".join(p for p in parts if p)


def short_run(n_kicks: int) -> str:
    """The cause "t_f shorter than the paper's" ("" when it is not)."""
    return f"t_f = {n_kicks} < the paper's {PAPER_T_F}" if n_kicks < PAPER_T_F else ""


def variant_note(variant: Mapping[str, Any], label: str = "variant") -> list[str]:
    """``["variant: <its description>"]``, or nothing when the variant has none."""
    return [f"{label}: {variant['description']}"] if variant.get("description") else []


def span(values: Sequence[float]) -> str:
    """``lo..hi`` to three digits (one number when both read the same)."""
    lo, hi = num(min(values)), num(max(values))
    return lo if lo == hi else f"{lo}..{hi}"


# --------------------------------------------------------------------------- runs
def same(a: float, b: float, rel_tol: float = 1e-9) -> bool:
    """Two parameter values are the same (as read from configs and roles)."""
    return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=1e-12)


def run_at(runs: Iterable[Mapping[str, Any]], missing: str, **role: float) -> dict:
    """The first run whose role has these values; :class:`MissingResult` ``missing`` if none has."""
    run = next((r for r in runs if all(same(r["role"][k], v) for k, v in role.items())), None)
    if run is None:
        raise common.MissingResult(missing)
    return run


def run_n_kicks(run: Mapping[str, Any]) -> int:
    cfg = run["config"]
    return int(cfg[run["engine"]]["n_kicks"])


def classical_energy(result: common.Result, key: str = "p1_sq") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``t``, ``E = <p^2>/2`` and its standard error of an ensemble: a classical one (``<p1^2>``) or,
    with ``key="p_sq"``, the realisations of the random-kick model."""
    s = result.series
    return np.asarray(s["t"], float), np.asarray(s[key], float) / 2.0, np.asarray(s[f"{key}_sem"], float) / 2.0


def final_distribution(result: common.Result, n_kicks: int, where: str) -> tuple[int, np.ndarray]:
    """``(t, P)`` at ``t = n_kicks`` (else the latest recorded time)."""
    if not result.distributions or result.momenta is None:
        raise common.MissingResult(f"{where}: no momentum distribution recorded")
    t = n_kicks if n_kicks in result.distributions else max(result.distributions)
    return t, np.asarray(result.distributions[t], float)


# --------------------------------------------------------------------------- measures
def late_mask(t: np.ndarray) -> np.ndarray:
    """The late half of the run, ``t >= t_f / 2``."""
    t = np.asarray(t, float)
    return t >= t.max() / 2.0


def late_slope(t: np.ndarray, E: np.ndarray) -> float:
    """Least-squares slope of ``E(t)`` over the late half."""
    return common.fit_line(*(np.asarray(x, float)[late_mask(t)] for x in (t, E))).slope


def on_common_times(t_a, E_a, t_b, E_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two series on the integer times they share."""
    t, ia, ib = np.intersect1d(np.asarray(t_a, float), np.asarray(t_b, float), return_indices=True)
    return t, np.asarray(E_a, float)[ia], np.asarray(E_b, float)[ib]


def against_classical(t_q, E_q, t_c, E_c) -> dict[str, float]:
    """``ratio_f``, ``ratio_late`` and ``growth`` of a quantum curve against the classical one."""
    t, q, c = on_common_times(t_q, E_q, t_c, E_c)
    late = late_mask(t) & (c > 0)
    ratio_f = float(q[-1] / c[-1]) if c[-1] > 0 else float("nan")
    ratio_late = float(np.mean(q[late] / c[late])) if late.any() else float("nan")
    s_q, s_c = late_slope(t, q), late_slope(t, c)
    growth = s_q / s_c if math.isfinite(s_c) and s_c > 0 else float("nan")
    return {"t_f": float(t[-1]), "ratio_f": ratio_f, "ratio_late": ratio_late, "growth": growth,
            "slope_q": s_q, "slope_c": s_c}


def count_inversions(values: Sequence[float], decreasing: bool = True) -> int:
    """Adjacent pairs out of the expected order (0: monotonic)."""
    d = np.diff(np.asarray(values, float))
    return int(np.sum(d >= 0) if decreasing else np.sum(d <= 0))


# --------------------------------------------------------------------------- verdicts
def verdict_of(checks: Iterable[bool | None]) -> str:
    """All evaluable checks pass: agrees; none: differs; some: partly; none evaluable: not compared."""
    done = [c for c in checks if c is not None]
    return "not compared" if not done else "agrees" if all(done) else "partly" if any(done) else "differs"


def check(value: float, test) -> bool | None:
    """``test(value)``, or None (not evaluable) when ``value`` is not finite."""
    return None if not math.isfinite(value) else bool(test(value))


# --------------------------------------------------------------------------- records
def comparison(quantity: str, paper: str, project: str, verdict: str, cause: str = "") -> dict:
    """One row of a figure's comparison with the paper (keys in the summary's order)."""
    return {"quantity": quantity, "paper": paper, "project": project, "verdict": verdict, "cause": cause}


def judged(quantity: str, paper: str, project: str, verdict: str, cause: str) -> dict:
    """:func:`comparison` naming ``cause`` only when the verdict is not "agrees"."""
    return comparison(quantity, paper, project, verdict, "" if verdict == "agrees" else cause)


def summary(title: str, parameters: dict, resolution: list, convergence: list, comparisons: list,
            notes: list, tables: Sequence[str], image: str) -> dict:
    """A figure's summary (see :mod:`kickedpair.reproduce.common`), keys in their order."""
    return {"title": title, "parameters": parameters, "resolution": resolution, "convergence": convergence,
            "comparisons": comparisons, "notes": notes, "tables": list(tables), "image": image}


# --------------------------------------------------------------------------- drawing
def shades(n: int) -> list:
    """Black for the smallest hbar to mid grey for the largest (the paper draws all in black)."""
    return [str(0.65 * i / max(n - 1, 1)) for i in range(n)]


@contextmanager
def panels(path, nrows: int, ncols: int, figsize: tuple, **kw):
    """The axes of an ``nrows x ncols`` figure; laid out and saved to ``path`` when the block ends."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, **kw)
    yield axes
    fig.tight_layout()
    common.save_figure(fig, path)
    plt.close(fig)


def finish_energy(ax, t_max: float, ylabel: str, title: str) -> None:
    """Axes of an energy panel (Figs. 2a, 3a, 3b): t and E from 0, the legend top left."""
    ax.set(xlabel="t", ylabel=ylabel, xlim=(0, t_max), ylim=(0, None))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")


def finish_distributions(ax, p_max: float, Ps: Iterable, ylabel: str, title: str) -> None:
    """Axes of a distribution panel (Figs. 2b, 3c): p within 1.15 p_max, P down to 1/30 of the fit
    floor of the largest of the ``Ps`` drawn (halved as mirrored), the legend below."""
    lo = min((FIT_FLOOR * float(np.max(P)) / 2 / 30 for P in Ps), default=math.inf)
    if math.isfinite(p_max) and p_max > 0:
        ax.set_xlim(-1.15 * p_max, 1.15 * p_max)
    if math.isfinite(lo):
        ax.set_ylim(bottom=lo)
    ax.set(xlabel="p", ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
