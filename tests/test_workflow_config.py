"""The one description of the workflow config (kickedpair.workflow_config): every key declared
with a doc, unknown keys named with the known ones, wrong types, bounds and patterns refused with
the key named, numbers written as strings read once, defaults filled in."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from kickedpair import params
from kickedpair import workflow_config as wc
from kickedpair.params import ConfigError, load_yaml
from kickedpair.workflow_config import check_workflow_config

ROOT = Path(__file__).resolve().parents[1]


def _base() -> dict:
    """config.yaml as Snakemake reads it (YAML 1.1: ``1e-3`` would be a string)."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def _with(cfg: dict, dotted: str, value) -> dict:
    cfg = copy.deepcopy(cfg)
    *path, last = dotted.split(".")
    d = cfg
    for p in path:
        d = d.setdefault(p, {})
    d[last] = value
    return cfg


def _refused(cfg: dict, pattern: str) -> str:
    with pytest.raises(ConfigError) as info:
        check_workflow_config(cfg)
    message = str(info.value)
    assert re.match(pattern, message), message
    return message


# --------------------------------------------------------------------------- the description
def test_every_key_has_a_doc_and_a_kind():
    keys = list(wc.workflow_keys())
    names = {k for k, _, _ in keys}
    undocumented = [k for k, meta, _ in keys if not str(meta.get("doc", "")).strip()]
    assert undocumented == []
    assert all(meta.get("kind") for _, meta, _ in keys)
    # every key config.yaml holds, and those of the profiles' site.yaml
    for key in ("preset", "results", "launcher", "node_mem_mb", "allow_missing", "keep_checkpoints", "seed",
                "physics.K1", "classical.scheme", "quantum.N1", "noise.W", "analysis.fit_window",
                "analysis.hbar_scale", "resources.default.ranks", "resources.quantum.runtime_safety",
                "resources.aggregate.mem_mb", "resources.quantum_memory.max_mb",
                "resources.quantum_memory.allow_over_limit", "presets.<name>.hbar",
                "presets.<name>.resources.quantum.retries", "presets.<name>.physics.eps",
                "reproduction.report.<name>", "reproduction.fig1.<name>.inset_eps",
                "reproduction.fig2.<name>.distribution_hbar", "reproduction.fig3.<name>.W_a",
                "reproduction.fig4.<name>.mass_ratio", "reproduction.fig5.<name>.exp_window",
                "reproduction.fig5.<name>.resources.quantum.ranks", "reproduction.fig5.<name>.quantum.N1"):
        assert key in names, key


def _leaves(mapping: dict, where: str = "") -> set[str]:
    out = set()
    for k, v in mapping.items():
        if k in ("log", "linear"):  # the form of an axis, not a key
            continue
        key = f"{where}.{k}" if where else str(k)
        out.add(key)
        if isinstance(v, dict):
            out |= _leaves(v, key)
    return out


def test_every_key_of_config_yaml_is_declared():
    cfg = _base()
    declared = {k for k, _, _ in wc.workflow_keys()}
    generic = set()
    for key in _leaves(cfg):
        parts = key.split(".")
        if parts[0] == "presets" and len(parts) > 1:
            parts[1] = "<name>"
        if parts[0] == "reproduction" and len(parts) > 2:
            parts[2] = "<name>"
        generic.add(".".join(parts))
    assert generic - declared == set()


def test_engine_sections_are_kickedpair_params_specs():
    for section, cls in params.SECTIONS.items():
        declared = {k.split(".", 1)[1] for k, _, _ in wc.workflow_keys() if k.startswith(f"{section}.")}
        assert declared == {f.name for f in dataclasses.fields(cls)}


def test_the_plans_figures_are_the_declared_ones():
    from kickedpair.reproduce import plan as repro_plan

    assert repro_plan.FIGURES == tuple(wc.FIGURE_VARIANTS) == tuple(repro_plan.FIGURE_TABLES)


