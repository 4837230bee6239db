"""A run too large for the memory it may use is refused before it allocates: one line naming
the cell, the grid, the estimate and the limit, exit status 2, within seconds, no output file.

The refusals run under an address-space limit of 2 GiB (``RLIMIT_AS``): a run that began
to allocate its grid would end with an out-of-memory error (status 1) instead -- the control
case shows that it does."""

from __future__ import annotations

import math
import re
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import run_cli  # noqa: E402

from kickedpair import limits  # noqa: E402
from kickedpair.errors import ConfigError, ResourceError  # noqa: E402
from kickedpair.params import parse_config  # noqa: E402

PROMPT_S = 20
ADDRESS_SPACE = 2 * 2**30
NO_SLURM = ("SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU", "SLURM_CPUS_ON_NODE", limits.ENV_MAX_MEMORY)
QUANTUM_HUGE = ["--set", "physics.hbar=0.05", "--set", "quantum.N1=1073741823", "--set", "quantum.N2=31"]


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture
def clean_env(monkeypatch):
    """No Slurm allocation and no explicit limit: the limit comes from this machine."""
    for var in NO_SLURM:
        monkeypatch.delenv(var, raising=False)


def _run(tmp_path: Path, args: list[str], ranks: int | None = None, env: dict | None = None):
    out = tmp_path / "cell.h5"
    t0 = time.monotonic()
    proc = run_cli([*args, "--out", str(out), "--progress", "none"], ranks=ranks, timeout=90,
                   env=env or {}, preexec_fn=_cap_address_space)
    took = time.monotonic() - t0
    assert not out.exists(), "a refused run left an output file"
    return proc, took


def _refusal(proc, took: float, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("kickedpair ")]
    assert len(lines) == 1, proc.stderr
    assert took < PROMPT_S, f"the refusal took {took:.1f} s"
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------ refusals
def test_a_grid_beyond_memory_stops_a_two_rank_run_at_once(tmp_path, clean_env):
    proc, took = _run(tmp_path, ["quantum", *QUANTUM_HUGE], ranks=2)
    line = _refusal(proc, took, "error: cell cell: needs ~", " MB per rank (N1 x N2 = 1073741823 x 31, light_exact",
                    "largest: particle-2 blocks", "lower the grid", "raise --max-memory")
    assert re.search(r"but may use \d+ MB \((MemAvailable|the cgroup's memory limit) / 2 ranks\)", line), line


def test_without_the_check_the_same_run_would_allocate_and_fail(tmp_path, clean_env):
    """Control: with the limit raised past the estimate the engine starts allocating and meets
    the address-space cap (so the refusals above did come before any allocation)."""
    proc, took = _run(tmp_path, ["quantum", *QUANTUM_HUGE, "--max-memory", "1e12"], ranks=None)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "out of memory" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, needles", [
    (["quantum", "--set", "physics.hbar=0.1", "--set", "quantum.N1=127", "--set", "quantum.N2=31",
      "--set", "quantum.n_kicks=1e12"],
     ["N1 x N2 = 127 x 31, light_exact, 1000000000000 kicks", "largest: series of n_kicks + 1 values ~1.4e+08 MB"]),
    (["quantum", "--set", "physics.hbar=0.05", "--set", "quantum.n_kicks=1e12"], ["1000000000000 kicks"]),
    (["classical", "--set", "classical.n_trajectories=1e15"],
     ["1000000000000000 trajectories, 500 kicks", "lower n_trajectories or n_kicks"]),
    (["classical", "--set", "classical.n_trajectories=100", "--set", "classical.n_kicks=1e12"],
     ["100 trajectories, 1000000000000 kicks", "largest: series"]),
    (["noise", "--set", "physics.hbar=0.05", "--set", "noise.realisations=1e9"],
     ["N = 2047, 1000000000 realisations", "lower N, realisations or n_kicks"]),
    (["noise", "--set", "physics.hbar=0.1", "--set", "noise.N=1073741823"], ["N = 1073741823"]),
])
def test_every_engine_refuses_what_it_cannot_hold(tmp_path, clean_env, args, needles):
    proc, took = _run(tmp_path, args)
    _refusal(proc, took, "needs ~", "MB per rank", *needles)


