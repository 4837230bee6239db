"""Bad configs and bad manifests: refused before anything runs, with the key or the file named.

* A quantum cell whose memory estimate is above one node (``node_mem_mb``, else
  ``resources.quantum_memory.max_mb``) stops the workflow at plan time, naming every such cell
  with its grid, its estimate and the limit; ``allow_over_limit`` makes it a warning.  The Slurm
  profile states the node memory once, in its site.yaml.
* ``kickedpair status`` (and the aggregation) on a ``sweep.json`` that is not a manifest: one
  line naming the file and the problem, exit status 2, no traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweeplib import (ROOT, config_errors, engine_counts, job_counts, output, snakemake, tiny_config, tiny_preset,  # noqa: E402
                      workflow_copy)

sys.path.insert(0, str(ROOT / "tests"))
from conftest import run_cli  # noqa: E402

from kickedpair.sweep import aggregate as agg  # noqa: E402
from kickedpair.sweep import plan  # noqa: E402
from kickedpair.sweep.resources import cells_over_limit, over_limit_message  # noqa: E402

CELL = re.compile(r"(m=[0-9.e-]+,hbar=[0-9.e-]+) \(N1 x N2 = (\d+) x (\d+), (light_exact|strang|free): ~(\d+) MB\)")
# the memory request of each quantum cell job in a dry run's listing (not its config job: no mpi)
QUANTUM_MEM = re.compile(r"wildcards: run=quantum/m=[0-9.e-]+/hbar=[0-9.e-]+, engine=quantum\n\s+resources: (?=[^\n]*mpi=)[^\n]*?mem_mb=(\d+)")


def _estimates(preset: str) -> dict[str, tuple[int, int, float]]:
    """``{cell: (N1, N2, estimate MB)}`` of a preset of config.yaml, from the same functions."""
    from kickedpair.sweep.resources import estimate_grid, quantum_mem_estimate_mb

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    p = plan.build_plan({**cfg, "preset": preset}, validate=False)
    ranks = int(p.rule_resources("quantum").get("ranks", 1))
    out = {}
    for c in p.cells:
        q = p.quantum_config(c.m, c.hbar)
        g = estimate_grid(q)
        out[c.name] = (g.N1, g.N2, quantum_mem_estimate_mb(q, ranks))
    return out


def _named(message: str, limit: int, estimates: dict) -> None:
    """The message names exactly the cells above ``limit``, each with its grid and estimate."""
    named = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(5))) for m in CELL.finditer(message)}
    over = {n: e for n, e in estimates.items() if e[2] > limit}
    assert over and set(named) == set(over), message
    for n, (N1, N2, mb) in over.items():
        assert named[n][:2] == (N1, N2) and abs(named[n][2] - mb) <= 1, (n, named[n], mb)


def _demo_limit() -> tuple[int, dict]:
    est = _estimates("demo")
    values = sorted(e[2] for e in est.values())
    return int((values[len(values) // 2 - 1] + values[len(values) // 2]) / 2), est


def test_cells_above_node_memory_are_refused_with_every_cell_named(tmp_path):
    limit, est = _demo_limit()
    work = workflow_copy(tmp_path / "work")
    r = snakemake(work, "--cores", "1", "--config", "preset=demo", f"node_mem_mb={limit}")
    out = output(r)
    errors = config_errors(r)
    assert r.returncode == 1 and len(errors) == 1, out[-3000:]
    n = sum(e[2] > limit for e in est.values())
    assert errors[0].startswith(f"invalid config: node_mem_mb: {n} quantum job(s) of preset demo need more "
                                f"memory than one node has (node_mem_mb = {limit} MB): ")
    _named(errors[0], limit, est)
    assert "allow_over_limit: true" in errors[0]
    assert "Job stats" not in out and not (work / "results").exists()


def test_the_presets_max_mb_is_the_limit_without_a_node_memory(tmp_path):
    limit, est = _demo_limit()
    work = workflow_copy(tmp_path / "work")
    r = snakemake(work, "-n", "--config", "preset=demo",
                  f"presets={{demo: {{resources: {{quantum_memory: {{max_mb: {limit}}}}}}}}}")
    errors = config_errors(r)
    assert r.returncode == 1 and len(errors) == 1, output(r)[-3000:]
    assert errors[0].startswith("invalid config: resources.quantum_memory.max_mb: ")
    assert f"(resources.quantum_memory.max_mb = {limit} MB): " in errors[0]
    _named(errors[0], limit, est)


def test_allow_over_limit_downgrades_to_a_warning_and_asks_for_the_limit(tmp_path):
    limit, est = _demo_limit()
    work = workflow_copy(tmp_path / "work")
    r = snakemake(work, "-n", "--config", "preset=demo", f"node_mem_mb={limit}",
                  "resources={quantum_memory: {allow_over_limit: true}}")
    out = output(r)
    assert r.returncode == 0, out[-3000:]
    warnings = [ln for ln in out.splitlines() if ln.startswith("WARNING: ") and "quantum job(s) of preset demo" in ln]
    assert len(warnings) == 1 and f"asked for at {limit} MB" in warnings[0], out[-3000:]
    _named(warnings[0], limit, est)
    mem = [int(m) for m in QUANTUM_MEM.findall(out)]
    assert len(mem) == 8 and max(mem) == limit, mem


def test_paper_preset_fits_a_node_without_any_allowance(tmp_path):
    """Every cell of the paper grid fits a 256 GB node (heavy partners run plain Strang), and so
    does every figure run (Fig. 5 stops at the hbar a 64-core day affords): the paper preset
    plans with the node's limit and no allowance."""
    est = _estimates("paper")
    assert len(est) == 84 and max(e[2] for e in est.values()) <= 256 * 1024
    work = workflow_copy(tmp_path / "work")
    r = snakemake(work, "-n", "figures", "--config", "preset=paper",
                  "presets={paper: {resources: {quantum_memory: {allow_over_limit: false, max_mb: 262144}}}}")
    assert r.returncode == 0 and not config_errors(r), output(r)[-3000:]
    assert "need more memory" not in output(r)