def test_memory_defaults_are_the_estimates():
    from kickedpair.sweep.resources import MEMORY_DEFAULTS

    filled = check_workflow_config({"preset": "p", "presets": {"p": {"hbar": [0.1], "mass_ratio": [1],
                                                                      "n_kicks": 1, "trajectories": 1}}})
    memory = filled["resources"]["quantum_memory"]
    assert {k: memory[k] for k in MEMORY_DEFAULTS} == MEMORY_DEFAULTS and memory["allow_over_limit"] is False


# --------------------------------------------------------------------------- accepted as written
def test_config_yaml_and_the_profiles_pass_and_normalizing_twice_changes_nothing():
    cfg = _base()
    out = check_workflow_config(cfg)
    assert check_workflow_config(out) == out
    assert out["launcher"] == ["mpiexec"] and out["presets"]["paper"]["hbar"] == {"log": [0.005, 0.1, 12]}
    assert out["physics"] == cfg["physics"]  # run sections kept as given (they name checkpoints)
    sites = sorted((ROOT / "cluster").glob("*/site.yaml"))
    assert sites
    for path in sites:  # the profiles' site.yaml, layered over config.yaml
        merged = check_workflow_config({**cfg, **yaml.safe_load(path.read_text())})
        assert merged["launcher"][0] == "srun", path
    assert check_workflow_config({**cfg, **load_yaml((ROOT / "config.yaml").read_text())})


def test_defaults_are_filled_in_but_not_inside_overrides():
    out = check_workflow_config({"preset": "p", "presets": {"p": {
        "hbar": [0.1], "mass_ratio": [1.0], "n_kicks": 5, "trajectories": 10,
        "analysis": {"eta_c": 0.8}, "resources": {"quantum": {"ranks": 4}}}}})
    assert out["results"] == "results" and out["launcher"] == ["mpiexec"] and out["node_mem_mb"] is None
    assert out["allow_missing"] is False and out["keep_checkpoints"] is False and out["seed"] == 20200101
    assert out["analysis"] == {"fit_window": [0.12, 1.0], "eta_c": 0.9, "eta_dl": 0.1, "hbar_scale": "linear"}
    assert out["physics"] == {} and out["quantum"] == {} and out["reproduction"] == {"report": {}}
    preset = out["presets"]["p"]
    assert preset["analysis"] == {"eta_c": 0.8} and preset["resources"] == {"quantum": {"ranks": 4}}
    assert "seed" not in preset and preset["description"] == ""


def test_variant_defaults_are_filled_in():
    cfg = _base()
    fig3 = check_workflow_config(cfg)["reproduction"]["fig3"]["quick"]
    assert fig3["realisations"] == 50 and fig3["physics"] == {} and fig3["resources"] == {}
    cfg["reproduction"]["fig2"]["quick"].pop("unperturbed_hbar")
    fig2 = check_workflow_config(cfg)["reproduction"]["fig2"]["quick"]
    assert fig2["unperturbed_hbar"] == 0.01 and fig2["convergence"] is True and fig2["mass_ratio"] == 1e-3


def test_numbers_written_as_strings_are_read_once():
    cfg = _with(_base(), "presets.demo.hbar", ["1e-3", " 2e-2 ", "0.5"])
    cfg = _with(cfg, "presets.demo.mass_ratio", {"log": ["1e-3", "1", "3"]})
    cfg = _with(cfg, "seed", "12")
    cfg = _with(cfg, "allow_missing", "true")
    cfg = _with(cfg, "node_mem_mb", "4096")
    cfg = _with(cfg, "physics.eps", "1e-3")
    cfg = _with(cfg, "quantum.fit_window", ["0.1", "1"])
    cfg = _with(cfg, "resources.quantum.mem_mb", "auto")
    cfg = _with(cfg, "reproduction.fig3.quick.W_a", ["1e-2", "0"])
    cfg["presets"]["demo"]["description"] = "1e-3"
    out = check_workflow_config(cfg)
    demo = out["presets"]["demo"]
    assert demo["hbar"] == [1e-3, 2e-2, 0.5] and demo["mass_ratio"] == {"log": [1e-3, 1, 3]}
    assert demo["description"] == "1e-3"  # text stays text
    assert out["seed"] == 12 and out["allow_missing"] is True and out["node_mem_mb"] == 4096
    assert out["physics"]["eps"] == 1e-3 and out["physics"]["L"] == "pi"
    assert out["quantum"]["fit_window"] == [0.1, 1] and out["resources"]["quantum"]["mem_mb"] == "auto"
    assert out["reproduction"]["fig3"]["quick"]["W_a"] == [0.01, 0]


