"""Typed, validated run parameters: the one place a config mapping becomes physics.

A run configuration is a mapping with one sub-mapping per section::

    physics:    {K1: 1.8, K2: 0.0, eps: 2.0, lam: 10.0, L: pi, mass_ratio: 1.0e-3, ...}
    classical:  {n_trajectories: 10000, seed: 2020, n_kicks: 500, ...}

Every key of every section is declared below with its type, its default and the
values it may take.  ``parse_config`` rejects unknown sections and keys, wrong
types and impossible values with a :class:`ConfigError` that names the key and
the offending value; nothing runs before the whole config has been checked.

Every integer is bounded (seeds below ``2**63``, HDF5's int64 and numpy's seed range;
counts and sizes below ``2**62``), so that no value can pass here and fail only when the
result is written; whether a run of that size fits in memory is :mod:`kickedpair.limits`'
question.  Guard tolerances have upper bounds beyond which the guard would check nothing.
Values are echoed in messages through :func:`short_repr`, which never shows more than about
200 characters of them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import yaml

from .errors import ConfigError

__all__ = [
    "ConfigError",
    "short_repr",
    "yaml_error_text",
    "INT_LIMIT",
    "SEED_LIMIT",
    "Physics",
    "ClassicalNumerics",
    "QuantumNumerics",
    "NoiseNumerics",
    "RunConfig",
    "parse_config",
    "load_yaml",
    "apply_overrides",
    "INTERACTION_PROFILES",
]


#: every integer of a config is below this (counts, sizes, times)
INT_LIMIT = 2**62
#: seeds are below this: numpy's SeedSequence takes any non-negative integer, HDF5 stores int64
SEED_LIMIT = 2**63
#: how much of a value an error message shows
REPR_LIMIT = 200


# --------------------------------------------------------------------------- messages
class _Full(Exception):
    pass


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...`` where it was cut.

    Built piece by piece and stopped at the limit, so that a huge value (a YAML tree that
    aliases expand to gigabytes, a 100 MB string, an integer of a million digits) costs no
    more than what is shown.
    """
    out: list[str] = []
    size = 0

    def put(text: str) -> None:
        nonlocal size
        out.append(text)
        size += len(text)
        if size > limit:
            raise _Full

    def walk(v: Any) -> None:
        if isinstance(v, str):
            put(repr(v[: limit + 1]))
        elif isinstance(v, (bytes, bytearray)):
            put(repr(bytes(v[: limit + 1])))
        elif isinstance(v, bool) or v is None or isinstance(v, float):
            put(repr(v))
        elif isinstance(v, int):
            if v.bit_length() <= 4 * limit:
                put(repr(v))
            else:  # repr would fail beyond 4300 digits; count them instead (10**k is cheap)
                k = int((v.bit_length() - 1) * math.log10(2))
                put(f"<an integer of {k + 2 if abs(v) >= 10 ** (k + 1) else k + 1} digits>")
        elif isinstance(v, Mapping):
            put("{")
            for i, (k, x) in enumerate(v.items()):
                if i:
                    put(", ")
                walk(k)
                put(": ")
                walk(x)
            put("}")
        elif isinstance(v, (list, tuple, set, frozenset)):
            left, right = {list: "[]", tuple: "()"}.get(type(v), "{}")
            put(left)
            for i, x in enumerate(v):
                if i:
                    put(", ")
                walk(x)
            put(right)
        else:
            put(repr(v)[: limit + 1])

    try:
        walk(value)
    except (_Full, RecursionError):
        return "".join(out)[:limit] + "..."
    return "".join(out)


def _key_text(key: Any) -> str:
    """A key as messages show it: a plain string as is, anything else (or a long string) as
    a short repr."""
    if isinstance(key, str) and len(key) <= 60 and key.isprintable():
        return key
    return short_repr(key, 60)


