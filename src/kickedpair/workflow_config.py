"""The workflow config (config.yaml, a profile's site.yaml, ``--config``): every key declared once.

Each key is declared below like :mod:`kickedpair.params`' (``_spec``: kind, default, bounds or pattern,
doc); :func:`workflow_keys` lists them.  :func:`check_workflow_config` checks a whole config and returns
it normalized: defaults filled in (not inside a preset's overrides of the top-level sections), numbers
written as strings read once (YAML 1.1 reads ``1e-3`` as a string, ``--config`` gives strings), ``true``
/ ``false`` strings as booleans, the launcher as a list of words, trailing '/' dropped from folders.  A
bad config raises ConfigError naming the key: ``presets.demo.hbar[1]: must be > 0, got -0.04``.  Run-config
sections are checked key by key against kickedpair.params and kept as given.  Names that become paths
(preset names, ``results``, report folders) and the launcher's words must match :data:`NAME_PATTERN`,
:data:`PATH_PATTERN`, :data:`WORD_PATTERN`: a config can neither write outside its results folder nor
reach a shell with anything but plain words.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shlex
from dataclasses import dataclass
from functools import partial
from typing import Any, Iterator, Mapping

from .params import (INT_LIMIT, INTERACTION_PROFILES, SEED_LIMIT, ClassicalNumerics, ConfigError, NoiseNumerics,
                     Physics, QuantumNumerics, _check_number, _coerce, _power_text, _spec, at_least, non_negative,
                     one_of, positive, short_repr)

__all__ = ["check_workflow_config", "workflow_keys", "WorkflowConfig", "NAME_PATTERN", "PATH_PATTERN",
           "WORD_PATTERN", "check_name", "check_path", "parse_launcher"]


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")  #: the key must be given
UNSET = _Marker("UNSET")  #: no default: left out when not given (its reader's fallback is named in the doc)
SECTION = _Marker("SECTION")  #: a sub-section: its own defaults filled in when not given

# --------------------------------------------------------------------------- names and words
NAME_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.-]+$"
_COMPONENT = r"(?!\.\.(?:/|$))[A-Za-z0-9_.-]+"
PATH_PATTERN = rf"^/?{_COMPONENT}(?:/{_COMPONENT})*/?$"
WORD_PATTERN = r"^[A-Za-z0-9_./=:,+-]+$"
NAME_RULE = "letters, digits and _ . - only, not '.' or '..'"
PATH_RULE = "folder names of letters, digits and _ . - joined by '/' (relative or absolute), no '..'"
WORD_RULE = "plain words of letters, digits and _ . / = : , + -"
SIG_DIGITS = 4  #: significant digits of grid values in paths (kickedpair.sweep.plan.SIG_DIGITS)


def check_name(value: Any, key: str) -> str:
    """``value`` if it is usable as one folder name (:data:`NAME_PATTERN`), else ConfigError."""
    if not isinstance(value, str) or not re.fullmatch(NAME_PATTERN, value):
        raise ConfigError(f"{key}: {short_repr(value)} is not a usable name: {NAME_RULE} (it becomes a folder name)")
    return value


def check_path(value: Any, key: str) -> str:
    """``value`` without a trailing '/' if it is a safe folder path (:data:`PATH_PATTERN`)."""
    if not isinstance(value, str) or not re.fullmatch(PATH_PATTERN, value):
        raise ConfigError(f"{key}: {short_repr(value)} is not a usable folder: {PATH_RULE}")
    return value.rstrip("/") or "/"


def parse_launcher(value: Any, key: str = "launcher") -> list[str]:
    """The launcher's words (each a :data:`WORD_PATTERN`): a list of them, or a string split by :func:`shlex.split`."""
    if not isinstance(value, (str, list, tuple)):
        raise ConfigError(f"{key}: expected a list of words such as [srun, --mpi=pmi2], got {short_repr(value)}")
    listed = not isinstance(value, str)
    try:
        words = list(value) if listed else shlex.split(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {short_repr(value)} cannot be split into words ({exc})") from None
    if not words:
        raise ConfigError(f"{key}: empty; give the launcher command, e.g. [mpiexec] or [srun, --mpi=pmi2]")
    for i, w in enumerate(words):
        if not isinstance(w, str) or not re.fullmatch(WORD_PATTERN, w):
            raise ConfigError(f"{f'{key}[{i}]' if listed else key}: {short_repr(w)} is not a plain word: the "
                              f"launcher is a list of {WORD_RULE} (e.g. [srun, --mpi=pmi2]), never shell text")
    return words


def _join(where: str, name: Any) -> str:
    """``where.name`` as messages show it: a printable name as is (cut at 200 characters)."""
    printable = isinstance(name, str) and name.isprintable()
    text = (name if len(name) <= 200 else name[:200] + "...") if printable else short_repr(name, 60)
    return f"{where}.{text}" if where else text


# --------------------------------------------------------------------------- one value
_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_INTEGER = re.compile(r"^[-+]?[0-9]+$")


def _number(value: Any) -> Any:
    """A number written as a string (``'1e-3'``, ``' 20 '``) as that number; anything else as is."""
    if isinstance(value, str) and len(value) <= 400 and _NUMBER.match(value.strip()):
        return int(value.strip()) if _INTEGER.match(value.strip()) else float(value.strip())
    return value


def _read(value: Any, kind: str) -> Any:
    """``value`` with the numbers (booleans) written as strings read, for a key of ``kind``."""
    lists = ("float_pair", "int_list", "numbers", "window")
    if kind == "axis" and isinstance(value, Mapping):
        return {k: _read(a, kind) if isinstance(a, (list, tuple)) else a for k, a in value.items()}
    if kind in (*lists, "axis") and isinstance(value, (list, tuple)):
        return [_number(v) for v in value]
    if kind in ("float", "int", "float?", "int?", "int|auto", "int_or_auto", "length", *lists):
        return _number(value)
    if kind == "bool" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _listed(value: Any) -> Any:
    """Tuples as lists, recursively (the normalized config is plain YAML/JSON data)."""
    if isinstance(value, (list, tuple)):
        return [_listed(v) for v in value]
    return {k: _listed(v) for k, v in value.items()} if isinstance(value, Mapping) else value


def _bounded(item: Any, key: str, meta: Mapping, shown: Any) -> None:
    """``meta``'s check, and the integer bound, on one item (already of its kind)."""
    check, below = meta.get("check"), meta.get("below", INT_LIMIT)
    problem = check(item) if check is not None else None
    if not problem and isinstance(item, int) and not isinstance(item, bool) and item >= below:
        problem = f"must be < {_power_text(below)}"
    if problem:
        raise ConfigError(f"{key}: {problem}, got {short_repr(shown)}")


def _parsed(value: Any, key: str, meta: Mapping, shown: Any) -> Any:
    """``value`` as its kickedpair.params kind (float, int, bool, str, float_pair, ...), each item bounded."""
    parsed = _coerce(value, key, meta["kind"])
    for item in parsed if isinstance(parsed, tuple) else () if parsed is None else (parsed,):
        _bounded(item, key, meta, shown)
    return parsed


def _distinct(values: list, key: str, shown: Any) -> None:
    if len({f"{float(v):.{SIG_DIGITS}g}" for v in values}) != len(values):
        raise ConfigError(f"{key}: values coincide at {SIG_DIGITS} significant digits: {short_repr(shown)}")


def _several(value: Any, key: str, meta: Mapping, fill: bool = True, empty: str = "empty") -> Any:
    """One item or a non-empty list of them (strings if kind 'words', else numbers none alike), each checked."""
    listed, kind = isinstance(value, (list, tuple)), "str" if meta.get("kind") == "words" else "float"
    items = list(value) if listed else [value]
    if not items:
        raise ConfigError(f"{key}: {empty}; give at least one value")
    for i, v in enumerate(items):
        where = f"{key}[{i}]" if listed else key
        _bounded(_coerce(v, where, kind), where, meta, v)
    if kind == "float":
        _distinct(items, key, value)
    return items if listed else value


def _axis(value: Any, key: str) -> Any:
    """A grid axis: a non-empty list of numbers > 0, or ``{log: [lo, hi, n]}`` / ``{linear: ...}``."""
    if isinstance(value, (list, tuple)):
        return _several(value, key, {"check": positive}, empty="the axis is empty")
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("log", "linear"):
        raise ConfigError(f"{key}: expected a list or {{log: [lo, hi, n]}} / {{linear: [lo, hi, n]}}, "
                          f"got {short_repr(value)}")
    (kind, args), = value.items()
    where = f"{key}.{kind}"
    if not isinstance(args, (list, tuple)) or len(args) != 3:
        raise ConfigError(f"{where}: expected [lo, hi, n], got {short_repr(args)}")
    lo, hi, n = (_check_number(v, f"{where}[{i}]", integer=i == 2) for i, v in enumerate(args))
    for i, (v, check) in enumerate(((lo, positive), (hi, positive), (n, at_least(1)))):
        _bounded(v, f"{where}[{i}]", {"check": check, "below": 10**6}, args[i])
    if lo > hi or (n == 1 and lo != hi):
        raise ConfigError(f"{where}: {'need lo <= hi' if lo > hi else 'n = 1 needs lo == hi'}, got {short_repr(args)}")
    step = (lambda i: lo * (hi / lo) ** (i / (n - 1))) if kind == "log" else (lambda i: lo + (hi - lo) * i / (n - 1))
    _distinct([lo] if n == 1 else [step(i) for i in range(n)], key, value)
    return {kind: [args[0], args[1], n]}


def _window(value: Any, key: str) -> list:
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and all(math.isfinite(v) for v in value) and 0 <= value[0] < value[1] <= 1):
        raise ConfigError(f"{key}: expected [lo, hi] fractions of n_kicks with 0 <= lo < hi <= 1, "
                          f"got {short_repr(value)}")
    return list(value)