def test_a_launcher_string_becomes_its_words():
    assert check_workflow_config({**_base(), "launcher": " srun  --mpi=pmix "})["launcher"] == ["srun", "--mpi=pmix"]
    assert check_workflow_config({**_base(), "results": "/r/x/"})["results"] == "/r/x"


# --------------------------------------------------------------------------- refused, the key named
@pytest.mark.parametrize("key, value, pattern", [
    # the messages the workflow tests expect (tests/sweep/test_dryrun.py and tests/faults)
    ("bogus", 1, r"bogus: unknown key \(known keys: allow_missing, analysis, classical, "),
    ("presets.demo.hbar", [0.02, -0.04], r"presets\.demo\.hbar\[1\]: must be > 0, got -0\.04$"),
    ("presets.demo.hbar", [], r"presets\.demo\.hbar: the axis is empty"),
    ("presets.demo.mass_ratio", {"log": [0.001, 1, 0]}, r"presets\.demo\.mass_ratio\.log\[2\]: must be >= 1"),
    ("presets.paper.hbar", {"log": [-0.005, 0.1, 12]}, r"presets\.paper\.hbar\.log\[0\]: must be > 0"),
    ("presets.demo.colour", "red", r"presets\.demo\.colour: unknown key \(known keys: adaptive, allow_missing, "),
    ("resources.quantum.ranks", 0, r"resources\.quantum\.ranks: must be >= 1, got 0"),
    ("preset", "nonesuch", r"preset: unknown preset 'nonesuch' \(known presets: demo, local, paper, paper_adaptive, quick\)"),
    ("physics.eps", -2, r"physics\.eps: must be >= 0"),
    ("physics.interaction", "cubic", r"physics\.interaction: must be one of"),
    ("physics.spin", 1, r"physics\.spin: unknown key \(known keys: K1, K2, L, "),
    ("classical.scheme", "euler", r"classical\.scheme: must be one of"),
    ("physics.hbar", 0.1, r"physics\.hbar: set by the sweep \(presets\.demo\.hbar\)"),
    ("classical.n_kicks", 3, r"classical\.n_kicks: set by the sweep"),
    ("physics.coupling_scales_with_hbar", True, r"physics\.coupling_scales_with_hbar: must be false in a sweep"),
    ("quantum.substeps", 0, r"quantum\.substeps: must be >= 1"),
    ("node_mem_mb", 0, r"node_mem_mb: must be >= 1, got 0"),
    ("reproduction.fig2.quick.hbarr", [0.1], r"reproduction\.fig2\.quick\.hbarr: unknown key"),
    # types
    ("seed", "x", r"seed: expected an integer, got 'x'"),
    ("seed", 2**63, r"seed: must be < 2\*\*63"),
    ("allow_missing", "yes please", r"allow_missing: expected true or false"),
    ("keep_checkpoints", 1, r"keep_checkpoints: expected true or false"),
    ("node_mem_mb", "lots", r"node_mem_mb: expected an integer or null"),
    ("resources.quantum.mem_mb", "much", r"resources\.quantum\.mem_mb: expected an integer or 'auto'"),
    ("resources.quantum.runtime_safety", 0, r"resources\.quantum\.runtime_safety: must be > 0"),
    ("resources.default.retries", -1, r"resources\.default\.retries: must be >= 0"),
    ("resources.quantum_memory.min_mb", 0.5, r"resources\.quantum_memory\.min_mb: expected an integer"),
    ("resources.gpu", {}, r"resources\.gpu: unknown key \(known keys: aggregate, classical, default, "),
    ("resources", [1], r"resources: expected a mapping"),
    ("analysis.hbar_scale", "loglog", r"analysis\.hbar_scale: must be one of 'linear', 'log'"),
    ("analysis.fit_window", [0.5], r"analysis\.fit_window: expected a pair"),
    ("analysis.fit_window", [0.5, 0.2], r"analysis\.fit_window: need lo < hi"),
    ("analysis.eta_dl", 0.95, r"analysis\.eta_dl: must be below analysis\.eta_c = 0\.9"),
    ("presets.demo.n_kicks", 0, r"presets\.demo\.n_kicks: must be >= 1"),
    ("presets.demo.trajectories", 1.5, r"presets\.demo\.trajectories: expected an integer"),
    ("presets.demo.hbar", "0.1", r"presets\.demo\.hbar: expected a list or \{log: "),
    ("presets.demo.hbar", {"log": [0.1, 0.01, 3]}, r"presets\.demo\.hbar\.log: need lo <= hi"),
    ("presets.demo.hbar", {"geom": [0.01, 0.1, 3]}, r"presets\.demo\.hbar: expected a list or"),
    ("presets.demo.hbar", [0.1, 0.10000001], r"presets\.demo\.hbar: values coincide at 4 significant digits"),
    ("presets.demo.noise", {}, r"presets\.demo\.noise: unknown key"),
    ("presets.demo.physics.hbar", 0.1, r"presets\.demo\.physics\.hbar: set by the sweep \(presets\.demo\.hbar\)"),
    ("presets.demo.analysis.eta_c", -1, r"presets\.demo\.analysis\.eta_c: must be > 0"),
    ("presets.demo.resources.quantum.threads", 0, r"presets\.demo\.resources\.quantum\.threads: must be >= 1"),
    ("presets.demo.quantum.N1", 2, r"presets\.demo\.quantum\.N1: must be >= 3"),
    ("reproduction.fig9", {}, r"reproduction\.fig9: unknown key \(known keys: fig1, fig2, fig3, fig4, fig5, report\)"),
    ("reproduction.fig1.quick.eps", [0.1, -2], r"reproduction\.fig1\.quick\.eps\[1\]: must be > 0"),
    ("reproduction.fig1.quick.eps", [], r"reproduction\.fig1\.quick\.eps: empty"),
    ("reproduction.fig1.quick.interaction", ["gaussian", "x;touch p"],
     r"reproduction\.fig1\.quick\.interaction\[1\]: must be one of 'gaussian', 'gaussian_width', got 'x;touch p'"),
    ("reproduction.fig1.quick.n_kicks", 0, r"reproduction\.fig1\.quick\.n_kicks: must be >= 1"),
    ("reproduction.fig1.quick.classical.courant", 2, r"reproduction\.fig1\.quick\.classical\.courant: must be <= 1"),
    ("reproduction.fig2.quick.convergence", "maybe", r"reproduction\.fig2\.quick\.convergence: expected true or false"),
    ("reproduction.fig3.quick.W_a", [0.1, -1], r"reproduction\.fig3\.quick\.W_a\[1\]: must be >= 0"),
    ("reproduction.fig3.quick.W_a", [0.1, 0.1], r"reproduction\.fig3\.quick\.W_a: values coincide"),
    ("reproduction.fig3.quick.realisations", 0, r"reproduction\.fig3\.quick\.realisations: must be >= 1"),
    ("reproduction.fig4.quick.mass_ratio", [], r"reproduction\.fig4\.quick\.mass_ratio: the axis is empty"),
    ("reproduction.fig5.quick.power_window", [0.5, 0.2],
     r"reproduction\.fig5\.quick\.power_window: expected \[lo, hi\] fractions of n_kicks with 0 <= lo < hi <= 1"),
    ("reproduction.fig5.quick.hbar", 0, r"reproduction\.fig5\.quick\.hbar: must be > 0"),
    ("reproduction.fig5.quick.resources.gpu", {}, r"reproduction\.fig5\.quick\.resources\.gpu: unknown key"),
    ("reproduction.fig5.quick.resources.quantum.ranks", 0,
     r"reproduction\.fig5\.quick\.resources\.quantum\.ranks: must be >= 1"),
    ("reproduction.fig1", [1], r"reproduction\.fig1: expected a mapping of names to figure variants"),
])
def test_a_bad_value_is_refused_with_its_key(key, value, pattern):
    _refused(_with(_base(), key, value), pattern)


