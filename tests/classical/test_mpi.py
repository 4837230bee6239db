"""The classical result does not depend on how many MPI ranks share the ensemble."""

import h5py
import numpy as np
import pytest

from conftest import run_cli

pytestmark = pytest.mark.mpi

ARGS = ["classical", "--set", "classical.n_trajectories=301", "--set", "classical.n_kicks=6",
        "--set", "classical.snapshot_times=[6]", "--set", "physics.mass_ratio=0.01",
        "--threads", "1", "--progress", "none"]


QUANTUM_INITIAL = ["--set", "classical.initial=quantum", "--set", "physics.hbar=0.1"]


@pytest.mark.parametrize("initial,ranks_list", [([], (1, 2, 3)), (QUANTUM_INITIAL, (1, 3))],
                         ids=["uniform", "quantum-initial"])
def test_rank_count_independence(tmp_path, initial, ranks_list):
    results = {}
    for ranks in ranks_list:
        out = tmp_path / f"r{ranks}.h5"
        proc = run_cli(ARGS + initial + ["--out", str(out)], ranks=ranks)
        assert proc.returncode == 0, proc.stderr
        assert "Dc =" in proc.stdout
        with h5py.File(out, "r") as f:
            assert f.attrs["n_ranks"] == ranks
            results[ranks] = {
                "p1_sq": f["series/p1_sq"][()],
                "p2_sq": f["series/p2_sq"][()],
                "drift": f["series/energy_drift_mean"][()],
                "p1": f["snapshots/t6/p1"][()],
                "Dc": f.attrs["Dc"],
            }
    for ranks in ranks_list[1:]:
        # each trajectory is computed identically on whichever rank owns it
        np.testing.assert_array_equal(results[ranks]["p1"], results[1]["p1"])
        # the sums over ranks differ only by rounding
        for key in ("p1_sq", "p2_sq", "drift"):
            np.testing.assert_allclose(results[ranks][key], results[1][key], rtol=1e-12, atol=0)
        assert results[ranks]["Dc"] == pytest.approx(results[1]["Dc"], rel=1e-12)


BLOCK_ARGS = ["classical", "--set", "classical.n_trajectories=301", "--set", "classical.n_kicks=10",
              "--set", "classical.error_blocks=7", "--set", "physics.mass_ratio=0.01",
              "--threads", "1", "--progress", "none"]


def test_error_blocks_do_not_depend_on_the_rank_layout(tmp_path):
    """Block 3 of 7 (trajectories 129..171) straddles the two ranks' ranges (0..150, 151..300)."""
    results = {}
    for ranks in (1, 2):
        out = tmp_path / f"b{ranks}.h5"
        proc = run_cli(BLOCK_ARGS + ["--out", str(out)], ranks=ranks, timeout=300)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out, "r") as f:
            assert f.attrs["n_ranks"] == ranks
            est = f["estimates"].attrs
            results[ranks] = {"blocks": f["series/p1_sq_blocks"][()],
                              "counts": f["series/p1_sq_blocks"].attrs["trajectories"],
                              "p1_sq": f["series/p1_sq"][()],
                              **{k: est[k] for k in ("slope_fit_err", "slope_late_err", "n_blocks")},
                              "method": est["slope_err_method"]}
    one, two = results[1], results[2]
    assert one["blocks"].shape == (11, 7) and one["counts"].tolist() == [43] * 7
    np.testing.assert_allclose(two["blocks"], one["blocks"], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(two["counts"], one["counts"])
    for key in ("slope_fit_err", "slope_late_err"):
        assert two[key] == pytest.approx(one[key], rel=1e-10) and one[key] > 0
    assert one["method"] == two["method"] == "blocks" and one["n_blocks"] == two["n_blocks"] == 7
    # the block means are the pieces of the ensemble mean
    np.testing.assert_allclose(two["blocks"] @ two["counts"] / 301, two["p1_sq"], rtol=1e-12)