def _int_or(value: Any, key: str, meta: Mapping, fill: bool = True) -> Any:
    """An integer, or None (kind 'int?') / 'auto' (kind 'int_or_auto')."""
    other = "null" if meta["kind"] == "int?" else "'auto'"
    if value is None if other == "null" else value == "auto":
        return value
    try:
        number = _coerce(value, key, "int")
    except ConfigError:
        raise ConfigError(f"{key}: expected an integer or {other}, got {short_repr(value)}") from None
    _bounded(number, key, meta, value)
    return number


def _keys(cls: type, value: Any, where: str) -> tuple[Mapping, dict]:
    """``value`` (None: empty) as a mapping of the keys ``cls`` declares, and those fields by name."""
    value = {} if value is None else value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping of keys to values, got {short_repr(value)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted((k for k in value if k not in fields), key=str)
    if unknown:
        raise ConfigError(f"{_join(where, unknown[0])}: unknown key (known keys: {', '.join(sorted(fields))})")
    return value, fields


def _engine(value: Any, key: str, meta: Mapping, fill: bool = True) -> dict:
    """A run-config section: each key checked by its kickedpair.params spec, kept as given (numbers read)."""
    value, fields = _keys(meta["sub"], value, key)
    out = {name: _read(raw, fields[name].metadata["kind"]) for name, raw in value.items()}
    for name, raw in value.items():
        _parsed(out[name], f"{key}.{name}", fields[name].metadata, raw)
    return _listed(out)


def _mapping(value: Any, key: str, meta: Mapping, fill: bool) -> dict:
    """A mapping of names (each a :func:`check_name`) to values of the kind ``meta['of']``."""
    value = {} if value is None else value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping of names to {meta.get('what', 'values')}, "
                          f"got {short_repr(value)}")
    for name in value:
        check_name(name, _join(key, name))
    if meta.get("non_empty") and not value:
        raise ConfigError(f"{key}: empty; define at least one")
    return {name: _value(v, _join(key, name), meta["of"], fill) for name, v in value.items()}


