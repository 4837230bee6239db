import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kickedpair.params import (
    INT_LIMIT,
    SECTIONS,
    SEED_LIMIT,
    ConfigError,
    RunConfig,
    apply_overrides,
    load_yaml,
    parse_config,
    short_repr,
)


def test_defaults_are_the_papers():
    cfg = parse_config({})
    ph = cfg.physics
    assert (ph.K1, ph.K2, ph.eps, ph.lam, ph.L) == (1.8, 0.0, 2.0, 10.0, math.pi)
    assert ph.interaction == "gaussian" and ph.interaction_exponent == 10.0
    assert cfg.classical.n_kicks == 500 and cfg.classical.n_trajectories == 10_000


def test_interaction_profiles_and_hbar_scaling():
    ph = parse_config({"physics": {"interaction": "gaussian_width", "lam": 4.0}}).physics
    assert ph.interaction_exponent == 0.25
    ph = parse_config({"physics": {"coupling_scales_with_hbar": True, "hbar": 1e-2, "eps": 20}}).physics
    assert ph.interaction_strength == pytest.approx(0.2)


@pytest.mark.parametrize(
    "mapping, key",
    [
        ({"physics": {"mass_ratio": -1.0}}, "physics.mass_ratio"),
        ({"physics": {"mass_ratio": 0}}, "physics.mass_ratio"),
        ({"physics": {"hbar": -0.1}}, "physics.hbar"),
        ({"physics": {"L": 0}}, "physics.L"),
        ({"physics": {"L": -3}}, "physics.L"),
        ({"physics": {"K1": float("nan")}}, "physics.K1"),
        ({"physics": {"eps": float("inf")}}, "physics.eps"),
        ({"physics": {"eps": -2}}, "physics.eps"),
        ({"physics": {"K1": "strong"}}, "physics.K1"),
        ({"physics": {"K1": True}}, "physics.K1"),
        ({"physics": {"interaction": "coulomb"}}, "physics.interaction"),
        ({"physics": {"coupling_scales_with_hbar": "yes"}}, "physics.coupling_scales_with_hbar"),
        ({"physics": {"coupling_scales_with_hbar": True}}, "physics.hbar"),
        ({"physics": {"kick": 1}}, "physics.kick"),
        ({"classical": {"n_trajectories": 0}}, "classical.n_trajectories"),
        ({"classical": {"n_trajectories": 10.5}}, "classical.n_trajectories"),
        ({"classical": {"n_kicks": -5}}, "classical.n_kicks"),
        ({"classical": {"steps_per_kick": 0}}, "classical.steps_per_kick"),
        ({"classical": {"steps_per_kick": "many"}}, "classical.steps_per_kick"),
        ({"classical": {"scheme": "euler"}}, "classical.scheme"),
        ({"classical": {"fit_window": [0.8, 0.2]}}, "classical.fit_window"),
        ({"classical": {"fit_window": 0.5}}, "classical.fit_window"),
        ({"classical": {"snapshot_times": [600]}}, "classical.snapshot_times"),
        ({"classical": {"seed": -1}}, "classical.seed"),
        ({"classical": {"seed": 2**64}}, "classical.seed"),
        ({"noise": {"seed": 2**63}}, "noise.seed"),
        ({"quantum": {"checkpoint_every": 2**64}}, "quantum.checkpoint_every"),
        ({"quantum": {"n_kicks": 1e19}}, "quantum.n_kicks"),
        ({"quantum": {"N2": 2**62}}, "quantum.N2"),
        ({"quantum": {"snapshot_times": [2**63]}}, "quantum.snapshot_times"),
        ({"quantum": {"tail_tol": 1e300}}, "quantum.tail_tol"),
        ({"quantum": {"norm_tol": 0.2}}, "quantum.norm_tol"),
        ({"noise": {"tail_tol": 2}}, "noise.tail_tol"),
        ({"classical": {"max_energy_drift": 1e300}}, "classical.max_energy_drift"),
        ({"classical": {"courant": 1.5}}, "classical.courant"),
        ({"physics": {"K1": 10**400}}, "physics.K1"),
        ({1: {}}, "1"),
        ({"quantumm": {}}, "quantumm"),
        ({"physics": [1, 2]}, "physics"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(mapping, key):
    with pytest.raises(ConfigError) as err:
        parse_config(mapping)
    assert str(err.value).startswith(key), str(err.value)


def test_value_is_quoted_in_the_message():
    with pytest.raises(ConfigError, match=r"-0\.5"):
        parse_config({"physics": {"hbar": -0.5}})


def test_bounds_are_inclusive_where_they_say_so():
    cfg = parse_config({"classical": {"seed": SEED_LIMIT - 1, "courant": 1.0, "max_energy_drift": 1.0},
                        "quantum": {"checkpoint_every": INT_LIMIT - 1, "tail_tol": 1.0, "norm_tol": 0.1}})
    assert cfg.classical.seed == 2**63 - 1 and cfg.quantum.checkpoint_every == 2**62 - 1
    with pytest.raises(ConfigError, match=r"^quantum.checkpoint_every: must be < 2\*\*62, got 4611686018427387904$"):
        parse_config({"quantum": {"checkpoint_every": INT_LIMIT}})


def test_duplicate_keys_are_refused_at_any_depth():
    import yaml

    for text in ("a: 1\na: 2\n", "physics:\n  eps: 1\n  eps: 1\n", "x: [{a: 1}, {b: 1, b: 2}]\n"):
        with pytest.raises(yaml.YAMLError, match="duplicate key"):
            load_yaml(text)
    assert load_yaml("a: {<<: {b: 1}, b: 2}\n") == {"a": {"b": 2}}


def test_short_repr_is_bounded_and_cheap():
    bomb = ["x" * 10]
    for _ in range(30):
        bomb = [bomb] * 10  # 1e30 leaves, shared
    text = short_repr(bomb)
    assert len(text) <= 203 and text.endswith("...")
    assert short_repr("y" * 10**7).endswith("...") and len(short_repr("y" * 10**7)) == 203
    assert short_repr(10**5000) == "<an integer of 5001 digits>"
    assert short_repr({"a": [1, 2.5, None]}) == "{'a': [1, 2.5, None]}"
    loop: list = []
    loop.append(loop)
    assert short_repr(loop).endswith("...")


def test_yaml_reads_exponent_floats_and_pi():
    cfg = parse_config(load_yaml("physics:\n  mass_ratio: 1e-3\n  hbar: 5e-2\n  L: pi\n"))
    assert cfg.physics.mass_ratio == 1e-3 and cfg.physics.hbar == 0.05 and cfg.physics.L == math.pi


def test_overrides_by_section_and_by_unique_key():
    merged = apply_overrides({"physics": {"eps": 1.0}},
                             ["physics.mass_ratio=1e-2", "n_trajectories=20", "classical.fit_window=[0.5, 1]",
                              "quantum.N1=127"])
    cfg = parse_config(merged)
    assert cfg.physics.mass_ratio == 0.01 and cfg.physics.eps == 1.0
    assert cfg.classical.n_trajectories == 20 and cfg.classical.fit_window == (0.5, 1.0)
    assert cfg.quantum.N1 == 127 and cfg.quantum.N2 is None
    with pytest.raises(ConfigError, match="write SECTION.n_kicks"):
        apply_overrides({}, ["n_kicks=20"])  # in several sections: ambiguous
    with pytest.raises(ConfigError, match="nonsense"):
        apply_overrides({}, ["nonsense=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides({}, ["eps"])


def test_round_trip_through_dict():
    cfg = parse_config({"physics": {"mass_ratio": 0.01}, "classical": {"snapshot_times": [0, 5], "n_kicks": 5}})
    assert parse_config(cfg.as_dict()) == cfg
    assert isinstance(cfg, RunConfig)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(-2**70, 2**70),
    st.sampled_from([2**62 - 1, 2**62, 2**63 - 1, 2**63, 2**64, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.text(min_size=300, max_size=400),
)
_junk = st.one_of(
    _scalars, st.lists(st.integers(-3, 3), max_size=3), st.lists(st.integers(-2**64, 2**64), max_size=2),
    st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                                          max_size=3), max_leaves=20),
)
_keys = st.sampled_from(
    [(section, f.name) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    + [("physics", "bogus"), ("bogus", "x")])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_keys, _junk), min_size=1, max_size=4))
def test_fuzz_only_config_errors_and_they_name_a_given_key(items):
    mapping: dict = {}
    for (section, key), value in items:
        mapping.setdefault(section, {})[key] = value
    try:
        cfg = parse_config(mapping)
    except ConfigError as exc:
        named = {f"{s}.{k}" for (s, k), _ in items} | {s for (s, _), _ in items} | {"physics.hbar"}
        assert any(str(exc).startswith(n) for n in named), str(exc)
        assert len(str(exc)) < 600 and "\n" not in str(exc), str(exc)
        return
    # accepted: every value must be sane
    ph, cl = cfg.physics, cfg.classical
    assert ph.mass_ratio > 0 and ph.L > 0 and ph.lam > 0 and ph.eps >= 0
    assert all(math.isfinite(v) for v in (ph.K1, ph.K2, ph.eps, ph.lam, ph.L, ph.mass_ratio))
    assert cl.n_trajectories >= 1 and cl.n_kicks >= 1
    for section in SECTIONS:
        for name, value in cfg.as_dict()[section].items():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and not isinstance(v, bool):
                    assert 0 <= v < (SEED_LIMIT if name == "seed" else INT_LIMIT), (section, name, v)
                elif isinstance(v, float):
                    assert math.isfinite(v), (section, name, v)
    assert cfg.quantum.tail_tol <= 1 and cfg.quantum.norm_tol <= 0.1 and cfg.classical.max_energy_drift <= 1