def test_counts_beyond_any_machine_are_refused(tmp_path, clean_env):
    proc, took = _run(tmp_path, ["quantum", "--set", "physics.hbar=1e-300"])
    _refusal(proc, took, "would need N1 >= 2**62", "beyond any machine")
    proc, took = _run(tmp_path, ["classical", "--set", "classical.courant=5e-324"])
    _refusal(proc, took, "would need steps_per_kick >= 2**62")


@pytest.mark.parametrize("env, source", [
    ({"SLURM_MEM_PER_NODE": "300"}, "(SLURM_MEM_PER_NODE / 2 ranks)"),
    ({"SLURM_MEM_PER_CPU": "100", "SLURM_CPUS_ON_NODE": "2"}, "(SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE / 2 ranks)"),
    ({limits.ENV_MAX_MEMORY: "120"}, f"120 MB ({limits.ENV_MAX_MEMORY})"),
])
def test_the_limit_follows_slurm_and_the_environment(tmp_path, clean_env, env, source):
    # a small run (~170 MB a rank with the libraries) that a Slurm allocation of 300 MB for 2 ranks cannot hold
    proc, took = _run(tmp_path, ["quantum", "--set", "physics.hbar=0.1", "--set", "quantum.n_kicks=3"],
                      ranks=2, env=env)
    _refusal(proc, took, source)