#: the check of each kind: by the value and its key alone (_PLAIN), or also its declaration (_KINDS: v, k, meta, fill)
_PLAIN = {"name": check_name, "folder": check_path, "launcher": parse_launcher, "axis": _axis, "window": _window}
_KINDS = {"section": lambda v, k, m, fill: _section(m["sub"], v, k, fill and not m.get("override", False)),
          "engine": _engine, "map": _mapping, "numbers": _several, "words": _several, "int?": _int_or,
          "int_or_auto": _int_or}


def _value(value: Any, key: str, meta: Mapping, fill: bool = True) -> Any:
    """``value`` of the key ``key`` checked against its ``meta`` (a field's metadata); normalized."""
    kind, value = meta["kind"], _read(value, meta["kind"])
    if kind in _PLAIN:
        return _PLAIN[kind](value, key)
    return _KINDS[kind](value, key, meta, fill) if kind in _KINDS else _listed(_parsed(value, key, meta, value))


def _default(f: dataclasses.Field) -> Any:
    return f.default if f.default is not dataclasses.MISSING else _listed(f.default_factory())  # type: ignore[misc]


def _section(cls: type, value: Any, where: str, fill: bool = True) -> dict:
    """The keys declared by ``cls``; ``fill``: defaults filled in, required keys required (else only what is given)."""
    value, fields = _keys(cls, value, where)
    out = {}
    for name, f in fields.items():
        key, default = _join(where, name), _default(f)
        if name in value:
            out[name] = _value(value[name], key, f.metadata, fill)
        elif default is REQUIRED and fill:
            raise ConfigError(f"{key}: required")
        elif fill and default is not UNSET:
            out[name] = _value(None, key, f.metadata, fill) if default is SECTION else default
    return out


