"""The classical result does not depend on how many MPI ranks share the ensemble."""

import h5py
import numpy as np
import pytest

from conftest import run_cli

pytestmark = pytest.mark.mpi

ARGS = ["classical", "--set", "classical.n_trajectories=301", "--set", "classical.n_kicks=6",
        "--set", "classical.snapshot_times=[6]", "--set", "physics.mass_ratio=0.01",
        "--threads", "1", "--progress", "none"]


def test_rank_count_independence(tmp_path):
    results = {}
    for ranks in (1, 2, 3):
        out = tmp_path / f"r{ranks}.h5"
        proc = run_cli(ARGS + ["--out", str(out)], ranks=ranks)
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
    for ranks in (2, 3):
        # each trajectory is computed identically on whichever rank owns it
        np.testing.assert_array_equal(results[ranks]["p1"], results[1]["p1"])
        # the sums over ranks differ only by rounding
        for key in ("p1_sq", "p2_sq", "drift"):
            np.testing.assert_allclose(results[ranks][key], results[1][key], rtol=1e-12, atol=0)
        assert results[ranks]["Dc"] == pytest.approx(results[1]["Dc"], rel=1e-12)
