"""Fig. 4 (eta against hbar, the phase diagram): its verdict rules on made-up numbers (the
figure itself is drawn from the sweep's tables by the pipeline test)."""

from __future__ import annotations

import math

import numpy as np

from kickedpair.reproduce import fig4


def _t(m, alpha, err):
    return {"m": m, "alpha": alpha, "alpha_err": err}


def test_plateau():
    p = fig4.plateau(np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.11, 0.1]))
    assert p["eta_last"] == 0.1 and math.isclose(p["change"], 0.01 / 0.11)
    assert p["flat"] and p["near_0.1"]
    p = fig4.plateau(np.array([0.3, 0.1, 0.2]), np.array([0.3, 0.9, 0.6]))   # unsorted, still falling
    assert p["eta_last"] == 0.3 and not p["flat"] and not p["near_0.1"]
    p = fig4.plateau(np.array([0.1, 0.2]), np.array([0.5, np.nan]))
    assert math.isnan(p["eta_last"]) and not p["flat"]


def test_plateau_verdict():
    flat_near = {"flat": True, "near_0.1": True}
    flat_far = {"flat": True, "near_0.1": False}
    steep = {"flat": False, "near_0.1": False}
    assert fig4.plateau_verdict([flat_near, flat_near]) == "agrees"
    assert fig4.plateau_verdict([flat_near, steep]) == "partly"
    assert fig4.plateau_verdict([flat_far, steep]) == "partly"
    assert fig4.plateau_verdict([steep]) == "differs"


def test_exponential_verdict():
    assert fig4.exponential_verdict([_t(0.01, 5.0, 1.0), _t(0.1, 3.0, 0.5)]) == "agrees"
    assert fig4.exponential_verdict([_t(0.01, 5.0, 1.0), _t(0.1, 1.0, 0.9)]) == "partly"
    assert fig4.exponential_verdict([_t(0.01, np.nan, np.nan), _t(0.1, 5.0, 1.0)]) == "partly"
    assert fig4.exponential_verdict([_t(0.01, 1.0, 1.0)]) == "differs"
    assert fig4.exponential_verdict([]) == "differs"


def test_alpha_grows_as_m_falls():
    verdict, text = fig4.alpha_grows_as_m_falls([_t(0.1, 2.0, 0.1), _t(0.01, 5.0, 0.2)])
    assert verdict == "agrees" and text.startswith("alpha(m=0.01) = 5")
    assert fig4.alpha_grows_as_m_falls([_t(0.01, 2.1, 0.5), _t(0.1, 2.0, 0.5)])[0] == "partly"   # not significant
    assert fig4.alpha_grows_as_m_falls([_t(0.01, 1.0, 0.1), _t(0.1, 2.0, 0.1)])[0] == "differs"
    assert fig4.alpha_grows_as_m_falls([_t(0.01, 1.0, 0.1)])[0] == "not compared"


def test_the_sweep_drawn_is_the_presets_own_or_the_one_its_variant_names():
    """quick draws the local sweep (its grid, its masses); a variant without ``sweep`` draws its own;
    a name that is no preset, or a mass ratio that the sweep drawn lacks, is refused naming the key."""
    import copy
    from pathlib import Path

    import pytest

    from kickedpair.params import ConfigError, load_yaml
    from kickedpair.reproduce.plan import reproduction_of
    from kickedpair.sweep.plan import build_plan

    config = load_yaml((Path(__file__).resolve().parents[2] / "config.yaml").read_text())

    def drawn(cfg, preset):
        cfg = {**cfg, "preset": preset}
        return reproduction_of(cfg, build_plan(cfg, validate=False)).fig4_sweep

    assert drawn(config, "quick").preset == "local" and drawn(config, "quick").adaptive
    assert drawn(config, "paper").preset == "paper"
    own = copy.deepcopy(config)
    del own["reproduction"]["fig4"]["quick"]["sweep"]
    own["reproduction"]["fig4"]["quick"]["mass_ratio"] = [1e-3, 1e-2]
    assert drawn(own, "quick").preset == "quick"
    bad = copy.deepcopy(config)
    bad["reproduction"]["fig4"]["quick"]["sweep"] = "nosuch"
    with pytest.raises(ConfigError, match=r"reproduction\.fig4\.quick\.sweep: no preset 'nosuch'"):
        drawn(bad, "quick")
    bad["reproduction"]["fig4"]["quick"]["sweep"] = "demo"   # no m = 1 in the demo sweep
    with pytest.raises(ConfigError, match=r"reproduction\.fig4\.quick\.mass_ratio: \['1'\] not in the sweep of "
                                          r"preset demo"):
        drawn(bad, "quick")