# --------------------------------------------------------------------------- the keys
# shorthands for the specs several keys share (call them with doc=...)
_count = partial(_spec, kind="int", check=at_least(1))
_auto = partial(_spec, UNSET, "int_or_auto", at_least(1))
_pos = partial(_spec, kind="float", check=positive)
_flag = partial(_spec, kind="bool")
_seed = partial(_spec, kind="int", check=non_negative, below=SEED_LIMIT)
_engine_spec = partial(_spec, SECTION, "engine")
_section_spec = partial(_spec, SECTION, "section")
_N_KICKS, _TRAJECTORIES = "number of kick periods of the figure's runs, t_f", "classical ensemble size"
_WINDOW = "fit window [lo, hi], fractions of n_kicks, 0 <= lo < hi <= 1"


@dataclass(frozen=True)
class Analysis:
    """How the sweep turns eta(hbar) into thresholds (kickedpair.sweep.aggregate)."""

    fit_window: tuple = _pos((0.12, 1.0), kind="float_pair", doc="eta window [lo, hi] of the exponential fit "
                             "ln eta = a - alpha*hbar (the points with lo <= eta <= hi)")
    eta_c: float = _pos(0.9, doc="eta level defining hbar_c (classical diffusion below)")
    eta_dl: float = _pos(0.1, doc="eta level defining hbar_DL (dynamical localisation above); below eta_c")
    hbar_scale: str = _spec("linear", "str", one_of("linear", "log"), doc="hbar axis of the figures")


@dataclass(frozen=True)
class RuleResources:
    """Resources of the jobs of one rule; each key defaults to resources.default's."""

    ranks: int = _count(UNSET, doc="MPI ranks (Slurm tasks) of a job; default 1")
    threads: int = _count(UNSET, doc="threads per rank (Slurm cpus_per_task); default 1")
    mem_mb: int = _auto(doc="memory of a job in MB or 'auto' (quantum runs: estimated from the grid); default 2000")
    runtime: int = _auto(doc="wall time in minutes or 'auto' (quantum runs: estimate times runtime_safety); default 60")
    runtime_safety: float = _pos(UNSET, doc="factor on the estimated time of a run (runtime: auto); default 4")
    retries: int = _count(UNSET, check=at_least(0),
                          doc="automatic re-runs of a failed job (a quantum run resumes at its checkpoint); default 0")