def test_max_memory_option_and_a_run_that_fits(tmp_path, clean_env):
    args = ["classical", "--set", "classical.n_trajectories=50", "--set", "classical.n_kicks=2"]
    proc, took = _run(tmp_path, [*args, "--max-memory", "100"])
    _refusal(proc, took, "but may use 100 MB (--max-memory)")
    out = tmp_path / "fits.h5"
    proc = run_cli([*args, "--max-memory", "2000", "--out", str(out), "--progress", "none"], timeout=90,
                   preexec_fn=_cap_address_space)
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_estimate_prints_the_limit_and_whether_the_run_fits(clean_env):
    proc = run_cli(["estimate", "--set", "physics.hbar=0.05", "--ranks", "2", "--max-memory", "4000"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "limit: 4000 MB per rank (--max-memory): fits" in proc.stdout
    # light-particle-exact blocks at N2 = 16383: N1 N2^2 entries, TBs (auto would take plain Strang)
    proc = run_cli(["estimate", "--set", "physics.hbar=0.05", "--set", "quantum.N2=16383",
                    "--set", "quantum.scheme=light_exact"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"limit: \d+ MB per rank \((MemAvailable|the cgroup's memory limit)\): does NOT fit: needs ~",
                     proc.stdout), proc.stdout


# ------------------------------------------------------------------------------ the limit
def _meminfo(tmp_path: Path, kb: int) -> Path:
    path = tmp_path / "meminfo"
    path.write_text(f"MemTotal:       {2 * kb} kB\nMemFree:        {kb} kB\nMemAvailable:   {kb} kB\n")
    return path


def test_memory_limit_sources_and_their_order(tmp_path):
    info = _meminfo(tmp_path, 8 * 1024 * 1024)  # 8 GiB available
    nocg = tmp_path / "no-cgroup"

    def limit(env, ranks=2):
        return limits.memory_limit(ranks, environ=env, meminfo=info, cgroup=nocg)

    assert limit({}) == limits.MemoryLimit(4096.0, "MemAvailable / 2 ranks")
    assert limit({}, ranks=1) == limits.MemoryLimit(8192.0, "MemAvailable")
    assert limit({"SLURM_MEM_PER_NODE": "2000"}).mb == 1000.0
    assert limit({"SLURM_MEM_PER_NODE": "64G"}).source == "MemAvailable / 2 ranks"  # the smaller wins
    assert limit({"SLURM_MEM_PER_CPU": "500", "SLURM_CPUS_ON_NODE": "4"}).mb == 1000.0
    assert limit({limits.ENV_MAX_MEMORY: "12345", "SLURM_MEM_PER_NODE": "10"}) == \
        limits.MemoryLimit(12345.0, limits.ENV_MAX_MEMORY)  # explicit wins, per rank
    cgroup = tmp_path / "cg"
    cgroup.mkdir()
    (cgroup / "memory.max").write_text(f"{1024 * 2**20}\n")
    assert limits.memory_limit(2, environ={}, meminfo=info, cgroup=cgroup) == \
        limits.MemoryLimit(512.0, "the cgroup's memory limit / 2 ranks")
    (cgroup / "memory.max").write_text("max\n")
    assert limits.memory_limit(2, environ={}, meminfo=info, cgroup=cgroup).source == "MemAvailable / 2 ranks"
    assert limits.memory_limit(1, environ={}, meminfo=tmp_path / "none", cgroup=nocg).mb is None
    with pytest.raises(ConfigError, match=limits.ENV_MAX_MEMORY):
        limit({limits.ENV_MAX_MEMORY: "lots"})
    try:
        limits.set_max_memory(50.0)
        assert limit({limits.ENV_MAX_MEMORY: "12345"}) == limits.MemoryLimit(50.0, "--max-memory")
    finally:
        limits.set_max_memory(None)


def test_check_names_cell_grid_estimate_and_limit():
    config = parse_config({"physics": {"hbar": 0.05}, "quantum": {"N1": 2**30 - 1, "N2": 31}})
    est = limits.quantum_estimate(config, ranks=2)
    with pytest.raises(ResourceError) as err:
        limits.check(est, "X", limits.MemoryLimit(11800.0, "MemAvailable / 2 ranks"))
    text = str(err.value)
    assert text.startswith("cell X: needs ~") and "(N1 x N2 = 1073741823 x 31, light_exact, 500 kicks;" in text
    assert text.endswith("but may use 11800 MB (MemAvailable / 2 ranks); lower the grid or n_kicks, use more "
                         "ranks, or raise --max-memory")
    assert isinstance(err.value, ConfigError)  # the command line's exit status 2
    limits.check(est, "X", limits.MemoryLimit(None, "unknown"))  # no limit known: no check


# ------------------------------------------------------------------------------ the estimates
def _traced_peak(run) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("engine, section", [
    ("quantum", {"physics": {"hbar": 0.05}, "quantum": {"N1": 511, "N2": 63, "substeps": 2, "n_kicks": 2,
                                                        "tail_tol": 1.0}}),
    # FFTW's cached plans keep the arrays of their last call (one state more than scipy's path)
    ("quantum", {"physics": {"hbar": 0.05}, "quantum": {"N1": 511, "N2": 63, "substeps": 2, "n_kicks": 2,
                                                        "tail_tol": 1.0, "scheme": "strang", "fft": "fftw"}}),
    ("quantum", {"physics": {"hbar": 0.5, "eps": 0.0}, "quantum": {"N1": 31, "N2": 7, "n_kicks": 4000,
                                                                   "tail_tol": 1.0}}),
    ("classical", {"physics": {"eps": 0.0}, "classical": {"n_trajectories": 300_000, "n_kicks": 2,
                                                         "snapshot_times": [0, 2]}}),
    ("classical", {"physics": {"eps": 0.0, "hbar": 0.1}, "classical": {"n_trajectories": 300_000, "n_kicks": 2,
                                                                      "initial": "quantum"}}),
    ("noise", {"physics": {"hbar": 0.1, "eps": 0}, "noise": {"N": 4095, "realisations": 40, "n_kicks": 20,
                                                           "snapshot_times": [10], "tail_tol": 1.0}}),
    ("noise", {"physics": {"hbar": 0.1, "eps": 0}, "noise": {"N": 31, "realisations": 20, "n_kicks": 4000,
                                                           "tail_tol": 1.0}}),
])
def test_the_estimates_track_what_the_engines_allocate(engine, section):
    """Estimate (less the libraries' resident 150 MB) against tracemalloc's peak: within 2x."""
    from kickedpair.classical.ensemble import run_classical
    from kickedpair.quantum.evolution import run_quantum
    from kickedpair.quantum.noise import run_noise

    config = parse_config(section)
    runner = {"quantum": run_quantum, "classical": run_classical, "noise": run_noise}[engine]
    estimator = {"quantum": limits.quantum_estimate, "classical": limits.classical_estimate,
                 "noise": limits.noise_estimate}[engine]
    est = estimator(config)
    predicted = sum(v for k, v in est.parts.items() if k != "base")
    runner(config, progress="none")  # once first: compiled kernels, FFT plans and their timing are one-offs
    peak = _traced_peak(lambda: runner(config, progress="none"))
    ratio = predicted / peak
    assert 0.8 < ratio < 2.0, f"{engine}: estimate {predicted / 2**20:.1f} MB, traced peak {peak / 2**20:.1f} MB"
    assert math.isfinite(est.mb)
