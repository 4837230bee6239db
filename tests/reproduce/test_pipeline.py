"""The five figure targets and the report, built by Snakemake at a tiny size, and the report's
refusal to write a partial report."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kickedpair.reproduce import report
from kickedpair.reproduce.plan import FIGURE_TABLES, FIGURES
from kickedpair.sweep import plan

from tiny_figures import ROOT, tiny_config

sys.path.insert(0, str(ROOT / "tests"))
from workflowlib import copy_workflow, engine_env, snakemake_exe  # noqa: E402


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _may_be_nan(table: str, col: str, row: dict) -> bool:
    """The documented NaNs: a threshold the grid does not bracket (with its flag), an interval the
    errors do not place inside the bracket (with _resolved), a fit with too few points (with
    n_fit), purity that never falls to 1/2, a deterministic error."""
    if table == "fig4_thresholds.csv":
        if col in ("hbar_c", "hbar_DL"):
            return row[f"{col}_flag"] != "ok"
        if col.endswith(("_lo", "_hi")) and col.startswith(("hbar_c", "hbar_DL")):
            return row[f"{col[:-3]}_resolved"] == "False"
        if col in ("alpha", "alpha_err", "a", "fit_hbar_lo", "fit_hbar_hi"):
            return float(row["n_fit"]) < 3
    if table == "fig5_fits.csv" and col == "t_half":
        return True
    return col.endswith("_err")


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    """``snakemake figures`` on the tiny preset of every figure, in a copy of the workflow."""
    work = copy_workflow(tmp_path_factory.mktemp("figures-workflow"))
    cfg = tiny_config(work / "results")
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = subprocess.run([snakemake_exe(), "figures", "--cores", "2", "--config", "preset=tiny"],
                         cwd=work, capture_output=True, text=True, timeout=1500, env=engine_env())
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return work, Path(cfg["reproduction"]["report"]["tiny"])


def test_every_figure_target_builds_its_picture_and_tables(tiny_pipeline):
    work, report_dir = tiny_pipeline
    for fig in FIGURES:
        out = work / "results" / "tiny" / "reproduction" / fig
        assert (out / f"{fig}.png").stat().st_size > 1000
        summary = json.loads((out / f"{fig}.json").read_text())
        assert summary["figure"] == fig and summary["comparisons"]
        for table in FIGURE_TABLES[fig]:
            rows = list(csv.DictReader((out / table).open()))
            assert rows, f"{table} is empty"
            for row in rows:
                for col, v in row.items():
                    if _numeric(v) and not math.isfinite(float(v)):
                        assert _may_be_nan(table, col, row), f"{table}: {col} = {v} in {row}"
        assert (report_dir / "figures" / f"{fig}.png").is_file()


def test_report_names_each_figure_and_the_paper_values(tiny_pipeline):
    _, report_dir = tiny_pipeline
    text = (report_dir / "reproduction.md").read_text()
    for fig in FIGURES:
        assert f"figures/{fig}.png" in text
    assert "## All comparisons" in text and "Resources of the paper variants" in text
    assert "0.087" in text  # the paper's Dc, quoted in Fig. 1's comparison


def test_quick_and_paper_variants_exist_and_dry_run(tmp_path):
    """quick's Fig. 4 draws the local sweep: missing, the dry run says to run it first; there, the
    figures dry-run like paper's (which runs its own sweep)."""
    work = copy_workflow(tmp_path)

    def dry_run(preset):
        return subprocess.run([snakemake_exe(), "-n", "figures", "--config", f"preset={preset}"], cwd=work,
                              capture_output=True, text=True, timeout=300, env=engine_env())

    res = dry_run("quick")
    assert res.returncode != 0
    assert ("Fig. 4 of preset quick draws the sweep of preset local (reproduction.fig4.quick.sweep), which is "
            "not finished") in res.stdout + res.stderr
    assert "snakemake --cores N --config preset=local" in res.stdout + res.stderr
    for name in [*plan.TABLES.values(), plan.MANIFEST]:
        (work / "results" / "local" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "results" / "local" / name).touch()
    for preset in ("quick", "paper"):
        res = dry_run(preset)
        assert res.returncode == 0, res.stderr[-3000:]
        for fig in FIGURES:
            assert f"rule {fig}:" in res.stdout
        assert "results/local/quantum" not in res.stdout  # the local sweep is not part of this run


def test_demo_preset_has_no_figures_and_says_so(tmp_path):
    work = copy_workflow(tmp_path)
    res = subprocess.run([snakemake_exe(), "-n", "figures", "--config", "preset=demo"], cwd=work,
                         capture_output=True, text=True, timeout=300, env=engine_env())
    assert res.returncode != 0
    assert "no variant for preset 'demo'" in res.stdout + res.stderr