def test_required_keys():
    cfg = _base()
    for drop, key in (("n_kicks", "presets.demo.n_kicks"), ("hbar", "presets.demo.hbar")):
        bad = copy.deepcopy(cfg)
        del bad["presets"]["demo"][drop]
        _refused(bad, rf"{re.escape(key)}: required$")
    bad = copy.deepcopy(cfg)
    del bad["reproduction"]["fig2"]["paper"]["distribution_hbar"]  # every variant, not only the preset's
    _refused(bad, r"reproduction\.fig2\.paper\.distribution_hbar: required$")
    _refused({k: v for k, v in cfg.items() if k != "preset"}, r"preset: required$")
    _refused({k: v for k, v in cfg.items() if k != "presets"}, r"presets: required$")
    _refused({**cfg, "presets": {}}, r"preset: unknown preset 'demo' \(known presets: none defined\)")
    _refused([1, 2], r"config: expected a mapping")


# --------------------------------------------------------------------------- hostile strings
HOSTILE_NAMES = ["x;touch pwned;", "..", ".", "../../..", "my preset", "a/b", "$(id)", "a\n", "é", "`id`", ""]
HOSTILE_FOLDERS = ["$(touch pwned)", "out/`touch x`", "../outside", "/t/a/../../b", "results\n", "a b",
                   "a;b", "~/r", "", "/", "a//b"]
