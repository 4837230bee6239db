import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kickedpair.params import (
    ConfigError,
    RunConfig,
    apply_overrides,
    load_yaml,
    parse_config,
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


_junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3),
)
_keys = st.sampled_from([
    ("physics", "K1"), ("physics", "eps"), ("physics", "lam"), ("physics", "L"), ("physics", "mass_ratio"),
    ("physics", "hbar"), ("physics", "interaction"), ("physics", "coupling_scales_with_hbar"),
    ("classical", "n_trajectories"), ("classical", "seed"), ("classical", "n_kicks"),
    ("classical", "steps_per_kick"), ("classical", "courant"), ("classical", "fit_window"),
    ("classical", "snapshot_times"), ("classical", "scheme"), ("physics", "bogus"), ("bogus", "x"),
])


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
        return
    # accepted: every value must be sane
    ph, cl = cfg.physics, cfg.classical
    assert ph.mass_ratio > 0 and ph.L > 0 and ph.lam > 0 and ph.eps >= 0
    assert all(math.isfinite(v) for v in (ph.K1, ph.K2, ph.eps, ph.lam, ph.L, ph.mass_ratio))
    assert cl.n_trajectories >= 1 and cl.n_kicks >= 1