@dataclass(frozen=True)
class QuantumMemory:
    """A quantum job's memory request: kickedpair.quantum.cost.request_mb's estimate, clipped to [min_mb, max_mb]."""

    min_mb: int = _count(1000, doc="the least a quantum job asks for, in MB")
    max_mb: int = _count(1_000_000, doc="the most a quantum job asks for, in MB (node_mem_mb replaces it when set); "
                         "a run estimated above it is refused unless allow_over_limit")
    allow_over_limit: bool = _flag(False, doc="true: a quantum run estimated above the limit (node_mem_mb or max_mb) "
                                   "is only warned about and asked for at the limit; false: refused before jobs run")


_rule = partial(_spec, UNSET, "section", sub=RuleResources)
_override = partial(_spec, UNSET, "section", override=True)


@dataclass(frozen=True)
class Resources:
    """Per-rule resources: resources.default updated by resources.RULE."""

    default: dict = _rule(doc="resources of every rule, updated by the rule's own")
    classical: dict = _rule(doc="the classical runs (sweep cells and figure runs)")
    quantum: dict = _rule(doc="the quantum runs (sweep cells and figure runs)")
    noise: dict = _rule(doc="the random-kick model's runs (Fig. 3)")
    aggregate: dict = _rule(doc="the aggregation of the sweep")
    quantum_memory: dict = _section_spec(doc="the memory estimate of a quantum job", sub=QuantumMemory)


@dataclass(frozen=True)
class Adaptive:
    """An adaptive sweep (kickedpair.sweep.refine): the preset's hbar grid is the first round; after each
    round the cells that bracket eta_c and eta_dl closer are added, per mass ratio."""

    rel_width: float = _pos(0.05, doc="target relative width of a threshold's bracket in hbar")
    hbar_min: float = _pos(REQUIRED, doc="smallest hbar a cell may get (the grid is extended no further)")
    hbar_max: float = _pos(REQUIRED, doc="largest hbar a cell may get")
    max_cells: int = _count(30, doc="most quantum cells per mass ratio, the first round's included")
    max_rounds: int = _count(8, doc="most rounds after the first")


@dataclass(frozen=True)
class Preset:
    """A named sweep: its (hbar, m) grid and run lengths; the other keys override the top-level ones."""

    description: str = _spec("", "str", doc="what the preset is for (shown in the manifest)")
    hbar: Any = _spec(REQUIRED, "axis", doc="hbar values of the grid: a non-empty list of numbers > 0, or "
                      "{log: [lo, hi, n]} / {linear: [lo, hi, n]} (0 < lo <= hi, 1 <= n < 10**6); no two values "
                      "alike at 4 significant digits (they name the cells' folders)")
    mass_ratio: Any = _spec(REQUIRED, "axis", doc="mass ratios m of the grid, as hbar")
    n_kicks: int = _count(REQUIRED, doc="t_f, for the classical and the quantum runs")
    trajectories: int = _count(REQUIRED, doc="classical ensemble size")
    seed: int = _seed(UNSET, doc="seed of the classical ensembles; default: the top-level seed")
    allow_missing: bool = _flag(UNSET, doc="overrides the top-level allow_missing")
    keep_checkpoints: bool = _flag(UNSET, doc="overrides the top-level keep_checkpoints")
    initial_sensitivity: bool = _flag(UNSET, doc="overrides the top-level initial_sensitivity")
    adaptive: dict = _spec(UNSET, "section", doc="refine the hbar grid round by round towards the thresholds "
                           "(the preset's hbar is the first round); absent: the rectangular grid", sub=Adaptive)
    physics: dict = _spec(UNSET, "engine", doc="overrides of the top-level physics section", sub=Physics)
    classical: dict = _spec(UNSET, "engine", doc="overrides of the top-level classical section", sub=ClassicalNumerics)
    quantum: dict = _spec(UNSET, "engine", doc="overrides of the top-level quantum section", sub=QuantumNumerics)
    analysis: dict = _override(doc="overrides of the top-level analysis section", sub=Analysis)
    resources: dict = _override(doc="overrides of the top-level resources section", sub=Resources)