def _one_line(text: str, limit: int = 2 * REPR_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def yaml_error_text(exc: BaseException) -> str:
    """One line saying what is wrong with a YAML text and where (line and column, 1-based)."""
    if isinstance(exc, _DuplicateKey):
        return _one_line(f"duplicate key {short_repr(exc.key, 60)} at line {exc.line}, column {exc.column} "
                         f"(first at line {exc.first_line}); each key may appear once in a mapping")
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        text = ": ".join(parts) or type(exc).__name__
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            text += f" (line {mark.line + 1}, column {mark.column + 1})"
        return _one_line(text)
    if isinstance(exc, yaml.reader.ReaderError):
        what = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        return _one_line(f"{exc.reason}: character #x{what:04x} at position {exc.position}")
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "an integer of more than 4300 digits"
    return _one_line(str(exc))


# --------------------------------------------------------------------------- YAML
class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: Any, mark: Any, first: Any):
        self.key, self.line, self.column, self.first_line = key, mark.line + 1, mark.column + 1, first.line + 1
        super().__init__(None, None, f"found duplicate key {short_repr(key, 60)} (first at line {self.first_line})",
                         mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` (no dot) as a float, as physicists write it, and
    refuses a key given twice in one mapping (plain YAML lets the last one win silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' merges on purpose; keys given beside it override
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base constructor reports it
                if first is not None:
                    raise _DuplicateKey(key, key_node.start_mark, first)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text with the project's loader (``1e-3`` is a float; duplicate keys are an
    error).  Raises ``yaml.YAMLError``, or ``ValueError`` for an integer of more digits than
    Python converts."""
    return yaml.load(text, Loader=_Loader)


# --------------------------------------------------------------------------- checks
def _check_number(value: Any, key: str, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{key}: expected {kind}, got {short_repr(value)} ({type(value).__name__})")
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(f"{key}: expected an integer, got {short_repr(value)}")
            value = int(value)
        return int(value)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the largest float
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{key}: must be finite, got {short_repr(value)}")
    return number


def positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def at_least(lo: float) -> Callable[[float], str | None]:
    return lambda v: None if v >= lo else f"must be >= {lo}"


def at_most(hi: float, why: str) -> Callable[[float], str | None]:
    return lambda v: None if v <= hi else f"must be <= {hi:g} ({why})"


def every(*checks: Callable) -> Callable:
    """All of ``checks``, the first problem found."""
    def check(v):
        for c in checks:
            problem = c(v)
            if problem:
                return problem
        return None
    return check


def one_of(*choices: str) -> Callable[[str], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))}"


_INT_KINDS = ("int", "int|auto", "int_list")


def _power_text(n: int) -> str:
    return f"2**{n.bit_length() - 1}" if n > 0 and n & (n - 1) == 0 else str(n)


def _spec(default: Any, kind: str, check: Callable | None = None, doc: str = "", **extra: Any):
    """A dataclass field that carries its validation rule.

    kind: 'float', 'int', 'bool', 'str', 'float?' (float or None),
    'int|auto' (positive int or the string 'auto', stored as None),
    'float_pair', 'int_list'.  Integers are also kept below ``below`` (default
    :data:`INT_LIMIT`).
    """
    meta = {"kind": kind, "check": check, "doc": doc, **extra}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _coerce(value: Any, key: str, kind: str) -> Any:
    if kind == "float":
        return _check_number(value, key, integer=False)
    if kind == "length":  # a float, or the string 'pi' (the paper's L)
        if isinstance(value, str) and value.strip().lower() == "pi":
            return math.pi
        return _check_number(value, key, integer=False)
    if kind == "float?":
        return None if value is None else _check_number(value, key, integer=False)
    if kind == "int":
        return _check_number(value, key, integer=True)
    if kind == "int|auto":
        if value is None or (isinstance(value, str) and value == "auto"):
            return None
        return _check_number(value, key, integer=True)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {short_repr(value)}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {short_repr(value)}")
        return value
    if kind == "float_pair":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ConfigError(f"{key}: expected a pair [lo, hi], got {short_repr(value)}")
        return tuple(_check_number(v, key, integer=False) for v in value)
    if kind == "int_list":
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list of integers, got {short_repr(value)}")
        return tuple(_check_number(v, key, integer=True) for v in value)
    raise AssertionError(kind)


def _build(cls: type, section: str, mapping: Any) -> Any:
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{section}: expected a mapping of keys to values, got {short_repr(mapping)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields), key=str)
    if unknown:
        raise ConfigError(
            f"{section}.{_key_text(unknown[0])}: unknown key (known keys: {', '.join(sorted(fields))})"
        )
    values = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name not in mapping:
            continue
        kind = f.metadata["kind"]
        value = _coerce(mapping[name], key, kind)
        check = f.metadata["check"]
        below = f.metadata.get("below", INT_LIMIT) if kind in _INT_KINDS else None
        if value is not None:
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                problem = check(item) if check is not None else None
                if not problem and below is not None and item >= below:
                    problem = f"must be < {_power_text(below)}"
                if problem:
                    raise ConfigError(f"{key}: {problem}, got {short_repr(mapping[name])}")
        values[name] = value
    obj = cls(**values)
    obj.validate(section)
    return obj


def _check_window_and_times(numerics: Any, section: str) -> None:
    """Rules shared by every engine's numerics: fit window and snapshot times."""
    lo, hi = numerics.fit_window
    if not (0.0 <= lo < hi <= 1.0):
        raise ConfigError(
            f"{section}.fit_window: need 0 <= lo < hi <= 1, got {list(numerics.fit_window)}"
        )
    for t in numerics.snapshot_times:
        if t > numerics.n_kicks:
            raise ConfigError(
                f"{section}.snapshot_times: time {t} is beyond n_kicks = {numerics.n_kicks}"
            )


# --------------------------------------------------------------------------- sections
INTERACTION_PROFILES = ("gaussian", "gaussian_width")
_NORM_TOL = every(positive, at_most(0.1, "the norm guard catches a loss of unitarity; a state "
                                         "off by more than a tenth is broken whatever the tolerance"))
_TAIL_TOL = every(positive, at_most(1.0, "it is a probability; 1 already lets any state pass"))


@dataclass(frozen=True)
class Physics:
    """Hamiltonian parameters (MODEL.md section 1), in the paper's dimensionless units."""

    K1: float = _spec(1.8, "float", doc="kick strength on particle 1")
    K2: float = _spec(0.0, "float", doc="kick strength on particle 2")
    eps: float = _spec(2.0, "float", non_negative, doc="interaction strength (repulsive)")
    lam: float = _spec(10.0, "float", positive, doc="interaction range parameter")
    L: float = _spec(math.pi, "length", positive, doc="well width (hard walls at 0 and L)")
    mass_ratio: float = _spec(1e-3, "float", positive, doc="m = m2/m1, mass of particle 2")
    hbar: float | None = _spec(None, "float?", positive, doc="effective Planck constant")
    coupling_scales_with_hbar: bool = _spec(
        False, "bool", doc="if true the interaction strength is eps*hbar (paper Sec. 3)"
    )
    interaction: str = _spec(
        "gaussian",
        "str",
        one_of(*INTERACTION_PROFILES),
        doc="gaussian: eps*exp(-lam d^2); gaussian_width: eps*exp(-d^2/lam)",
    )

    def validate(self, section: str) -> None:
        if self.coupling_scales_with_hbar and self.hbar is None:
            raise ConfigError(
                f"{section}.hbar: required when coupling_scales_with_hbar is true, got None"
            )

    @property
    def interaction_strength(self) -> float:
        """The prefactor of the interaction potential actually used."""
        return self.eps * self.hbar if self.coupling_scales_with_hbar else self.eps

    @property
    def interaction_exponent(self) -> float:
        """``a`` in ``U(d) = strength * exp(-a d^2)`` for the chosen profile."""
        return self.lam if self.interaction == "gaussian" else 1.0 / self.lam

    @property
    def interaction_width(self) -> float:
        """Length over which the interaction falls by 1/e: ``1/sqrt(a)``."""
        return 1.0 / math.sqrt(self.interaction_exponent)


CLASSICAL_SCHEMES = ("strang", "rk4")
#: the classical initial ensemble: the paper's (x uniform, p = 0), or the quantum initial state's
#: (x from the ground-state densities, p = +-pi hbar / L, the sine mode's momentum)
CLASSICAL_INITIAL = ("uniform", "quantum")
#: trajectory blocks of the slope errors when classical.error_blocks is 'auto'
DEFAULT_ERROR_BLOCKS = 20


@dataclass(frozen=True)
class ClassicalNumerics:
    """Numerics of the classical ensemble (MODEL.md section 2)."""

    n_trajectories: int = _spec(10_000, "int", at_least(1), doc="ensemble size")
    seed: int = _spec(20200101, "int", non_negative, doc="global seed of the initial ensemble",
                      below=SEED_LIMIT)
    n_kicks: int = _spec(500, "int", at_least(1), doc="number of kick periods, t_f")
    steps_per_kick: int | None = _spec(
        None, "int|auto", at_least(1), doc="integration steps per period; 'auto' from courant"
    )
    courant: float = _spec(
        0.05,
        "float",
        every(positive, at_most(1.0, "a step may cross at most the interaction width")),
        doc="auto step: fraction of the interaction width the fastest particle crosses per step",
    )
    scheme: str = _spec("strang", "str", one_of(*CLASSICAL_SCHEMES), doc="integrator")
    initial: str = _spec(
        "uniform", "str", one_of(*CLASSICAL_INITIAL),
        doc="initial ensemble: uniform (x uniform on the well, p = 0; the paper's) or quantum (x from "
            "the ground-state densities (2/L) sin^2(pi x/L), p = +-pi hbar/L; needs physics.hbar)",
    )
    fit_window: tuple = _spec(
        (0.2, 1.0), "float_pair", doc="slope fit window, as fractions of n_kicks"
    )
    snapshot_times: tuple = _spec(
        (), "int_list", at_least(0), doc="times at which all momenta are stored"
    )
    max_energy_drift: float = _spec(
        1e-3,
        "float",
        every(positive, at_most(1.0, "a mean relative energy change per period; above 1 the guard "
                                     "would pass an integration that has failed")),
        doc="guard: largest allowed ensemble mean of |E(t+1-) - E(t+)| / (E(t+) + U0) in one period",
    )
    error_blocks: int | None = _spec(
        None, "int|auto", at_least(2),
        doc="fixed blocks of trajectories (trajectory i in block i * B // n_trajectories) whose "
            "spread gives the errors of the fitted slopes; 'auto': 20, or n_trajectories when fewer",
    )

    @property
    def n_error_blocks(self) -> int:
        """The number of trajectory blocks the run records (``error_blocks`` or its 'auto' value)."""
        if self.error_blocks is not None:
            return self.error_blocks
        return min(DEFAULT_ERROR_BLOCKS, self.n_trajectories)

    def validate(self, section: str) -> None:
        _check_window_and_times(self, section)
        if self.error_blocks is not None and self.error_blocks > self.n_trajectories:
            raise ConfigError(
                f"{section}.error_blocks: must be <= n_trajectories = {self.n_trajectories} "
                f"(every block needs a trajectory), got {self.error_blocks}"
            )


QUANTUM_SCHEMES = ("auto", "light_exact", "strang", "free")
FFT_BACKENDS = ("auto", "scipy", "fftw")


def _even_order(v: int) -> str | None:
    return None if v in (2, 4) else "must be 2 or 4"


@dataclass(frozen=True)
class QuantumNumerics:
    """Numerics of the two-particle quantum run (MODEL.md section 3).

    Sizes and substeps left at 'auto' are chosen from physical estimates by
    :mod:`kickedpair.quantum.resolution`; any of them can be set by hand.
    """

    n_kicks: int = _spec(500, "int", at_least(1), doc="number of kick periods, t_f")
    N1: int | None = _spec(None, "int|auto", at_least(3), doc="modes/grid points of particle 1")
    N2: int | None = _spec(None, "int|auto", at_least(3), doc="modes/grid points of particle 2")
    substeps: int | None = _spec(None, "int|auto", at_least(1), doc="splitting steps per period")
    scheme: str = _spec(
        "auto",
        "str",
        one_of(*QUANTUM_SCHEMES),
        doc="auto: free without interaction, else the scheme the cost model finds cheapest "
            "(light_exact or strang) at the calibrated substeps",
    )
    splitting_order: int = _spec(
        2, "int", _even_order,
        doc="order of the splitting: 2 (Strang) or 4 (triple-jump composition of it)",
    )
    fft: str = _spec(
        "auto", "str", one_of(*FFT_BACKENDS),
        doc="sine transforms: auto (the faster of scipy and FFTW, timed per shape), scipy or fftw",
    )
    substep_tol: float = _spec(
        1e-2, "float", every(positive, at_most(0.5, "a relative error")),
        doc="accuracy the automatic substeps aim at: largest relative error of <p1^2>(t) and "
            "the purity over the run (docs/numerics.md)",
    )
    self_check_kicks: int = _spec(
        10, "int", at_least(0),
        doc="pilot before the run: this many kicks at S and 2S substeps; the step is doubled "
            "until they agree within self_check_tol (0: no pilot)",
    )
    self_check_tol: float = _spec(
        1e-2, "float", every(positive, at_most(1.0, "a relative change")),
        doc="largest relative change of <p1^2> and purity between S and 2S the pilot accepts "
            "(the substeps aim at substep_tol over the whole run, so the first kicks change less)",
    )
    snapshot_times: tuple = _spec(
        (), "int_list", at_least(0), doc="times at which P1(n) is stored"
    )
    checkpoint_every: int = _spec(25, "int", at_least(1), doc="kicks between checkpoints")
    norm_tol: float = _spec(1e-10, "float", _NORM_TOL, doc="guard: |norm - 1| allowed")
    tail_tol: float = _spec(
        1e-8, "float", _TAIL_TOL, doc="guard: probability allowed in the top 5% of modes"
    )
    fit_window: tuple = _spec(
        (0.2, 1.0), "float_pair", doc="slope fit window, as fractions of n_kicks"
    )
    error_window: float = _spec(
        0.2, "float", every(positive, at_most(1.0, "a fraction of n_kicks")),
        doc="Dq's error: the fluctuation of <p1^2>(t) about a line over this last fraction of the "
            "run (at least 5 kicks)",
    )
    convergence_kicks: int = _spec(
        20, "int", at_least(1),
        doc="length of the stretches (first kicks, and last kicks from the final checkpoint) "
            "rerun by --check-convergence",
    )
    convergence_tol_p1: float = _spec(
        0.01, "float", every(positive, at_most(1.0, "a relative change")),
        doc="largest pointwise relative change of <p1^2>(t) a converged run may show",
    )
    convergence_tol_purity: float = _spec(
        1e-3, "float", every(positive, at_most(1.0, "a change of a purity")),
        doc="largest absolute change of the purity a converged run may show",
    )

    def validate(self, section: str) -> None:
        _check_window_and_times(self, section)


@dataclass(frozen=True)
class NoiseNumerics:
    """The one-particle random-kick model (paper Fig. 3): K -> K1 + dK_n, dK_n in [-W, W]."""

    W: float = _spec(0.01, "float", non_negative, doc="half-width of the kick noise")
    realisations: int = _spec(50, "int", at_least(1), doc="noise realisations averaged")
    seed: int = _spec(20200102, "int", non_negative, doc="global seed of the kick noise", below=SEED_LIMIT)
    n_kicks: int = _spec(500, "int", at_least(1), doc="number of kick periods")
    N: int | None = _spec(None, "int|auto", at_least(3), doc="modes of the particle")
    snapshot_times: tuple = _spec(
        (), "int_list", at_least(0), doc="times at which P(n) is stored"
    )
    norm_tol: float = _spec(1e-10, "float", _NORM_TOL, doc="guard: |norm - 1| allowed")
    tail_tol: float = _spec(
        1e-8, "float", _TAIL_TOL, doc="guard: probability allowed in the top 5% of modes"
    )
    fit_window: tuple = _spec(
        (0.2, 1.0), "float_pair", doc="slope fit window, as fractions of n_kicks"
    )
    convergence_kicks: int = _spec(
        500, "int", at_least(1),
        doc="kicks rerun at double the grid by --check-convergence (the map is exact in time)",
    )

    def validate(self, section: str) -> None:
        _check_window_and_times(self, section)


SECTIONS: dict[str, type] = {
    "physics": Physics,
    "classical": ClassicalNumerics,
    "quantum": QuantumNumerics,
    "noise": NoiseNumerics,
}


@dataclass(frozen=True)
class RunConfig:
    physics: Physics = field(default_factory=Physics)
    classical: ClassicalNumerics = field(default_factory=ClassicalNumerics)
    quantum: QuantumNumerics = field(default_factory=QuantumNumerics)
    noise: NoiseNumerics = field(default_factory=NoiseNumerics)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (tuples as lists), for provenance and round trips."""
        out = {}
        for name in SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out


def parse_config(mapping: Any) -> RunConfig:
    """Validate a whole config mapping; raise ConfigError naming the first bad key."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"config: expected a mapping of sections, got {short_repr(mapping)}")
    unknown = sorted(set(mapping) - set(SECTIONS), key=str)
    if unknown:
        raise ConfigError(
            f"{_key_text(unknown[0])}: unknown section (known sections: {', '.join(SECTIONS)})"
        )
    config = RunConfig(**{name: _build(cls, name, mapping.get(name)) for name, cls in SECTIONS.items()})
    if config.classical.initial == "quantum" and config.physics.hbar is None:
        raise ConfigError("classical.initial: 'quantum' draws the momenta +-pi hbar/L of the quantum "
                          "initial state and needs physics.hbar, got None")
    return config


def apply_overrides(mapping: Mapping | None, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` (or ``key=value`` when the key is unique) overrides.

    Values are parsed as YAML, so ``n_kicks=100``, ``eps=0``, ``hbar=1e-2``,
    ``fit_window=[0.5,1]`` all work.  Returns a new nested dict.
    """
    merged: dict[str, dict] = {}
    if mapping is not None and not isinstance(mapping, Mapping):
        raise ConfigError(f"config: expected a mapping of sections, got {short_repr(mapping)}")
    for name, sec in (mapping or {}).items():
        merged[name] = dict(sec) if isinstance(sec, Mapping) else sec
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {short_repr(item)}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        key = key.strip()
        shown = _key_text(key)
        if "." in key:
            section, name = key.split(".", 1)
        else:
            owners = [s for s, cls in SECTIONS.items() if key in {f.name for f in dataclasses.fields(cls)}]
            if len(owners) != 1:
                where = "no section" if not owners else f"sections {owners}"
                raise ConfigError(f"override {shown}: key found in {where}; write SECTION.{shown}")
            section, name = owners[0], key
        try:
            value = load_yaml(raw)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:
            raise ConfigError(f"override {shown}: cannot parse value {short_repr(raw)}: "
                              f"{yaml_error_text(exc)}") from None
        sec = merged.setdefault(section, {})
        if not isinstance(sec, dict):
            raise ConfigError(f"{_key_text(section)}: expected a mapping, got {short_repr(sec)}")
        sec[name] = value
    return merged
