"""The errors of the fitted slopes: the spread over fixed blocks of trajectories.

The residuals of ``<p^2>(t)`` about its fitted line are correlated in time, so their
error under-covers; the block error is checked against the actual scatter of the slope
over many independent ensembles with a known truth.
"""

import math

import h5py
import numpy as np
import pytest

from kickedpair.analysis import block_slope_error, diffusion_estimates, linear_slope
from kickedpair.classical.ensemble import error_block_starts, run_classical
from kickedpair.classical.output import read_block_counts, read_estimates, read_series, write_classical
from kickedpair.params import ConfigError, parse_config

D_TRUE = 0.1


def random_walk_ensemble(seed: int, n: int = 1000, n_kicks: int = 100, n_blocks: int = 20):
    """Independent Gaussian random walks, ``<p^2>(t) = D_TRUE t`` in expectation: the time axis,
    the ensemble mean and its standard error, and the block means (shape (n_kicks + 1, B))."""
    rng = np.random.default_rng(seed)
    p = np.zeros((n_kicks + 1, n))
    p[1:] = np.cumsum(rng.normal(0.0, math.sqrt(D_TRUE), size=(n_kicks, n)), axis=0)
    q = p * p
    members = np.arange(n) * n_blocks // n
    blocks = np.stack([q[:, members == b].mean(axis=1) for b in range(n_blocks)], axis=1)
    sem = q.std(axis=1, ddof=1) / math.sqrt(n)
    return np.arange(n_kicks + 1, dtype=float), q.mean(axis=1), sem, blocks


@pytest.fixture(scope="module")
def many_ensembles():
    """The estimates of 200 independent ensembles (block errors, and without blocks)."""
    with_blocks, without = [], []
    for seed in range(200):
        t, mean, sem, blocks = random_walk_ensemble(seed)
        with_blocks.append(diffusion_estimates(t, mean, sem, (0.2, 1.0), blocks))
        without.append(diffusion_estimates(t, mean, sem, (0.2, 1.0)))
    return with_blocks, without


def _slopes(estimates, which: str) -> tuple[np.ndarray, np.ndarray]:
    """The slopes over window ``which`` and their quoted errors, over the ensembles."""
    return (np.array([e[f"slope_{which}"] for e in estimates]),
            np.array([e[f"slope_{which}_err"] for e in estimates]))


@pytest.mark.parametrize("which", ["fit", "late"])
def test_block_error_matches_the_scatter_of_the_slope(many_ensembles, which):
    with_blocks, _ = many_ensembles
    slope, err = _slopes(with_blocks, which)
    assert all(e["slope_err_method"] == "blocks" and e["n_blocks"] == 20 for e in with_blocks)
    z_rms = math.sqrt(np.mean(((slope - D_TRUE) / err) ** 2))
    # measured: 1.10 (fit window), 1.11 (late); a t distribution of 19 degrees of freedom has 1.06
    assert 0.8 < z_rms < 1.25, z_rms
    # the typical quoted error is the actual scatter of the slope about the truth
    scatter = math.sqrt(np.mean((slope - D_TRUE) ** 2))
    assert 0.8 < np.sqrt(np.mean(err**2)) / scatter < 1.25


@pytest.mark.parametrize("which", ["fit", "late"])
def test_residual_error_under_covers(many_ensembles, which):
    with_blocks, without = many_ensembles
    slope, err = _slopes(without, which)
    assert all(e["slope_err_method"] == "residuals" and e["n_blocks"] == 0 for e in without)
    # the same slopes, and the residual error is kept beside the block error
    np.testing.assert_allclose(slope, [e[f"slope_{which}"] for e in with_blocks], rtol=1e-12)
    np.testing.assert_array_equal(err, [e[f"slope_{which}_err_residuals"] for e in with_blocks])
    z_rms = math.sqrt(np.mean(((slope - D_TRUE) / err) ** 2))
    assert z_rms > 3.0, z_rms  # measured: 12.4 (fit window), 9.6 (late): ~10x too small


def test_without_blocks_the_error_is_the_least_squares_one():
    t, mean, sem, _ = random_walk_ensemble(1)
    est = diffusion_estimates(t, mean, sem, (0.2, 1.0))
    w = t >= 20
    assert (est["slope_fit"], est["slope_fit_err"]) == linear_slope(t[w], mean[w])
    # a single block gives no spread: the residual error again
    one = diffusion_estimates(t, mean, sem, (0.2, 1.0), mean[:, None])
    assert one["slope_err_method"] == "residuals" and one["slope_fit_err"] == est["slope_fit_err"]
    with pytest.raises(ValueError, match="p_sq_blocks"):
        diffusion_estimates(t, mean, sem, (0.2, 1.0), mean[:-1, None])


