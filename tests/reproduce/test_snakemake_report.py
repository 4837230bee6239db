"""Snakemake's own report (`snakemake all figures --report report.html`): the captions of
workflow/report/ render for every preset, and the helpers that open a built report in headless
Chromium. The report of the tiny figures run itself is checked in test_pipeline.py (it reuses
that module's pipeline run): every figure and table listed, a figure shown with its caption, a
screenshot that is not blank."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from kickedpair.params import load_yaml
from kickedpair.reproduce.plan import FIGURE_TABLES, FIGURES

from tiny_figures import ROOT

REPORT_DIR = ROOT / "workflow" / "report"
# each caption and the rules whose report entries use it (a caption branches on snakemake.rule)
CAPTION_RULES = {"workflow.rst": [None], "sweep.rst": ["aggregate", "sweep_figures"], "figures.rst": list(FIGURES)}
CAPTIONS = list(CAPTION_RULES)
# the categories of the report's menu and the files each run of `snakemake all figures` lists
CATEGORIES = ["Sweep (Fig. 4)", *[f"Fig. {fig[3:]}" for fig in FIGURES]]
SWEEP_ENTRIES = ["phase_diagram.png", "eta_vs_hbar.png", "cells.csv", "thresholds.csv", "missing.txt"]
CHROMIUM_TIMEOUT = 120


def report_entries() -> list[str]:
    """File names the report lists: the sweep's figures and tables, each figure, its summary and tables."""
    return SWEEP_ENTRIES + [name for fig in FIGURES for name in (f"{fig}.png", f"{fig}.json", *FIGURE_TABLES[fig])]


# --------------------------------------------------------------------------- captions
def render_caption(name: str, config: dict, rule: str | None = None) -> str:
    """A caption as Snakemake renders it for an output of ``rule`` (Jinja with ``snakemake.config``
    and ``snakemake.rule``, then reStructuredText to HTML), but strict: an unknown key or an rst
    warning is an error."""
    from docutils.core import publish_parts
    from docutils.writers import html4css1
    from jinja2 import Environment, StrictUndefined

    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    snakemake = SimpleNamespace(config=config, rule=rule)
    text = env.from_string((REPORT_DIR / name).read_text()).render(snakemake=snakemake)
    return publish_parts(text, writer=html4css1.Writer(),  # Snakemake's writer_name="html"
                         settings_overrides={"halt_level": 2, "report_level": 5})["body"]


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_every_caption_renders_for_the_presets_with_figures(preset):
    """Each figure's caption: its own text, tables and summary, and its variant's parameters."""
    config = load_yaml((ROOT / "config.yaml").read_text())
    config["preset"] = preset
    for name, rules in CAPTION_RULES.items():
        for rule in rules:
            html = render_caption(name, config, rule)
            assert html.strip(), (name, rule)
    for name in ("cells.csv", "thresholds.csv", "missing.txt", "eta_vs_hbar.png", "phase_diagram.png"):
        assert name in render_caption("sweep.rst", config, "aggregate"), name
    for fig in FIGURES:
        html = render_caption("figures.rst", config, fig)
        assert f"Fig. {fig[3:]}: " in html and f"reproduction.{fig}.{preset}" in html, fig
        for table in (*FIGURE_TABLES[fig], f"{fig}.json"):
            assert table in html, (fig, table)
        others = [t for f in FIGURES if f != fig for t in FIGURE_TABLES[f]]
        assert not any(t in html for t in others), fig
        variant = config["reproduction"][fig][preset]
        some_key = next(k for k, v in variant.items() if k != "description" and v not in ({}, [], None))
        assert some_key in html, (fig, some_key)


def test_the_workflow_names_every_caption():
    """Each caption file is used by the workflow's report flags (and none is missing)."""
    used = set()
    for rules in (ROOT / "workflow" / "rules").glob("*.smk"):
        used |= set(re.findall(r'flag\([^()]*(?:\([^()]*\)[^()]*)*"(\w+\.rst)"', rules.read_text()))
    assert used | {"workflow.rst"} == set(CAPTIONS)
    assert 'report: "workflow/report/workflow.rst"' in (ROOT / "Snakefile").read_text()
    assert sorted(p.name for p in REPORT_DIR.glob("*.rst")) == sorted(CAPTIONS)


# --------------------------------------------------------------------------- the browser
def chromium() -> str:
    """Debian's ``chromium``: missing, the test fails under CI=true and is skipped elsewhere."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    message = ("chromium is not installed: the browser check of Snakemake's report needs it "
               "(Debian: apt-get install chromium; `make test` installs it when run as root)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


_PROBE = """<script>
(function probe() {
  // the report is a React app: wait for it to render, then put it in the view to look at
  if (typeof app === "undefined" || !document.querySelector("#app").children.length) {
    setTimeout(probe, 50);
    return;
  }
  %s
})();
</script>
"""


def probe_page(report: Path, dest: Path, js: str) -> Path:
    """A copy of ``report`` that runs ``js`` once the app has rendered (``app`` and ``results``
    are the report's globals)."""
    html = report.read_text()
    at = html.rfind("</body>")
    assert at > 0, "no </body> in the report"
    dest.write_text(html[:at] + _PROBE % js + html[at:])
    return dest


def show_all_results_js() -> str:
    """The search view listing every result (a regular expression matching any path)."""
    return 'app.setView({navbarMode: "searchresults", searchTerm: "re:."});'


def show_image_js(name: str) -> str:
    """The picture ``name`` in the content pane, its caption (result info) in the side bar."""
    return (f'var path = Object.keys(results).find(function (p) {{ return p.endsWith("/{name}"); }});\n'
            '  app.setView({navbarMode: "resultinfo", resultPath: path, content: "img", '
            'contentPath: results[path].data_uri});')


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=10000", f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran."""
    res = _chromium(page, profile, "--dump-dom")
    assert res.returncode == 0 and "<html" in res.stdout, res.stderr[-3000:]
    return res.stdout


def rendered(dom: str) -> tuple[str, str]:
    """(markup, text) of what the app drew: the #app element on, without the scripts (which
    carry the report's data whether or not it is shown)."""
    at = dom.find('<div id="app">')
    assert at >= 0, "no #app in the DOM"
    markup = re.sub(r"<script\b.*?</script>", "", dom[at:], flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).replace("&amp;", "&")
    return markup, text


def screenshot(page: Path, profile: Path, out: Path, size=(1400, 900)) -> Path:
    res = _chromium(page, profile, f"--screenshot={out}", f"--window-size={size[0]},{size[1]}")
    assert res.returncode == 0 and out.is_file(), res.stderr[-3000:]
    return out


def assert_not_blank(png: Path, size=(1400, 900)) -> None:
    """A PNG of the window's size, with many colours and a content pane that is not uniform."""
    import matplotlib.image as mpimg
    import numpy as np

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    img = mpimg.imread(png)[..., :3]
    assert img.shape[:2] == (size[1], size[0]), img.shape
    colours = np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"{png}: only {len(colours)} colours"
    pane = img[:, size[0] // 3:]  # right of the side bar: the picture shown
    assert pane.std() > 0.05, f"{png}: the content pane is blank (std {pane.std():.3f})"