def test_slurm_profile_states_node_memory_once(tmp_path):
    """cluster/slurm/site.yaml's node_mem_mb is the limit of a Slurm run: the paper preset plans
    (with the allowance on), every quantum cell asks for at most that, the over-limit cells are named."""
    site = yaml.safe_load((ROOT / "cluster" / "slurm" / "site.yaml").read_text())
    node = site["node_mem_mb"]
    work = workflow_copy(tmp_path / "work")
    # a node smaller than the largest cells (m = 1 at small hbar: ~80 GB on 16 ranks)
    (work / "cluster" / "slurm" / "site.yaml").write_text(yaml.safe_dump({**site, "node_mem_mb": 40000}))
    r = snakemake(work, "-n", "--profile", "cluster/slurm", "--config", "preset=paper",
                  "presets={paper: {resources: {quantum_memory: {allow_over_limit: true}}}}")
    out = output(r)
    assert r.returncode == 0, out[-3000:]
    assert engine_counts(out)["quantum"] == 84
    mem = [int(m) for m in QUANTUM_MEM.findall(out)]
    assert len(mem) == 84 and max(mem) == 40000
    assert re.search(r"WARNING: \d+ quantum job\(s\) of preset paper need more memory than one node has "
                     r"\(node_mem_mb = 40000 MB\)", out)
    assert isinstance(node, int) and node > 0


def test_over_limit_functions():
    from kickedpair.sweep.resources import quantum_mem_estimate_mb

    cfg = {"physics": {"hbar": 0.01, "mass_ratio": 1e-3}, "quantum": {"N1": 1023, "N2": 63, "scheme": "strang"}}
    small = {**cfg, "quantum": {**cfg["quantum"], "N1": 511}}
    mb, mb_small = quantum_mem_estimate_mb(cfg, 1), quantum_mem_estimate_mb(small, 1)
    assert mb_small < mb
    over = cells_over_limit({"a": (cfg, 1), "b": (small, 1)}, (mb + mb_small) / 2)
    assert [o.name for o in over] == ["a"] and over[0].estimate_mb == mb
    assert over_limit_message(over, 5, "node_mem_mb", "preset x") == (
        "1 quantum job(s) of preset x need more memory than one node has (node_mem_mb = 5 MB): "
        f"a (N1 x N2 = 1023 x 63, strang: ~{mb:.0f} MB)")
    assert cells_over_limit({"a": (cfg, 1)}, (mb + mb_small) / 2, factor=0.5) == []
    p = plan.build_plan(tiny_config(node_mem_mb=4096), validate=False)
    assert p.memory_limit() == (4096, "node_mem_mb") and p.memory_settings()["max_mb"] == 4096
    p = plan.build_plan(tiny_config(presets={"tiny": tiny_preset(resources={"quantum_memory": {
        "max_mb": 2000, "allow_over_limit": True}})}), validate=False)
    assert p.memory_limit() == (2000, "resources.quantum_memory.max_mb") and p.allow_over_limit


