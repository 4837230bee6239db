"""Config strings never reach a shell or a path unchecked.

Each hostile config is given to a real ``snakemake`` run (not a dry run: were a value to get
through, its job's shell would run it and the ``pwned`` file would appear) on a copy of the
workflow; it must stop before any job with one ``invalid config: KEY: ...`` line, create no
``pwned`` file and write nothing anywhere (the copy's ``.snakemake`` aside).  The values that
are allowed run end to end, with every file inside the results folder.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweeplib import (ROOT, config_errors, engine_counts, job_counts, output, snakemake, tiny_config,  # noqa: E402
                      tiny_preset, tree, workflow_copy)

from kickedpair import workflow_config  # noqa: E402
from kickedpair.params import ConfigError  # noqa: E402
from kickedpair.reproduce import plan as repro_plan  # noqa: E402
from kickedpair.sweep import plan  # noqa: E402


def _hostile_cases(tmp: Path) -> dict[str, tuple[dict, list[str], str]]:
    """name -> (config, extra snakemake args, regex of the error line)."""
    t = str(tmp)
    bad_preset = f"x;touch {t}/pwned;"
    return {
        "preset with a shell command": (
            tiny_config(bad_preset), [], r"invalid config: (preset|presets\.x;touch .*pwned;): "),
        "preset given on the command line": (
            tiny_config(), ["--config", f"preset=y;touch {t}/pwned7;"], r"invalid config: preset: "),
        "results with a command substitution": (
            tiny_config(results=f"$(touch {t}/pwned2)"), [], r"invalid config: results: "),
        "results with backquotes": (
            tiny_config(results=f"out/`touch {t}/pwned8`"), [], r"invalid config: results: "),
        "preset climbing out of the results folder": (
            tiny_config("../../.."), [], r"invalid config: (preset|presets\.\.\./\.\./\.\.): "),
        "preset named '..'": (tiny_config(".."), [], r"invalid config: (preset|presets\.\.\.): "),
        "preset with a space": (tiny_config("my preset"), [], r"invalid config: (preset|presets\.my preset): "),
        "an unused preset with a slash": (
            tiny_config(presets={"tiny": tiny_preset(), "a/b": tiny_preset()}), [],
            r"invalid config: presets\.a/b: "),
        "results climbing out": (tiny_config(results="../outside"), [], r"invalid config: results: "),
        "absolute results with a .. inside": (
            tiny_config(results=f"{t}/a/../../b"), [], r"invalid config: results: "),
        "results ending in a newline": (tiny_config(results="results\n"), [], r"invalid config: results: "),
        "launcher string with a shell command": (
            tiny_config(launcher=f"mpiexec; touch {t}/pwned3"), [], r"invalid config: launcher: "),
        "launcher string that succeeds first": (
            tiny_config(launcher=f"env; touch {t}/pwned3"), [], r"invalid config: launcher: "),
        "launcher on the command line": (
            tiny_config(), ["--config", f"launcher=mpiexec && touch {t}/pwned4"], r"invalid config: launcher: "),
        "launcher list with a shell word": (
            tiny_config(launcher=["mpiexec", f"-n 1 true; touch {t}/pwned5;"]), [],
            r"invalid config: launcher\[1\]: "),
        "launcher list with a command substitution": (
            tiny_config(launcher=["srun", f"--mpi=$(touch {t}/pwned5)"]), [], r"invalid config: launcher\[1\]: "),
        "empty launcher": (tiny_config(launcher=[]), [], r"invalid config: launcher: "),
        "a per-rule mpi resource": (
            tiny_config(), ["--set-resources", f"classical:mpi=env; touch {t}/pwned6"],
            r"invalid config: set-resources classical:mpi: "),
        "report folder climbing out": (
            tiny_config(reproduction={"report": {"tiny": "../../docs"}}), [],
            r"invalid config: reproduction\.report\.tiny: "),
    }


CASES = list(_hostile_cases(Path("/T")))


@pytest.mark.parametrize("case", CASES)
def test_hostile_config_is_refused_before_any_job(tmp_path, case):
    cfg, args, expected = _hostile_cases(tmp_path)[case]
    work = workflow_copy(tmp_path / "a" / "b" / "work", cfg)
    before = tree(tmp_path)
    r = snakemake(work, "--cores", "1", *args)
    out = output(r)
    assert r.returncode == 1, out[-3000:]
    errors = config_errors(r)
    assert len(errors) == 1 and re.match(expected, errors[0]), out[-3000:]
    assert "Traceback" not in out and "Job stats" not in out
    assert not list(tmp_path.rglob("pwned*")), out[-3000:]
    new = set(tree(tmp_path, skip=("a/b/work/.snakemake",))) - set(before)
    assert new <= {"a/b/work/.snakemake"}, sorted(new)


def test_hostile_values_from_a_profile_site_file(tmp_path):
    """A profile's site.yaml (layered over config.yaml) is checked the same way."""
    work = workflow_copy(tmp_path / "work", tiny_config())
    site = work / "cluster" / "slurm-single-node" / "site.yaml"
    site.write_text(yaml.safe_dump({"launcher": ["srun", f"--mpi=pmi2;touch {tmp_path}/pwned"]}))
    r = snakemake(work, "-n", "--profile", "cluster/slurm-single-node")
    errors = config_errors(r)
    assert r.returncode == 1 and len(errors) == 1, output(r)[-3000:]
    assert errors[0].startswith("invalid config: launcher[1]: ")
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.mpi
def test_allowed_names_run_end_to_end_inside_the_results_folder(tmp_path):
    """Names with every allowed special character, an absolute results folder and the launcher
    as a list: the tiny sweep runs, its cells were launched with exactly those words, and every
    new file lies in the results folder (or Snakemake's own .snakemake)."""
    results = tmp_path / "out.d" / "res_1-x"
    name = "p_1.a-b"
    cfg = tiny_config(name, results=str(results) + "/", launcher=["mpiexec", "-launcher", "fork"])
    cfg["presets"][name] = tiny_preset(hbar=[0.3])
    work = workflow_copy(tmp_path / "work", cfg)
    before = tree(tmp_path)
    r = snakemake(work, "--cores", "2", "-p")
    out = output(r)
    assert r.returncode == 0, out[-4000:]
    sweep = results / name
    rows = (sweep / plan.TABLES["cells_csv"]).read_text().splitlines()
    assert len(rows) == 2 and rows[1].endswith(",ok,")
    # the printed shell: each value one shell word, the launcher as given
    line = next(ln for ln in out.splitlines() if " kickedpair quantum " in ln)
    words = shlex.split(line.split("||")[0])
    assert words[1:5] == ["mpiexec", "-launcher", "fork", "-n"]
    assert words[words.index("--out") + 1] == f"{sweep}/quantum/m=0.01/hbar=0.3/quantum.h5"
    new = set(tree(tmp_path, skip=("work/.snakemake",))) - set(before)
    outside = [p for p in new if not (p == "out.d" or p.startswith("out.d/res_1-x")
                                      or p == "work/.snakemake")]
    assert outside == [], outside


