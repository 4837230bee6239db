"""`kickedpair quantum` and `kickedpair noise` as a user runs them: MPI ranks,
checkpoints and resume after a kill, guards, validation, convergence report."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import kickedpair_cmd, run_cli  # noqa: E402

from kickedpair import checkpoint  # noqa: E402
from kickedpair.analysis import endpoint_fluctuation  # noqa: E402

# a small two-particle cell: hbar = 0.1, m = 0.01, 255 x 31 modes
CELL = ["--set", "physics.hbar=0.1", "--set", "physics.mass_ratio=0.01", "--set", "quantum.N1=255",
        "--set", "quantum.N2=31", "--set", "quantum.substeps=24", "--threads", "1", "--progress", "none"]


def series(path):
    with h5py.File(path, "r") as f:
        return {k: v[()] for k, v in f["series"].items()}, dict(f.attrs)


@pytest.mark.mpi
def test_quantum_rank_count_independence(tmp_path):
    results = {}
    for ranks in (1, 2, 4):
        out = tmp_path / f"q{ranks}.h5"
        proc = run_cli(["quantum", "--out", str(out), "--set", "quantum.n_kicks=8",
                        "--set", "quantum.snapshot_times=[8]"] + CELL, ranks=ranks)
        assert proc.returncode == 0, proc.stderr
        assert "Dq =" in proc.stdout
        results[ranks] = series(out)
        with h5py.File(out, "r") as f:
            results[ranks][1]["P1"] = f["distributions/t8/P1"][()]
        assert results[ranks][1]["n_ranks"] == ranks
    for ranks in (2, 4):
        for key in ("p1_sq", "p2_sq", "purity", "norm", "E2"):
            np.testing.assert_allclose(results[ranks][0][key], results[1][0][key], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(results[ranks][1]["P1"], results[1][1]["P1"], rtol=0, atol=1e-14)


def test_result_file_contents(tmp_path):
    out = tmp_path / "cell.h5"
    proc = run_cli(["quantum", "--out", str(out), "--set", "quantum.n_kicks=6"] + CELL)
    assert proc.returncode == 0, proc.stderr
    s, attrs = series(out)
    assert attrs["kind"] == "quantum" and attrs["complete"] and attrs["N1"] == 255 and attrs["N2"] == 31
    for key in ("code_version", "git_commit", "wall_time_s", "seconds_per_kick", "n_ranks", "Dq", "scheme",
                "substeps", "max_norm_error", "max_tail1", "max_tail2"):
        assert key in attrs, key
    assert attrs["scheme"] == "light_exact" and attrs["resumed_from"] == -1
    assert s["p1_sq"].shape == (7,) and np.all(np.isfinite(s["p1_sq"]))
    assert abs(s["norm"] - 1).max() < 1e-10 and s["purity"][0] == pytest.approx(1.0)
    assert s["purity"][-1] < 1.0  # the interaction entangles
    assert attrs["Dq"] == pytest.approx(s["p1_sq"][-1] / 6)
    # Dq's error: the fluctuation of <p1^2>(t) about a line over the last kicks (here t = 2..6)
    assert attrs["Dq_err"] == pytest.approx(endpoint_fluctuation(s["t"], s["p1_sq"], 0.2) / 6, rel=1e-12)
    assert attrs["Dq_err"] > 0
    with h5py.File(out, "r") as f:
        assert f["estimates"].attrs["D_err_method"] == "fluctuation"
        assert f["estimates"].attrs["D_err"] == attrs["Dq_err"]
    assert not Path(str(out) + ".ckpt.h5").exists()  # removed after a finished run


def _wait_for(path, child, timeout=120):
    start = time.time()
    while not checkpoint.exists(path):
        assert child.poll() is None, "run ended before writing a checkpoint"
        assert time.time() - start < timeout, "no checkpoint appeared"
        time.sleep(0.01)


@pytest.mark.mpi
def test_resume_after_kill_is_bitwise_identical(tmp_path):
    args = ["--set", "quantum.n_kicks=40", "--set", "quantum.checkpoint_every=4",
            "--set", "quantum.snapshot_times=[2,30,40]"] + CELL
    whole = tmp_path / "whole.h5"
    proc = run_cli(["quantum", "--out", str(whole)] + args)
    assert proc.returncode == 0, proc.stderr

    for ranks_after in (1, 2):
        out = tmp_path / f"killed{ranks_after}.h5"
        ckpt = tmp_path / f"killed{ranks_after}.ckpt.h5"
        child = subprocess.Popen(kickedpair_cmd() + ["quantum", "--out", str(out), "--checkpoint", str(ckpt)] + args,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(ckpt, child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert not out.exists()
        with h5py.File(ckpt, "r") as f:
            t_ckpt = int(f.attrs["t"])
        assert 4 <= t_ckpt < 40
        proc = run_cli(["quantum", "--out", str(out), "--checkpoint", str(ckpt), "--resume"] + args,
                       ranks=ranks_after)
        assert proc.returncode == 0, proc.stderr
        assert "resuming from" in proc.stdout
        a, attrs = series(out)
        b, _ = series(whole)
        assert attrs["resumed_from"] == t_ckpt
        with h5py.File(out, "r") as f, h5py.File(whole, "r") as g:
            for t in (2, 30, 40):
                pa, pb = f[f"distributions/t{t}/P1"][()], g[f"distributions/t{t}/P1"][()]
                if ranks_after == 1:
                    np.testing.assert_array_equal(pa, pb)
                else:
                    np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-13)
        for key in ("p1_sq", "p2_sq", "purity", "norm"):
            if ranks_after == 1:  # same layout: bit for bit
                np.testing.assert_array_equal(a[key], b[key])
            else:  # other rank count: to rounding
                np.testing.assert_allclose(a[key], b[key], rtol=1e-12)


def test_resume_refuses_a_checkpoint_of_other_parameters(tmp_path):
    ckpt = tmp_path / "c.ckpt.h5"
    args = ["--set", "quantum.n_kicks=4", "--set", "quantum.checkpoint_every=2", "--keep-checkpoint"] + CELL
    assert run_cli(["quantum", "--out", str(tmp_path / "a.h5"), "--checkpoint", str(ckpt)] + args).returncode == 0
    assert checkpoint.exists(ckpt)
    proc = run_cli(["quantum", "--out", str(tmp_path / "b.h5"), "--checkpoint", str(ckpt), "--resume",
                    "--set", "physics.eps=1.5"] + args)
    assert proc.returncode == 2 and "physics.eps" in proc.stderr and "Traceback" not in proc.stderr


def test_guard_trips_on_a_too_small_grid(tmp_path):
    out = tmp_path / "small.h5"
    proc = run_cli(["quantum", "--out", str(out), "--set", "physics.hbar=0.1", "--set", "physics.mass_ratio=0.01",
                    "--set", "quantum.N1=63", "--set", "quantum.N2=31", "--set", "quantum.n_kicks=30",
                    "--progress", "none"])
    assert proc.returncode == 3, proc.stderr
    assert "cell small" in proc.stderr and "guard 'top-5% modes of particle 1'" in proc.stderr
    assert "value" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, key", [
    ([], "physics.hbar"),
    (["--set", "physics.hbar=0.05", "--set", "quantum.N1=7"], "quantum.N1"),
    (["--set", "physics.hbar=0.05", "--set", "quantum.N2=3"], "quantum.N2"),
    (["--set", "physics.hbar=0.05", "--set", "quantum.scheme=free"], "quantum.scheme"),
    (["--set", "physics.hbar=0.05", "--set", "quantum.substeps=0"], "quantum.substeps"),
])
def test_quantum_config_rejected_before_running(tmp_path, args, key):
    proc = run_cli(["quantum", "--out", str(tmp_path / "x.h5")] + args)
    assert proc.returncode == 2 and key in proc.stderr and "Traceback" not in proc.stderr


def test_check_convergence_reports_relative_changes(tmp_path):
    out = tmp_path / "conv.h5"
    proc = run_cli(["quantum", "--out", str(out), "--check-convergence", "--set", "quantum.convergence_kicks=3",
                    "--set", "quantum.N1=127", "--set", "quantum.N2=31"] + CELL[:4] + ["--set", "quantum.substeps=12",
                                                                                         "--progress", "none"])
    assert proc.returncode == 0, proc.stderr
    assert "half_step" in proc.stdout and "double_grid" in proc.stdout
    with h5py.File(out, "r") as f:
        assert f.attrs["kind"] == "convergence"
        for name in ("half_step", "double_grid"):
            change = f.attrs[f"{name}_p1_sq"]
            assert 0 < change < 0.05, (name, change)


@pytest.mark.mpi
def test_noise_cli_rank_independent_and_w0_deterministic(tmp_path):
    base = ["noise", "--set", "physics.hbar=0.1", "--set", "noise.n_kicks=30", "--set", "noise.realisations=5",
            "--set", "noise.snapshot_times=[30]", "--progress", "none"]
    files = {}
    for ranks in (1, 3):
        files[ranks] = tmp_path / f"n{ranks}.h5"
        proc = run_cli(base + ["--out", str(files[ranks])], ranks=ranks)
        assert proc.returncode == 0, proc.stderr
    with h5py.File(files[1]) as a, h5py.File(files[3]) as b:
        # the same realisations whatever the split (batched FFTs of other sizes round differently)
        np.testing.assert_allclose(a["series/p_sq_realisations"][()], b["series/p_sq_realisations"][()],
                                   rtol=1e-12)
        np.testing.assert_allclose(a["distributions/t30/P"][()], b["distributions/t30/P"][()], atol=1e-15)
        per = a["series/p_sq_realisations"][()]
        assert np.ptp(per[:, -1]) > 0  # realisations differ
    zero = tmp_path / "w0.h5"
    proc = run_cli(base + ["--set", "noise.W=0", "--out", str(zero)])
    assert proc.returncode == 0, proc.stderr
    with h5py.File(zero) as f:
        per = f["series/p_sq_realisations"][()]
        # W = 0: every realisation is the deterministic map (to the rounding of batched FFTs)
        np.testing.assert_allclose(per, np.broadcast_to(per[0], per.shape), rtol=1e-12)


def test_estimate_prints_grid_memory_and_time():
    from kickedpair.params import parse_config
    from kickedpair.quantum.cost import estimate_cost

    proc = run_cli(["estimate", "--set", "physics.hbar=0.05", "--ranks", "2"])
    assert proc.returncode == 0, proc.stderr
    assert "N1 x N2 = 2047 x 31" in proc.stdout and "MB" in proc.stdout and "core-hours" in proc.stdout
    costs = [estimate_cost(parse_config({"physics": {"hbar": h}})) for h in (0.05, 0.02, 0.01)]
    assert costs[0].seconds_per_kick < costs[1].seconds_per_kick < costs[2].seconds_per_kick
    assert costs[0].memory_mb < costs[1].memory_mb < costs[2].memory_mb
    proc = run_cli(["estimate"])
    assert proc.returncode == 2 and "physics.hbar" in proc.stderr


@pytest.mark.mpi
def test_results_do_not_depend_on_inherited_blas_threads(tmp_path):
    """Snakemake sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS to a job's thread count; a threaded
    BLAS would change the observables' sums in their last digits. The engine pins BLAS to one
    thread, so the series are bitwise the same whatever the caller's environment says."""
    runs = {}
    for name, env in (("plain", {}), ("threaded", {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"})):
        out = tmp_path / f"{name}.h5"
        proc = run_cli(["quantum", "--out", str(out), "--set", "quantum.n_kicks=12"] + CELL, ranks=2, env=env)
        assert proc.returncode == 0, proc.stderr
        runs[name] = series(out)[0]
    for key, values in runs["plain"].items():
        np.testing.assert_array_equal(runs["threaded"][key], values, err_msg=key)