# ---- figure variants (kickedpair.reproduce.plan: VARIANT_KEYS, _fig1 .. _fig5)
@dataclass(frozen=True)
class VariantResources:
    """Resources of a figure's runs: resources.ENGINE of the preset updated by these."""

    classical: dict = _rule(doc="the figure's classical runs")
    quantum: dict = _rule(doc="the figure's quantum runs")
    noise: dict = _rule(doc="the figure's runs of the random-kick model")


@dataclass(frozen=True)
class _Variant:
    description: str = _spec("", "str", doc="what the variant is for (shown in the report)")
    physics: dict = _engine_spec(doc="overrides of the top-level physics section for the figure's runs", sub=Physics)
    classical: dict = _engine_spec(doc="overrides of the classical section for the figure's runs",
                                   sub=ClassicalNumerics)
    quantum: dict = _engine_spec(doc="overrides of the quantum section for the figure's runs", sub=QuantumNumerics)
    noise: dict = _engine_spec(doc="overrides of the noise section for the figure's runs", sub=NoiseNumerics)
    resources: dict = _section_spec(doc="resources of the figure's runs, per engine", sub=VariantResources)


@dataclass(frozen=True)
class Fig1(_Variant):
    """Classical Dc against m for both interaction profiles; inset <p1^2>(t)."""

    mass_ratio: Any = _spec(REQUIRED, "axis", doc="mass ratios: a list of numbers > 0 or {log: [lo, hi, n]}")
    eps: Any = _pos(REQUIRED, kind="numbers", doc="interaction strengths (a number or a list)")
    interaction: Any = _spec(("gaussian", "gaussian_width"), "words", one_of(*INTERACTION_PROFILES),
                             doc="interaction profiles (one or a list)")
    n_kicks: int = _count(REQUIRED, doc=_N_KICKS)
    trajectories: int = _count(REQUIRED, doc=_TRAJECTORIES)
    inset_mass_ratio: float = _pos(1e-3, doc="m of the inset (one of mass_ratio)")
    inset_eps: float = _pos(2.0, doc="eps of the inset (one of eps)")


@dataclass(frozen=True)
class Fig2(_Variant):
    """Classical and quantum E1(t); P1(p) at t_f."""

    hbar: Any = _pos(REQUIRED, kind="numbers", doc="hbar values of the quantum runs")
    mass_ratio: float = _pos(1e-3, doc="mass ratio m of every run")
    eps: float = _spec(2.0, "float", non_negative, doc="interaction strength of every run (but the unperturbed)")
    n_kicks: int = _count(REQUIRED, doc=_N_KICKS)
    trajectories: int = _count(REQUIRED, doc=_TRAJECTORIES)
    unperturbed_hbar: float = _pos(0.01, doc="hbar of the quantum run at eps = 0")
    distribution_hbar: Any = _pos(REQUIRED, kind="numbers", doc="hbar values whose P1(p) is shown (among hbar)")
    convergence: bool = _flag(True, doc="check every quantum run with --check-convergence")


@dataclass(frozen=True)
class Fig3(_Variant):
    """The random-kick model: one particle, K = K1 + dK_n with dK_n in [-W, W]."""

    hbar_a: float = _pos(0.01, doc="hbar of panel (a), over W_a")
    W_a: Any = _spec((0.01, 0.008, 0.005, 0.0), "numbers", non_negative, doc="noise half-widths of panel (a)")
    W_b: float = _spec(0.01, "float", non_negative, doc="noise half-width of panel (b), over hbar_b")
    hbar_b: Any = _pos((0.01, 0.02, 0.03, 0.05), kind="numbers", doc="hbar values of panel (b)")
    realisations: int = _count(50, doc="noise realisations averaged")
    n_kicks: int = _count(REQUIRED, doc=_N_KICKS)
    trajectories: int = _count(REQUIRED, doc=_TRAJECTORIES)
    compare_hbar: Any = _pos(REQUIRED, kind="numbers",
                             doc="hbar values compared with Fig. 2's distributions (among its distribution_hbar)")


