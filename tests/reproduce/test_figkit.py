"""The figure modules' shared helpers (reproduce/figkit.py) and the shape of the figure modules:
no figure module imports another, every function stays short."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from kickedpair.reproduce import figkit

REPRODUCE = Path(figkit.__file__).resolve().parent
FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5")
MAX_FUNCTION_LINES = 60


def test_num_pm_sci_span():
    assert figkit.num(0.123456) == "0.123"
    assert figkit.num(0.123456, 2) == "0.12"
    assert figkit.num(12345.0) == "1.23e+04"
    assert figkit.num(float("nan")) == "nan" and figkit.num(float("inf")) == "nan"
    assert figkit.num("gaussian") == "gaussian" and figkit.num(None) == "None"
    assert figkit.num(np.float64(2.0)) == "2" and figkit.num(3) == "3"
    assert figkit.pm(0.0871, 0.00345) == "0.0871 ± 0.0034"
    assert figkit.pm(0.0871, 0.00345, 1) == "0.0871 ± 0.003"
    assert figkit.sci(1e-4) == "1e-4" and figkit.sci(2.5e-3) == "2.5e-3"
    assert figkit.span([0.5, 0.2, 0.3]) == "0.2..0.5"
    assert figkit.span([0.20001, 0.2]) == "0.2"


def test_same_and_run_n_kicks():
    assert figkit.same(0.1, 0.1 + 1e-12) and not figkit.same(0.1, 0.1001)
    assert figkit.same(1e-3, 1e-3 * (1 + 1e-7), rel_tol=1e-6) and not figkit.same(1e-3, 1e-3 * (1 + 1e-7))
    assert figkit.run_n_kicks({"engine": "noise", "config": {"noise": {"n_kicks": 12}}}) == 12


def test_against_classical_and_orders():
    t = np.arange(0.0, 41.0)
    Ec = 0.5 * t
    same = figkit.against_classical(t, Ec, t, Ec)
    assert same["ratio_f"] == pytest.approx(1.0) and same["growth"] == pytest.approx(1.0)
    half = figkit.against_classical(t[::2], 0.5 * Ec[::2], t, Ec)       # on the common times only
    assert half["t_f"] == 40.0 and half["ratio_late"] == pytest.approx(0.5)
    assert figkit.count_inversions([3.0, 2.0, 2.0]) == 1
    assert figkit.count_inversions([1.0, 2.0, 3.0], decreasing=False) == 0
    assert figkit.late_mask(np.arange(5.0)).tolist() == [False, False, True, True, True]


def test_verdict_of_and_check():
    assert figkit.verdict_of([]) == "not compared"
    assert figkit.verdict_of([True, None, True]) == "agrees"
    assert figkit.verdict_of([True, False]) == "partly"
    assert figkit.verdict_of([False, None]) == "differs"
    assert figkit.check(float("nan"), lambda v: v > 0) is None
    assert figkit.check(1.0, lambda v: v > 0) is True


def test_records_keep_the_summary_order():
    from kickedpair.reproduce.common import SUMMARY_KEYS

    c = figkit.comparison("q", "p", "x", "agrees")
    assert list(c) == ["quantity", "paper", "project", "verdict", "cause"] and c["cause"] == ""
    s = figkit.summary("t", {}, [], [], [c], [], ("a.csv",), "f.png")
    assert tuple(s) == SUMMARY_KEYS and s["tables"] == ["a.csv"]
    assert figkit.shades(3) == ["0.0", "0.325", "0.65"] and figkit.shades(1) == ["0.0"]


def _imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" if mod else a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("figure", FIGURES)
def test_no_figure_imports_another(figure):
    imported = _imports(ast.parse((REPRODUCE / f"{figure}.py").read_text()))
    others = [f for f in FIGURES if f != figure]
    bad = [name for name in imported for f in others
           if name.split(".")[-1] == f or f".{f}." in f".{name}." or name.endswith(f"reproduce.{f}")]
    assert not bad, f"{figure} imports {bad}"


@pytest.mark.parametrize("module", [*FIGURES, "figkit", "fits", "figure", "report", "common"])
def test_functions_are_short(module):
    tree = ast.parse((REPRODUCE / f"{module}.py").read_text())
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{module}: functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("figure", FIGURES)
def test_every_figure_has_the_stages(figure):
    import importlib

    module = importlib.import_module(f"kickedpair.reproduce.{figure}")
    for stage in ("load", "measure", "judge", "make"):
        assert callable(getattr(module, stage, None)), (figure, stage)