HOSTILE_WORDS = ["mpiexec; touch x", "env; touch x", "mpiexec && touch x", "a 'b c'", "a `b`", "'unclosed", ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_preset_names_are_refused(name):
    cfg = _base()
    _refused({**cfg, "preset": name}, r"preset: ")
    cfg["presets"][name] = cfg["presets"]["demo"]
    _refused(cfg, rf"presets\.{re.escape(name) if name.isprintable() else ''}")
    _refused(_with(_base(), "reproduction.fig4", {name: {"mass_ratio": [1e-3]}}), r"reproduction\.fig4\.")


@pytest.mark.parametrize("folder", HOSTILE_FOLDERS)
def test_hostile_folders_are_refused(folder):
    _refused({**_base(), "results": folder}, r"results: .* is not a usable folder")
    _refused(_with(_base(), "reproduction.report.quick", folder), r"reproduction\.report\.quick: ")


@pytest.mark.parametrize("launcher", HOSTILE_WORDS)
def test_hostile_launcher_strings_are_refused(launcher):
    _refused({**_base(), "launcher": launcher}, r"launcher: ")


@pytest.mark.parametrize("launcher, key", [
    (["mpiexec", "-n 1 true; touch x;"], r"launcher\[1\]"), (["srun", "--mpi=$(touch x)"], r"launcher\[1\]"),
    (["srun", 2], r"launcher\[1\]"), ([], "launcher"), ({"a": 1}, "launcher"), (None, "launcher")])
def test_hostile_launcher_lists_are_refused(launcher, key):
    _refused({**_base(), "launcher": launcher}, rf"{key}: ")


def test_allowed_names_pass():
    cfg = _base()
    for name in ("p_1.a-b", "...", "a..b", "x"):
        cfg["presets"][name] = cfg["presets"]["demo"]
    out = check_workflow_config({**cfg, "preset": "p_1.a-b", "results": "./r/..b/c/",
                                 "launcher": ["mpiexec", "-launcher", "fork", "--bind-to=core:2,+x"]})
    assert out["results"] == "./r/..b/c" and out["launcher"][-1] == "--bind-to=core:2,+x"


def test_long_values_are_cut_in_messages():
    message = _refused({**_base(), "results": "x;" * 100_000}, r"results: ")
    assert len(message) < 600
    message = _refused(_with(_base(), "physics.K1", "x" * 100_000), r"physics\.K1: expected a number")
    assert len(message) < 600
    message = _refused({**_base(), "k" * 10_000: 1}, r"k{200}\.\.\.: unknown key")
    assert len(message) < 1000