def test_bad_variant_key_is_named_before_anything_runs(tmp_path):
    work = copy_workflow(tmp_path)
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["reproduction"]["fig2"]["quick"]["hbarr"] = [0.1]
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = subprocess.run([snakemake_exe(), "-n", "figures", "--config", "preset=quick"], cwd=work,
                         capture_output=True, text=True, timeout=300, env=engine_env())
    assert res.returncode != 0
    assert "reproduction.fig2.quick.hbarr: unknown key" in res.stdout + res.stderr


# --------------------------------------------------------------------------- the report alone
def _copy_summaries(tiny_pipeline, dest: Path) -> list[Path]:
    work, _ = tiny_pipeline
    paths = []
    for fig in FIGURES:
        src = work / "results" / "tiny" / "reproduction" / fig
        shutil.copytree(src, dest / fig, ignore=shutil.ignore_patterns("*.log"))
        paths.append(dest / fig / f"{fig}.json")
    est = dest / "estimates.json"
    shutil.copy(work / "results" / "tiny" / "reproduction" / "estimates.json", est)
    return paths


@pytest.mark.parametrize("damage", ["summary", "image", "table", "estimates"])
def test_report_fails_loudly_on_a_missing_input_and_writes_nothing(tiny_pipeline, tmp_path, capsys, damage):
    paths = _copy_summaries(tiny_pipeline, tmp_path / "in")
    est = tmp_path / "in" / "estimates.json"
    if damage == "summary":
        paths[2].unlink()
        where = "fig3.json"
    elif damage == "image":
        (paths[1].parent / "fig2.png").unlink()
        where = "fig2.png"
    elif damage == "table":
        (paths[4].parent / FIGURE_TABLES["fig5"][1]).unlink()
        where = FIGURE_TABLES["fig5"][1]
    else:
        est.unlink()
        where = "estimates.json"
    out = tmp_path / "report"
    rc = report.main([*map(str, paths), "--estimates", str(est), "--out-dir", str(out), "--preset", "tiny"])
    assert rc == 2
    assert where in capsys.readouterr().err
    assert not (out / "reproduction.md").exists() and not (out / "figures").exists()


def test_report_needs_all_five_figures(tiny_pipeline, tmp_path, capsys):
    paths = _copy_summaries(tiny_pipeline, tmp_path / "in")
    rc = report.main([*map(str, paths[:4]), "--estimates", str(tmp_path / "in" / "estimates.json"),
                      "--out-dir", str(tmp_path / "report"), "--preset", "tiny"])
    assert rc == 2 and "fig5" in capsys.readouterr().err


# --------------------------------------------------------------------------- Snakemake's report
def test_snakemake_report_shows_every_figure_and_table(tiny_pipeline, tmp_path):
    """`snakemake all figures --report` on the tiny run, opened in headless Chromium: the menu has
    the categories, every figure and table is listed, a figure is drawn with its caption and a
    screenshot of it is not blank. KICKEDPAIR_REPORT_SCREENSHOT=PATH keeps the screenshot."""
    import re

    from test_snakemake_report import (CATEGORIES, assert_not_blank, chromium, dump_dom, probe_page,
                                       rendered, report_entries, screenshot, show_all_results_js,
                                       show_image_js)

    work, _ = tiny_pipeline
    chromium()  # fails under CI=true when missing, skips elsewhere
    # the default target adds the sweep's own figures (seconds: the cells and tables are there)
    res = subprocess.run([snakemake_exe(), "--cores", "2", "--config", "preset=tiny"], cwd=work,
                         capture_output=True, text=True, timeout=600, env=engine_env())
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    html = work / "report.html"
    res = subprocess.run([snakemake_exe(), "all", "figures", "--report", str(html), "--config", "preset=tiny"],
                         cwd=work, capture_output=True, text=True, timeout=600, env=engine_env())
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert html.stat().st_size > 100_000
    for name in report_entries():
        assert f"Adding {name} (" in res.stdout + res.stderr, name
    profile = tmp_path / "chromium-profile"

    # the start page: the workflow's description and the categories in the menu
    _, text = rendered(dump_dom(html, profile))
    assert "the (hbar, m) sweep and the paper's five figures" in text and "preset tiny" in text, text[:3000]
    for category in CATEGORIES:
        assert category in text, category

    # every figure and table, listed by the app (search for any path)
    _, text = rendered(dump_dom(probe_page(html, tmp_path / "all.html", show_all_results_js()), profile))
    for name in report_entries():
        assert f" {name} " in text, f"{name} not listed in the report: {text[:3000]}"

    # Fig. 2 drawn, with its caption and the tiny variant's parameters beside it
    page = probe_page(html, tmp_path / "fig2.html", show_image_js("fig2.png"))
    markup, text = rendered(dump_dom(page, profile))
    assert re.search(r'<img src="data:image/png;[^"]*filename=fig2\.png;base64,', markup), markup[:3000]
    assert "Fig. 2: the quantum to classical transition" in text and "reproduction.fig2.tiny" in text
    assert "distribution_hbar" in text and "Snakemake rule fig2" in text
    shot = screenshot(page, profile, tmp_path / "report-fig2.png")
    assert_not_blank(shot)
    keep = os.environ.get("KICKEDPAIR_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