def test_block_slope_error_formula():
    rng = np.random.default_rng(3)
    t = np.arange(10.0)
    y = rng.normal(size=(10, 5)) + np.outer(t, [1.0, 1.2, 0.9, 1.1, 1.05])
    slopes = np.array([linear_slope(t, y[:, b])[0] for b in range(5)])
    s, err = block_slope_error(t, y)
    assert s == pytest.approx(slopes.mean()) and err == pytest.approx(slopes.std(ddof=1) / math.sqrt(5))
    # unequal blocks: the slope is that of the pooled mean; equal counts give the same error
    counts = np.array([3, 4, 3, 4, 3])
    s_w, err_w = block_slope_error(t, y, counts)
    assert s_w == pytest.approx(linear_slope(t, y @ counts / counts.sum())[0], rel=1e-12)
    assert block_slope_error(t, y, np.full(5, 7))[1] == pytest.approx(err, rel=1e-12)
    assert err_w != pytest.approx(err, rel=1e-6)
    assert math.isnan(block_slope_error(t, y[:, :1])[1])


# --------------------------------------------------------------------------- the engine
def test_block_membership_follows_the_trajectory_index():
    for n, b in [(301, 7), (20, 20), (1000, 20), (10**18 + 3, 19)]:
        starts = error_block_starts(n, b)
        assert starts[0] == 0 and starts[-1] == n and np.all(np.diff(starts) >= 1)
        for i in (0, 1, n // 2, n - 2, n - 1):  # i lies in the block i * B // n
            k = i * b // n
            assert starts[k] <= i < starts[k + 1]


def test_engine_records_the_block_means_of_p1_squared(tmp_path):
    n, n_kicks, blocks = 301, 8, 7
    cfg = parse_config({"physics": {"mass_ratio": 0.01},
                        "classical": {"n_trajectories": n, "n_kicks": n_kicks, "error_blocks": blocks,
                                      "snapshot_times": [4, n_kicks]}})
    run = run_classical(cfg, progress="none")
    assert run.p1_sq_blocks.shape == (n_kicks + 1, blocks) and run.block_counts.tolist() == [43] * 7
    member = np.arange(n) * blocks // n
    for t in (4, n_kicks):
        p1 = run.snapshots[t][0]
        expected = [np.mean(p1[member == b] ** 2) for b in range(blocks)]
        np.testing.assert_allclose(run.p1_sq_blocks[t], expected, rtol=1e-12)
    np.testing.assert_allclose(run.p1_sq_blocks @ run.block_counts / n, run.p1_sq, rtol=1e-12)
    est = run.estimates
    assert est["slope_err_method"] == "blocks" and est["n_blocks"] == blocks
    w = (run.t >= 0.2 * n_kicks) & (run.t >= 1)
    assert est["slope_fit_err"] == pytest.approx(block_slope_error(run.t[w], run.p1_sq_blocks[w])[1], rel=1e-12)
    assert math.isfinite(est["slope_late_err"]) and est["slope_late_err"] > 0

    out = tmp_path / "c.h5"
    write_classical(out, run)
    series = read_series(out)
    np.testing.assert_array_equal(series["p1_sq_blocks"], run.p1_sq_blocks)
    assert read_block_counts(out).tolist() == run.block_counts.tolist()
    back = read_estimates(out)
    assert back["slope_err_method"] == "blocks" and back["n_blocks"] == blocks
    assert back["slope_fit_err"] == est["slope_fit_err"] and back["slope_late_err"] == est["slope_late_err"]

    # a result written before the blocks were recorded still reads
    with h5py.File(out, "r+") as f:
        del f["series/p1_sq_blocks"]
    assert "p1_sq_blocks" not in read_series(out) and read_block_counts(out) is None
    assert set(read_series(out)) >= {"t", "p1_sq", "p1_sq_sem"}


def test_auto_blocks_with_a_small_ensemble():
    assert parse_config({}).classical.n_error_blocks == 20
    assert parse_config({"classical": {"n_trajectories": 10}}).classical.n_error_blocks == 10
    run = run_classical(parse_config({"physics": {"eps": 0.0},
                                      "classical": {"n_trajectories": 1, "n_kicks": 5}}), progress="none")
    assert run.p1_sq_blocks.shape == (6, 1) and run.estimates["slope_err_method"] == "residuals"


# --------------------------------------------------------------------------- the config
@pytest.mark.parametrize("section", [
    {"error_blocks": 1},
    {"error_blocks": 0},
    {"error_blocks": -3},
    {"error_blocks": 2.5},
    {"error_blocks": "many"},
    {"n_trajectories": 10, "error_blocks": 11},
    {"n_trajectories": 1, "error_blocks": 2},
])
def test_config_rejects_impossible_block_counts(section):
    with pytest.raises(ConfigError, match=r"classical\.error_blocks"):
        parse_config({"classical": section})


def test_config_accepts_block_counts_up_to_the_ensemble():
    assert parse_config({"classical": {"n_trajectories": 10, "error_blocks": 10}}).classical.error_blocks == 10
    assert parse_config({"classical": {"error_blocks": 2}}).classical.n_error_blocks == 2
    assert parse_config({"classical": {"error_blocks": "auto"}}).classical.error_blocks is None