@dataclass(frozen=True)
class Fig4(_Variant):
    """eta(hbar) per m and the phase diagram, from the preset's sweep."""

    mass_ratio: Any = _spec(REQUIRED, "axis", doc="mass ratios shown (each in the sweep drawn from)")
    sweep: str = _spec("", "str", doc="the preset whose sweep is drawn (default: this one); another preset's "
                       "sweep is run first, by itself: snakemake --config preset=NAME")


@dataclass(frozen=True)
class Fig5(_Variant):
    """Purity with the coupling eps*hbar."""

    hbar: Any = _pos(REQUIRED, kind="numbers", doc="hbar values (a number or a list): every K2 runs at each")
    K2: Any = _spec((0.0, 0.03, 0.05, 0.09, 0.12), "numbers", non_negative, doc="kick strengths of particle 2")
    n_kicks: int = _count(REQUIRED, doc=_N_KICKS)
    convergence: bool = _flag(True, doc="check every quantum run with --check-convergence")
    power_window: tuple = _spec((0.2, 1.0), "window", doc=f"power-law {_WINDOW}")
    exp_window: tuple = _spec((0.2, 1.0), "window", doc=f"exponential {_WINDOW}")


FIGURE_VARIANTS: dict[str, type] = {"fig1": Fig1, "fig2": Fig2, "fig3": Fig3, "fig4": Fig4, "fig5": Fig5}


def _figure(cls: type):
    return _spec(UNSET, "map", doc=f"{cls.__doc__.strip()} One variant per preset.", what="figure variants",
                 of={"kind": "section", "sub": cls, "doc": "the figure's variant for the preset of that name"})


@dataclass(frozen=True)
class Reproduction:
    """The paper's figures: one block per figure, one variant per preset inside it."""

    report: dict = _spec(SECTION, "map", doc="preset -> folder of its report (others: RESULTS/PRESET/report)",
                         of={"kind": "folder", "doc": "the folder of that preset's reproduction.md and figures/"},
                         what="folders")
    fig1: dict = _figure(Fig1)
    fig2: dict = _figure(Fig2)
    fig3: dict = _figure(Fig3)
    fig4: dict = _figure(Fig4)
    fig5: dict = _figure(Fig5)


@dataclass(frozen=True)
class WorkflowConfig:
    """The whole workflow config (config.yaml, a profile's site.yaml, --config)."""

    preset: str = _spec(REQUIRED, "name", doc="the preset to run (a key of presets); --config preset=NAME")
    results: str = _spec("results", "folder", doc="root folder of the results; a preset writes under RESULTS/PRESET/")
    launcher: tuple = _spec(("mpiexec",), "launcher", doc="MPI launcher of the cell jobs, run as LAUNCHER -n RANKS "
                            "...: a list of plain words ([mpiexec], [srun, --mpi=pmi2]) or such words in one string")
    node_mem_mb: int | None = _count(None, kind="int?", doc="memory of one node in MB (a cluster profile's site.yaml "
                                     "sets it): a quantum job's limit in place of resources.quantum_memory.max_mb; "
                                     "null: max_mb applies")
    allow_missing: bool = _flag(False, doc="true: aggregate the cells present, list the missing ones, run no cell")
    keep_checkpoints: bool = _flag(False, doc="keep a quantum cell's checkpoint once its result is written")
    initial_sensitivity: bool = _flag(False, doc="true: also one classical run per cell from the quantum initial "
                                      "state's ensemble (classical.initial = quantum at the cell's hbar); the cell "
                                      "table carries eta against it, eta_quantum_initial, beside eta")
    seed: int = _seed(20200101, doc="seed of the classical ensembles (a preset may override it)")
    physics: dict = _engine_spec(doc="physics shared by every run (kickedpair.params); mass_ratio and hbar are the "
                                 "grid axes", sub=Physics)
    classical: dict = _engine_spec(doc="numerics of the classical runs (kickedpair.params); n_kicks, n_trajectories, "
                                   "seed come from the preset", sub=ClassicalNumerics)
    quantum: dict = _engine_spec(doc="numerics of the quantum runs (kickedpair.params); n_kicks comes from the "
                                 "preset", sub=QuantumNumerics)
    noise: dict = _engine_spec(doc="numerics of the random-kick model's runs (kickedpair.params)", sub=NoiseNumerics)
    analysis: dict = _section_spec(doc="fits and thresholds of the sweep", sub=Analysis)
    resources: dict = _section_spec(doc="per-rule resources of the jobs", sub=Resources)
    presets: dict = _spec(REQUIRED, "map", doc="the named sweeps; `preset` picks one", what="presets",
                          of={"kind": "section", "sub": Preset, "doc": "one named sweep"}, non_empty=True)
    reproduction: dict = _section_spec(doc="the paper's five figures as pipeline targets", sub=Reproduction)