def test_quoted_shell_commands_in_a_dry_run(tmp_path):
    """Every placeholder of every shell command is quoted: the printed commands of a dry run
    split into the expected words, the optional flags leaving no empty word."""
    work = workflow_copy(tmp_path / "work")
    r = snakemake(work, "-n", "-p", "--config", "preset=demo", "keep_checkpoints=true",
                  "launcher=[srun, --mpi=pmi2]")
    out = output(r)
    assert r.returncode == 0, out[-3000:]
    cmd = next(ln for ln in out.splitlines() if " kickedpair quantum " in ln)
    words = shlex.split(cmd.split("||")[0])
    assert words[:5] == ["KICKEDPAIR_THREADS=1", "srun", "--mpi=pmi2", "-n", "2"]
    assert "" not in words and "--keep-checkpoint" in words
    agg = shlex.split(next(ln for ln in out.splitlines() if "kickedpair.sweep.aggregate" in ln))
    at = agg.index("kickedpair.sweep.aggregate")
    assert agg[at - 2] == sys.executable and agg[at + 1:at + 3] == ["results/demo", ">"]
    assert engine_counts(out)["quantum"] == 8


# --------------------------------------------------------------------------- the checks alone
def test_name_path_and_launcher_checks():
    for ok in ("demo", "p_1.a-b", "...", "a..b", "x"):
        assert workflow_config.check_name(ok, "k") == ok
    for bad in (".", "..", "", "a b", "a/b", "x;y", "$(x)", "a\n", "é", None, 3):
        with pytest.raises(ConfigError, match=r"^k: "):
            workflow_config.check_name(bad, "k")
    for ok, norm in (("results", "results"), ("results/", "results"), ("/abs/x.y/z", "/abs/x.y/z"),
                     ("./r", "./r"), ("a/..b/c", "a/..b/c")):
        assert workflow_config.check_path(ok, "results") == norm
    for bad in ("", "/", "..", "a/../b", "a/..", "../a", "a//b", "a b", "$(touch x)", "a;b", "r\n", "~/r"):
        with pytest.raises(ConfigError, match=r"^results: "):
            workflow_config.check_path(bad, "results")
    assert workflow_config.parse_launcher("srun --mpi=pmi2") == ["srun", "--mpi=pmi2"]
    assert workflow_config.parse_launcher(["mpiexec", "-launcher", "fork"]) == ["mpiexec", "-launcher", "fork"]
    for bad, key in (("mpiexec; touch x", "launcher"), ("a 'b c'", "launcher"), ("a `b`", "launcher"),
                     (["srun", "x|y"], r"launcher\[1\]"), (["srun", 2], r"launcher\[1\]"), ([], "launcher"),
                     ("", "launcher"), ("'unclosed", "launcher"), ({"a": 1}, "launcher")):
        with pytest.raises(ConfigError, match=rf"^{key}: "):
            workflow_config.parse_launcher(bad)