# --------------------------------------------------------------------------- malformed manifests
MANIFESTS = {
    "not JSON": ("{cells: [", r"not JSON \(Expecting property name enclosed in double quotes"),
    "empty file": ("", r"not JSON \(Expecting value"),
    "binary": (b"\xff\xfe\x00garbage", r"cannot be read|not JSON"),
    "a list": ("[1, 2]", r"not a sweep manifest: expected a JSON object with a 'cells' list, got a list"),
    "a number": ("3", r"not a sweep manifest: expected a JSON object .* got a number"),
    "no cells": ('{"preset": "x"}', r"not a sweep manifest: no 'cells' key"),
    "cells not a list": ('{"cells": {"a": 1}}', r"not a sweep manifest: cells: expected a list, got an object"),
    "cell not an object": ('{"cells": ["m=1"]}', r"not a sweep manifest: cells\[0\]: expected an object, got a string"),
    "cell without a name": ('{"cells": [{"result": "a.h5"}]}',
                            r"not a sweep manifest: cells\[0\]\.name: expected a string, got nothing"),
    "result of the wrong type": ('{"cells": [{"name": "a", "result": 5}]}',
                                 r"not a sweep manifest: cells\[0\]\.result: expected a string, got a number"),
    "log of the wrong type": ('{"cells": [{"name": "a", "result": "a.h5", "log": ["x"]}]}',
                              r"not a sweep manifest: cells\[0\]\.log: expected a string, got a list"),
    "preset of the wrong type": ('{"preset": 1, "cells": []}',
                                 r"not a sweep manifest: preset: expected a string, got a number"),
    "path out of the folder": ('{"cells": [{"name": "a", "result": "../../etc/passwd"}]}',
                               r"not a sweep manifest: cells\[0\]\.result: '\.\./\.\./etc/passwd' is not a path inside"),
}


@pytest.mark.parametrize("case", list(MANIFESTS))
def test_status_on_a_malformed_manifest_is_one_line_and_exit_2(tmp_path, case):
    content, expected = MANIFESTS[case]
    sweep = tmp_path / "results" / "demo"
    sweep.mkdir(parents=True)
    manifest = sweep / plan.MANIFEST
    manifest.write_bytes(content if isinstance(content, bytes) else content.encode())
    r = run_cli(["status", str(sweep)], timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(f"kickedpair status: error: {manifest}: ")
    assert re.search(expected, lines[0]), lines[0]
    assert r.stdout == ""


def test_status_of_a_well_formed_manifest_still_works_and_a_missing_one_is_discovered(tmp_path, capsys):
    from kickedpair.sweep import status

    sweep = tmp_path / "results" / "demo"
    sweep.mkdir(parents=True)
    assert status.main([str(sweep)]) == 0                       # no sweep.json: cells from disk
    (sweep / plan.MANIFEST).write_text('{"cells": [{"name": "m=1", "kind": "classical", "result": "a.h5"}]}')
    assert status.main([str(sweep)]) == 0
    assert "1 cells -- 0 done, 1 missing" in capsys.readouterr().out


@pytest.mark.parametrize("content,expected", [
    ('{"cells": []}', r"mass_ratio: expected a list of grid values as strings, got nothing"),
    ('{"cells": [], "mass_ratio": ["1"], "hbar": ["0.1"]}', r"cells: no classical cell for m=1"),
    ('{"cells": [{"name": "m=1", "kind": "nope", "result": "a"}], "mass_ratio": [], "hbar": []}',
     r"cells\[0\]\.kind: expected 'classical' or 'quantum'"),
])
def test_aggregation_on_a_malformed_manifest_is_one_line_and_exit_2(tmp_path, capsys, content, expected):
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / plan.MANIFEST).write_text(content)
    assert agg.main([str(sweep)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"aggregate: error: {sweep / plan.MANIFEST}: not a sweep manifest: ")
    assert re.search(expected, err[0]), err[0]