# --------------------------------------------------------------------------- rules across keys
#: keys of the run sections the sweep sets itself, from the preset's keys
_SET_BY_SWEEP = {"physics": {"mass_ratio": "mass_ratio", "hbar": "hbar"},
                 "classical": {"n_kicks": "n_kicks", "n_trajectories": "trajectories", "seed": "seed"},
                 "quantum": {"n_kicks": "n_kicks"}}


def _sweep_rules(sections: Mapping, where: str, preset: str, top: Mapping) -> None:
    """A sweep's run sections leave its axes alone; its analysis (``top`` updated by the preset's) is consistent."""
    for section, keys in _SET_BY_SWEEP.items():
        for key in (k for k in keys if k in (sections.get(section) or {})):
            raise ConfigError(f"{where}{section}.{key}: set by the sweep (presets.{preset}.{keys[key]}); "
                              f"remove it from the {section} section")
    if (sections.get("physics") or {}).get("coupling_scales_with_hbar"):
        raise ConfigError(f"{where}physics.coupling_scales_with_hbar: must be false in a sweep "
                          "(one classical run per mass ratio assumes Dc does not depend on hbar)")
    merged = {**top, **(over := sections.get("analysis") or {})}
    name = lambda k: f"{where}analysis.{k}" if k in over else f"analysis.{k}"  # noqa: E731
    lo, hi = merged["fit_window"]
    if not lo < hi:
        raise ConfigError(f"{name('fit_window')}: need lo < hi, got {[lo, hi]}")
    if not merged["eta_dl"] < merged["eta_c"]:
        raise ConfigError(f"{name('eta_dl')}: must be below {name('eta_c')} = {merged['eta_c']}, "
                          f"got {merged['eta_dl']}")


def check_workflow_config(config: Mapping) -> dict:
    """The workflow config checked against :class:`WorkflowConfig` and normalized; ConfigError ``KEY: problem``."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"config: expected a mapping of keys to values, got {short_repr(config)}")
    _keys(WorkflowConfig, config, "")
    presets = config.get("presets")  # the names first: a preset's name becomes a folder whether or not it runs
    for name in presets if isinstance(presets, Mapping) else ():
        check_name(name, _join("presets", name))
    if "preset" not in config:
        raise ConfigError("preset: required")
    name = check_name(config["preset"], "preset")
    if isinstance(presets, Mapping) and name not in presets:
        known = ", ".join(sorted(presets)) or "none defined"
        raise ConfigError(f"preset: unknown preset {short_repr(name)} (known presets: {known})")
    out = _section(WorkflowConfig, config, "")
    for where, p, sections in (("", name, out), *((f"presets.{p}.", p, s) for p, s in out["presets"].items())):
        _sweep_rules(sections, where, p, out["analysis"])
    return out


def workflow_keys(cls: type = WorkflowConfig, where: str = "") -> Iterator[tuple[str, Mapping, Any]]:
    """Every declared key as ``(dotted key, metadata, default)``; a mapping's entries as ``KEY.<name>``."""
    for f in dataclasses.fields(cls):
        key, meta = f"{where}.{f.name}" if where else f.name, f.metadata
        yield key, meta, _default(f)
        while meta["kind"] == "map":
            key, meta = f"{key}.<name>", meta["of"]
            yield key, meta, UNSET
        if meta["kind"] in ("section", "engine"):
            yield from workflow_keys(meta["sub"], key)