def test_build_plan_checks_names_without_the_schema():
    base = tiny_config()
    for over, key in (({"preset": "../x", "presets": {"../x": tiny_preset()}}, r"presets\.\.\./x"),
                      ({"results": "$(id)"}, "results"), ({"launcher": "a;b"}, "launcher"),
                      ({"node_mem_mb": 0}, "node_mem_mb")):
        with pytest.raises(ConfigError, match=rf"^{key}: "):
            plan.build_plan({**base, **over}, validate=False)
    p = plan.build_plan({**base, "launcher": "srun --mpi=pmi2", "results": "/r/"}, validate=False)
    assert p.launcher == ("srun", "--mpi=pmi2") and p.launcher_shell == "srun --mpi=pmi2"
    assert p.sweep_dir == "/r/tiny"


def test_reproduction_names_are_checked():
    sys.path.insert(0, str(ROOT / "tests" / "reproduce"))
    from tiny_figures import tiny_config as tiny_figures_config

    cfg = tiny_figures_config(Path("/r/results"))
    repro_plan.build_reproduction(cfg, validate=False)
    bad = json.loads(json.dumps(cfg))
    bad["reproduction"]["report"]["tiny"] = "/r/../etc"
    with pytest.raises(ConfigError, match=r"^reproduction\.report\.tiny: "):
        repro_plan.build_reproduction(bad, validate=False)
    bad = json.loads(json.dumps(cfg))
    bad["reproduction"]["fig1"]["tiny"]["interaction"] = ["gaussian", "x;touch p"]
    with pytest.raises(ConfigError, match=r"^reproduction\.fig1\.tiny\.interaction\[1\]: must be one of .*, got 'x;touch p'"):
        repro_plan.build_reproduction(bad, validate=False)


def test_no_profile_sets_a_per_rule_launcher():
    for profile in ("slurm", "slurm-single-node"):
        prof = yaml.safe_load((ROOT / "cluster" / profile / "config.yaml").read_text())
        assert prof["configfile"] == "site.yaml"
        assert all("mpi" not in res for res in prof.get("set-resources", {}).values())
        site = yaml.safe_load((ROOT / "cluster" / profile / "site.yaml").read_text())
        assert workflow_config.parse_launcher(site["launcher"])[0] == "srun"
