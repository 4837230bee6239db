"""The paper's five figures as runs of the engines: which runs each figure needs, and where.

``config.yaml`` holds a ``reproduction`` section with one block per figure (``fig1`` .. ``fig5``)
and, inside each, one variant per preset (``quick`` for a laptop, ``paper`` for a cluster);
``--config preset=NAME`` selects the variant, and for Fig. 4 the sweep of the same preset (or of
the preset its variant's ``sweep`` names).
:func:`build_reproduction` validates the variants and expands them into runs
(:class:`kickedpair.sweep.plan.Run`, the value a sweep cell is too): one engine run each
(``classical``, ``quantum`` or ``noise``), with its complete run config and resources.

Layout, under ``RESULTS/PRESET/reproduction/``::

    FIG/ENGINE/NAME/                  a run's folder (config.yaml, ENGINE.h5, ENGINE.log and, for a
                                      checked run, convergence.h5: see kickedpair.sweep.plan)
    FIG/plan.json                     what the figure module reads
    FIG/FIG.png, FIG.json, FIG*.csv   the figure, its summary, its tables

Results of the layout before (``FIG/ENGINE/NAME/result.h5``) are renamed to ``ENGINE.h5`` when
the workflow starts (:func:`kickedpair.sweep.plan.migrate_results`).

The report (``reproduction.md`` with ``figures/``) goes to ``reproduction.report[PRESET]``
(``docs`` for ``quick``) or else to ``RESULTS/PRESET/report``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..params import ConfigError, parse_config
from ..workflow_config import check_workflow_config
from ..sweep.plan import (RUN_CONFIG, RUN_CONVERGENCE, RUN_NAME_PATTERN, RUN_RESULT, Run, SweepPlan,  # noqa: F401
                          build_plan, deep_merge, expand_axis, fmt)

__all__ = ["FIGURES", "Run", "FigurePlan", "Reproduction", "build_reproduction"]

RUN_DIR = "reproduction/{figure}/{engine}/{name}"   # the folder of a figure's run (a Run's folder)
FIGURE_DIR = "reproduction/{figure}"
FIGURE_PLAN = FIGURE_DIR + "/plan.json"
FIGURE_IMAGE = FIGURE_DIR + "/{figure}.png"
FIGURE_SUMMARY = FIGURE_DIR + "/{figure}.json"
REPORT_NAME = "reproduction.md"
# The tables each figure module writes beside FIG.png (its TABLES; the workflow declares them).
FIGURE_TABLES = {
    "fig1": ("fig1.csv", "fig1_inset.csv"),
    "fig2": ("fig2_energy.csv", "fig2_distributions.csv", "fig2_fits.csv"),
    "fig3": ("fig3_energy.csv", "fig3_distributions.csv", "fig3_compare.csv"),
    "fig4": ("fig4_eta.csv", "fig4_thresholds.csv"),
    "fig5": ("fig5_purity.csv", "fig5_fits.csv"),
}

@dataclass
class FigurePlan:
    figure: str
    variant: dict
    runs: list[Run]
    extra_runs: list[Run] = field(default_factory=list)  # runs of other figures it reads

    def as_dict(self, base: str) -> dict:
        """JSON-ready: the variant and every run with its paths under ``base``."""
        def entry(r: Run) -> dict:
            out = {"figure": r.figure, "engine": r.engine, "name": r.name, "role": r.role,
                   "config": r.config, "result": f"{base}/{r.result}"}
            if r.convergence:
                out["convergence"] = f"{base}/{r.path(RUN_CONVERGENCE)}"
            return out
        return {"figure": self.figure, "variant": self.variant,
                "runs": [entry(r) for r in self.runs], "extra_runs": [entry(r) for r in self.extra_runs]}


@dataclass
class Reproduction:
    preset: str
    results: str
    report_dir: str
    figures: dict[str, FigurePlan]
    fig4_sweep: SweepPlan | None = None  # the sweep Fig. 4 draws (reproduction.fig4.PRESET.sweep)

    @property
    def base(self) -> str:
        return f"{self.results}/{self.preset}"

    def runs(self) -> list[Run]:
        return [r for fp in self.figures.values() for r in fp.runs]



# --------------------------------------------------------------------------- helpers
def _floats(value: Any) -> list[float]:
    """A number or a list of them (checked by kickedpair.workflow_config) as a list of floats."""
    return [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def _member(value: Any, pool: list[float], key: str, pool_key: str) -> float:
    for v in pool:
        if isinstance(value, (int, float)) and fmt(v) == fmt(float(value)):
            return v
    raise ConfigError(f"{key}: {value!r} is not one of {pool_key} = {[fmt(v) for v in pool]}")


def _name(**parts: Any) -> str:
    """``key=value`` pairs joined by ``+`` (no commas: Snakemake splits wildcard values on them)."""
    return "+".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in parts.items())


class _Builder:
    """Expands one figure variant into runs; knows the shared sections of config.yaml and the
    sweep plan of the preset (its resources, updated by the variant's)."""

    def __init__(self, figure: str, variant: dict, shared: dict, seed: int, sweep: SweepPlan):
        self.figure, self.variant, self.shared, self.seed, self.sweep = figure, variant, shared, seed, sweep
        self.where = f"reproduction.{figure}"

    def run(self, engine: str, name: str, cfg: dict, role: dict, convergence: bool = False) -> Run:
        over = (self.variant.get("resources") or {}).get(engine, {})
        resources = self.sweep.run_resources(engine, over)
        keep = engine == "quantum" and (self.sweep.keep_checkpoints or convergence)
        folder = RUN_DIR.format(figure=self.figure, engine=engine, name=name)
        return Run(engine, folder, cfg, f"{self.figure}/{name}", resources, convergence, keep,
                   self.figure, name, role)

    def key(self, k: str) -> str:
        return f"{self.where}.{k}"

    def section(self, name: str, **over: Any) -> dict:
        base = dict(self.shared.get(name) or {})
        return {**deep_merge(base, self.variant.get(name) or {}), **over}

    def classical(self, name: str, role: dict, n_kicks: int, trajectories: int, snapshots: bool = False,
                  **physics: Any) -> Run:
        classical = self.section("classical", n_kicks=n_kicks, n_trajectories=trajectories, seed=self.seed)
        if snapshots:
            classical.setdefault("snapshot_times", [n_kicks])
        cfg = {"physics": self.section("physics", **physics), "classical": classical}
        return self.run("classical", name, cfg, role)

    def quantum(self, name: str, role: dict, n_kicks: int, convergence: bool, **physics: Any) -> Run:
        quantum = self.section("quantum", n_kicks=n_kicks)
        quantum.setdefault("snapshot_times", [n_kicks])
        cfg = {"physics": self.section("physics", **physics), "quantum": quantum}
        return self.run("quantum", name, cfg, role, convergence)

    def noise(self, name: str, role: dict, n_kicks: int, extra_times: tuple = (), **noise: Any) -> Run:
        sec = self.section("noise", n_kicks=n_kicks, **noise)
        sec.setdefault("snapshot_times", sorted({n_kicks, *(t for t in extra_times if t <= n_kicks)}))
        physics = self.section("physics", eps=0.0, hbar=role["hbar"])
        return self.run("noise", name, {"physics": physics, "noise": sec}, role, convergence=True)


# --------------------------------------------------------------------------- figures
def _fig1(b: _Builder, v: dict, done: dict) -> tuple[list[Run], list[Run]]:
    masses = [float(m) for m in expand_axis(v["mass_ratio"])]
    eps_values = _floats(v["eps"])
    profiles = v["interaction"] if isinstance(v["interaction"], list) else [v["interaction"]]
    n, traj = int(v["n_kicks"]), int(v["trajectories"])
    v["inset_mass_ratio"] = _member(v["inset_mass_ratio"], masses, b.key("inset_mass_ratio"), b.key("mass_ratio"))
    v["inset_eps"] = _member(v["inset_eps"], eps_values, b.key("inset_eps"), b.key("eps"))
    runs = []
    for profile in profiles:
        for eps in eps_values:
            for m in masses:
                role = {"interaction": profile, "eps": eps, "mass_ratio": m}
                runs.append(b.classical(_name(interaction=profile, eps=eps, m=m), role, n, traj,
                                        interaction=profile, eps=eps, mass_ratio=m))
    # eps = 0: the particles are independent, so one run serves every m and profile
    runs.append(b.classical("eps=0", {"interaction": None, "eps": 0.0, "mass_ratio": None}, n, traj,
                            eps=0.0))
    return runs, []


def _fig2(b: _Builder, v: dict, done: dict) -> tuple[list[Run], list[Run]]:
    hbars = _floats(v["hbar"])
    n, traj = int(v["n_kicks"]), int(v["trajectories"])
    m, eps = float(v["mass_ratio"]), float(v["eps"])
    v["distribution_hbar"] = [_member(h, hbars, b.key("distribution_hbar"), b.key("hbar"))
                              for h in _floats(v["distribution_hbar"])]
    h0 = _floats(v["unperturbed_hbar"])[0]
    conv = bool(v["convergence"])
    runs = [b.quantum(_name(hbar=h), {"hbar": h, "eps": eps, "mass_ratio": m}, n, conv,
                      hbar=h, eps=eps, mass_ratio=m) for h in hbars]
    runs.append(b.quantum(_name(eps=0, hbar=h0), {"hbar": h0, "eps": 0.0, "mass_ratio": m}, n, conv,
                          hbar=h0, eps=0.0, mass_ratio=m))
    runs.append(b.classical("classical", {"eps": eps, "mass_ratio": m}, n, traj, snapshots=True,
                            eps=eps, mass_ratio=m))
    # the classical line of the eps = 0 quantum run (particle 1 alone)
    runs.append(b.classical("eps=0", {"eps": 0.0, "mass_ratio": m}, n, traj, eps=0.0, mass_ratio=m))
    return runs, []


def _fig3(b: _Builder, v: dict, done: dict) -> tuple[list[Run], list[Run]]:
    fig2 = done.get("fig2")
    n = int(v["n_kicks"])
    traj = int(v["trajectories"])
    reals = int(v["realisations"])
    ha = _floats(v["hbar_a"])[0]
    Wa = _floats(v["W_a"])
    Wb = _floats(v["W_b"])[0]
    hb = _floats(v["hbar_b"])
    compare = _floats(v["compare_hbar"])
    pairs = {(fmt(ha), fmt(W)): (ha, W) for W in Wa}
    pairs.update({(fmt(h), fmt(Wb)): (h, Wb) for h in hb})
    pairs.update({(fmt(h), fmt(Wb)): (h, Wb) for h in compare})
    # the compared runs also record their distribution at Fig. 2's t_f, so that (c) compares
    # distributions at the same time
    t_fig2 = (int(fig2.variant["n_kicks"]),) if fig2 is not None else ()
    compared = {(fmt(h), fmt(Wb)) for h in compare}
    runs = [b.noise(_name(hbar=h, W=W), {"hbar": h, "W": W}, n,
                    extra_times=t_fig2 if (fmt(h), fmt(W)) in compared else (), W=W, realisations=reals)
            for h, W in sorted(pairs.values())]
    runs.append(b.classical("eps=0", {"eps": 0.0}, n, traj, eps=0.0))
    extra = []
    if fig2 is not None:
        pool = fig2.variant["distribution_hbar"]
        for h in compare:
            _member(h, pool, b.key("compare_hbar"), "reproduction.fig2.distribution_hbar")
        extra = [r for r in fig2.runs if r.engine == "quantum" and r.role["eps"] != 0.0
                 and fmt(r.role["hbar"]) in {fmt(h) for h in compare}]
    v["compare_hbar"] = compare
    return runs, extra


def _fig5(b: _Builder, v: dict, done: dict) -> tuple[list[Run], list[Run]]:
    hbars = sorted(set(_floats(v["hbar"])), reverse=True)
    K2s = _floats(v["K2"])
    n = int(v["n_kicks"])
    v["hbar"] = hbars
    v["power_window"] = [float(x) for x in v["power_window"]]
    v["exp_window"] = [float(x) for x in v["exp_window"]]
    conv = bool(v["convergence"])
    return [b.quantum(_name(hbar=h, K2=K2), {"K2": K2, "hbar": h}, n, conv, hbar=h, K2=K2)
            for h in hbars for K2 in K2s], []


def _fig4(b: _Builder, v: dict, done: dict) -> tuple[list[Run], list[Run]]:
    v["mass_ratio"] = [float(m) for m in expand_axis(v["mass_ratio"])]  # drawn from the sweep: no runs
    return [], []


#: each figure's expansion of its variant into runs (and the runs of earlier figures it reads)
EXPANDERS = {"fig1": _fig1, "fig2": _fig2, "fig3": _fig3, "fig4": _fig4, "fig5": _fig5}
FIGURES = tuple(EXPANDERS)


# --------------------------------------------------------------------------- entry
def _variant(block: Any, figure: str, preset: str) -> dict:
    """The figure's variant for ``preset`` (checked, defaults filled in, by kickedpair.workflow_config)."""
    if not isinstance(block, Mapping):
        raise ConfigError(f"reproduction.{figure}: missing")
    if preset not in block:
        known = ", ".join(sorted(block)) or "none"
        raise ConfigError(f"reproduction.{figure}: no variant for preset {preset!r} (variants: {known})")
    return copy.deepcopy(dict(block[preset]))


def build_reproduction(config: Mapping[str, Any], validate: bool = True,
                       sweep: SweepPlan | None = None) -> Reproduction:
    """The figure plans of the selected preset; raises :class:`ConfigError` naming the key.
    ``sweep``: the preset's sweep plan (its resources size the runs; built here when not given)."""
    config = check_workflow_config(config)  # every key of the workflow config, defaults filled in
    preset, section = config["preset"], config["reproduction"]
    report = {k: v.rstrip("/") or "/" for k, v in (section.get("report") or {}).items()}
    results = config["results"].rstrip("/") or "/"
    shared = {k: config.get(k) or {} for k in ("physics", "classical", "quantum", "noise")}
    seed = int(config["presets"][preset].get("seed", config["seed"]))
    if sweep is None:
        sweep = build_plan(config, validate=False)
    figures: dict[str, FigurePlan] = {}
    for fig, expand in EXPANDERS.items():
        v = _variant(section.get(fig), fig, preset)
        b = _Builder(fig, v, shared, seed, sweep)
        b.where = f"reproduction.{fig}.{preset}"
        figures[fig] = FigurePlan(fig, v, *expand(b, v, figures))
    for fp in figures.values():
        for run in fp.runs:
            if not re.fullmatch(RUN_NAME_PATTERN, run.name):
                raise ConfigError(
                    f"reproduction.{run.figure}.{preset}: run name {run.name!r} (from the variant's values) is "
                    "not a usable folder name: letters, digits and _ . = + - only")
    rep = Reproduction(preset, results, report.get(preset, f"{results}/{preset}/report"), figures)
    if validate:
        for run in rep.runs():
            try:
                parsed = parse_config(run.config)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (in the run config of {run.figure}/{run.engine}/{run.name})") from None
            if run.engine == "quantum":
                from ..quantum.resolution import resolve
                try:
                    resolve(parsed)
                except ConfigError as exc:
                    raise ConfigError(f"{exc} (in the run config of {run.figure}/quantum/{run.name})") from None
    return rep


def reproduction_of(config: Mapping[str, Any], sweep: SweepPlan) -> Reproduction | None:
    """The figure plans of the selected preset, or None when no figure has a variant for it;
    Fig. 4's masses must be in the preset's sweep."""
    blocks = config.get("reproduction") or {}
    if not any(isinstance(blocks.get(f), Mapping) and config["preset"] in blocks[f] for f in FIGURES):
        return None
    rep = build_reproduction(config, sweep=sweep)
    drawn = fig4_sweep_of(config, rep, sweep)
    masses = [fmt(m) for m in rep.figures["fig4"].variant["mass_ratio"]]
    missing = [m for m in masses if m not in drawn.mass_ratio]
    if missing:
        raise ConfigError(
            f"reproduction.fig4.{rep.preset}.mass_ratio: {missing} not in the sweep of preset {drawn.preset} "
            f"(presets.{drawn.preset}.mass_ratio = {drawn.mass_ratio})")
    return replace(rep, fig4_sweep=drawn)


def fig4_sweep_of(config: Mapping[str, Any], rep: Reproduction, sweep: SweepPlan) -> SweepPlan:
    """The sweep Fig. 4 draws: the preset's own, or the one its variant's ``sweep`` names."""
    other = rep.figures["fig4"].variant.get("sweep") or rep.preset
    if other == rep.preset:
        return sweep
    if other not in (config.get("presets") or {}):
        raise ConfigError(f"reproduction.fig4.{rep.preset}.sweep: no preset {other!r} "
                          f"(presets: {', '.join(sorted(config.get('presets') or {}))})")
    return build_plan({**config, "preset": other}, validate=False)


def variant_estimates(config: Mapping[str, Any]) -> dict[str, list[dict]]:
    """Per preset that has a variant of every figure: the engine's estimate (grid, scheme, substeps,
    memory, core-hours) of each quantum run, and of each quantum cell of the preset's sweep (Fig. 4)."""
    from ..quantum.cost import estimate_cost

    config = check_workflow_config(config)
    section = config.get("reproduction") or {}
    presets = [p for p in (config.get("presets") or {})
               if all(isinstance(section.get(f), Mapping) and p in section[f] for f in FIGURES)]
    out: dict[str, list[dict]] = {}
    for preset in presets:
        cfg = {**config, "preset": preset}
        rep = build_reproduction(cfg, validate=False)
        jobs = [(r.figure, r.name, r.config) for r in rep.runs() if r.engine == "quantum"]
        sweep = fig4_sweep_of(cfg, rep, build_plan(cfg, validate=False))
        jobs += [("fig4", f"sweep {c.name}", sweep.quantum_config(c.m, c.hbar)) for c in sweep.cells]
        rows = []
        for figure, name, run_config in jobs:
            cost = estimate_cost(parse_config(run_config))
            n = cost.numerics
            rows.append({"figure": figure, "run": name, "N1": n.N1, "N2": n.N2, "scheme": n.scheme,
                         "substeps": n.substeps, "n_kicks": cost.n_kicks, "memory_mb": round(cost.memory_mb),
                         "core_hours": cost.core_hours})
        out[preset] = rows
    return out
