"""The cluster path on a real Slurm: a single-node cluster on this machine
(cluster/slurm-single-node/start.sh), the sweep through ``snakemake --profile cluster/slurm-single-node``.

* a tiny sweep runs with every cell an sbatch job whose 2 MPI ranks are started by
  ``srun --mpi=pmi2``; its table equals that of a ``--cores 2`` run of the same preset;
* fault injection: a quantum cell's Slurm job is cancelled (``scancel``) once its checkpoint
  has reached kick 20 (of 200); the re-run resumes that cell from the checkpoint, recomputes nothing else,
  and the final table is identical to the undisturbed one;
* an adaptive sweep's two rounds: every cell an sbatch job, the checkpoint rule between rounds a
  local job, each cell's Dq that of the engine run directly.

Runs only as root on Linux, with Slurm installed or apt-get to install it (start.sh installs
Debian's slurm-wlm and munge, starts munged, slurmctld and slurmd); skipped otherwise, with
the reason. ``KICKEDPAIR_SLURM_TEST=0`` skips it too. The cluster is started once for the
module and stopped at the end (cluster/slurm-single-node/stop.sh), whatever the tests' outcome;
a local cluster found already running is used and left running. About 2 minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import pytest

from kickedpair import checkpoint
from kickedpair.sweep import aggregate as agg
from kickedpair.sweep import plan, status

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workflowlib import BIN, ROOT, adaptive_tiny, copy_workflow, snakemake_exe

pytestmark = [pytest.mark.mpi, pytest.mark.slurm]

START = ROOT / "cluster" / "slurm-single-node" / "start.sh"
STOP = ROOT / "cluster" / "slurm-single-node" / "stop.sh"
PROFILE = ROOT / "cluster" / "slurm-single-node"

# 200 kicks: a quantum cell runs ~5 s on 2 ranks, long enough to be cancelled between its first
# checkpoint (kick 2) and its end; the whole sweep takes ~20 s either way.
TINY = textwrap.dedent("""\
    preset: tiny
    physics: {eps: 2.0}
    quantum: {N1: 127, N2: 31, checkpoint_every: 2}
    presets:
      tiny:
        hbar: [0.2, 0.3]
        mass_ratio: [1.0e-3]
        n_kicks: 200
        trajectories: 64
        resources:
          classical: {ranks: 2, threads: 1, runtime: 5}
          quantum: {ranks: 2, threads: 1, runtime: 5, retries: 0}
    """)
CELLS = ("m=0.001", "m=0.001,hbar=0.2", "m=0.001,hbar=0.3")
KILLED_CELL = "m=0.001,hbar=0.2"
def _cell_wc(m: str, hbar: str | None = None) -> str:
    """How the Slurm plugin names a cell's engine_run job (job comment, log folder): its wildcards
    run=RUN, engine=ENGINE joined by '_', slashes as '_'."""
    return f"quantum_m={m}_hbar={hbar}_quantum" if hbar else f"classical_m={m}_classical"


KILLED_WILDCARDS = _cell_wc("0.001", "0.2")
KILL_AFTER_KICK = 20            # cancel the cell's job once its checkpoint has reached this kick
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/([^/\s]+)/\d+\.log\)")


def _skip_reason() -> str | None:
    if os.environ.get("KICKEDPAIR_SLURM_TEST", "1") == "0":
        return "KICKEDPAIR_SLURM_TEST=0"
    if not sys.platform.startswith("linux"):
        return "a local Slurm needs Linux"
    if os.geteuid() != 0:
        return "needs root: starts munged, slurmctld and slurmd (and may install slurm-wlm with apt-get)"
    have_slurm = all(shutil.which(t) for t in ("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "munged"))
    if not have_slurm and not shutil.which("apt-get"):
        return "Slurm is not installed and apt-get is not there to install it"
    if os.path.exists("/etc/slurm/slurm.conf"):
        return "/etc/slurm/slurm.conf exists: a configured Slurm is here, the local test cluster stays off"
    return None


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@dataclass
class Cluster:
    state: Path
    env: dict
    bringup_s: float

    def cmd(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=self.env)


@pytest.fixture(scope="module")
def slurm():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    state = Path(os.environ.get("KICKEDPAIR_SLURM_DIR", "/tmp/kickedpair-slurm"))
    already = _alive(state / "slurmctld.pid") and _alive(state / "slurmd.pid")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env = {**base, "KICKEDPAIR_SLURM_DIR": str(state), "SLURM_CONF": str(state / "slurm.conf"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "KICKEDPAIR_THREADS": "1"}
    t0 = time.monotonic()
    try:
        try:
            r = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=1200, env=env)
        except subprocess.TimeoutExpired as exc:
            pytest.skip(f"cluster/slurm-single-node/start.sh did not finish in {exc.timeout:.0f} s")
        bringup = time.monotonic() - t0
        if r.returncode != 0:
            pytest.skip(f"the local Slurm did not come up (start.sh exit {r.returncode}): "
                        + " | ".join(r.stderr.strip().splitlines()[-12:]))
        print(f"\nlocal Slurm up in {bringup:.1f} s{' (was already running)' if already else ''}")
        yield Cluster(state, env, bringup)
    finally:
        if not already:
            subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=300, env=env)


def _tiny(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    work = copy_workflow(tmp_path / name)
    (work / "config.yaml").write_text(TINY)
    return work


def _snakemake_cmd(*args: str) -> list[str]:
    return [snakemake_exe(), *args]


def _run(cluster: Cluster, work: Path, *args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    r = subprocess.run(_snakemake_cmd(*args), cwd=work, capture_output=True, text=True, timeout=timeout,
                       env=cluster.env)
    return r, time.monotonic() - t0


def _submitted(output: str) -> list[tuple[int, str, str]]:
    """(Slurm job id, rule, wildcards) of every job the plugin submitted, from Snakemake's output."""
    return [(int(j), rule, wc) for j, rule, wc in SUBMITTED.findall(output)]


def _ok_rows(rows):
    return [row for row in rows if row["status"] == "ok"]


@pytest.fixture(scope="module")
def reference(slurm, tmp_path_factory):
    """The same tiny sweep run locally (``--cores 2``, cells under mpiexec): its cells.csv."""
    work = _tiny(tmp_path_factory.mktemp("slurm-ref"), "ref")
    r, wall = _run(slurm, work, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"\ntiny sweep with --cores 2: {wall:.1f} s")
    rows = agg.read_csv(work / "results" / "tiny" / plan.TABLES["cells_csv"])
    assert len(_ok_rows(rows)) == 2
    return rows


def test_tiny_sweep_through_slurm_matches_local_run(slurm, reference, tmp_path):
    work = _tiny(tmp_path, "slurm")
    r, wall = _run(slurm, work, "--profile", str(PROFILE))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    print(f"\ntiny sweep through Slurm: {wall:.1f} s")
    # every cell went to Slurm as its own job
    submitted = _submitted(out)
    assert sorted(wc for _, rule, wc in submitted if rule == "engine_run") == [
        _cell_wc("0.001"), _cell_wc("0.001", "0.2"), _cell_wc("0.001", "0.3")], out[-4000:]
    sweep = work / "results" / "tiny"
    cells = {c["name"]: c for c in json.loads((sweep / plan.MANIFEST).read_text())["cells"]}
    assert set(cells) == set(CELLS)
    for jobid, rule, wc in submitted:
        if rule != "engine_run":
            continue
        # the sbatch log of the cell: the job step ran the engine under srun, 2 ranks
        log = work / ".snakemake" / "slurm_logs" / f"rule_{rule}" / wc / f"{jobid}.log"
        assert f"srun --mpi=pmi2 -n 2 kickedpair {wc.split('_')[0]}" in log.read_text(), log
    for name, c in cells.items():
        with h5py.File(sweep / c["result"], "r") as f:
            assert f.attrs["n_ranks"] == 2, name
            if "hbar" in name:
                assert f.attrs["resumed_from"] == -1, name
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert _ok_rows(rows) == _ok_rows(reference)  # identical to the last digit
    assert [row["status"] for row in rows] == [row["status"] for row in reference]


def _running_job_of(cluster: Cluster, wildcards: str) -> int | None:
    r = cluster.cmd("squeue", "-h", "-t", "RUNNING", "-o", "%i|%k")
    for line in r.stdout.splitlines():
        jobid, _, comment = line.partition("|")
        if comment.strip().endswith(f"_wildcards_{wildcards}"):
            return int(jobid)
    return None


def _checkpoint_kick(path: Path) -> int | None:
    """The kick of the complete checkpoint at ``path``, or None."""
    if not checkpoint.exists(path):
        return None
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs["t"])
    except (OSError, KeyError):
        return None


def _interrupt_cell(slurm: Cluster, work: Path, interrupt) -> tuple[str, int, dict, int | None, object]:
    """Run the sweep in ``work`` through the profile; once KILLED_CELL's checkpoint has reached
    KILL_AFTER_KICK, call ``interrupt()`` until it returns something truthy (what it did).
    Returns Snakemake's output and exit status, the manifest's cells, the checkpoint's kick
    at the interruption and what ``interrupt`` returned (None if the cell ended first)."""
    sweep = work / "results" / "tiny"
    child = subprocess.Popen(_snakemake_cmd("--profile", str(PROFILE)), cwd=work, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=slurm.env)
    cells, done, t_ckpt = None, None, None
    deadline = time.time() + 300
    try:
        while time.time() < deadline and child.poll() is None:
            if cells is None and (sweep / plan.MANIFEST).exists():
                cells = {c["name"]: c for c in json.loads((sweep / plan.MANIFEST).read_text())["cells"]}
            t_ckpt = _checkpoint_kick(sweep / cells[KILLED_CELL]["checkpoint"]) if cells else None
            if t_ckpt is not None and t_ckpt >= KILL_AFTER_KICK:
                done = interrupt()
                if done:
                    break
            time.sleep(0.05)
        out, _ = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
    return out, child.returncode, cells, t_ckpt, done


def test_scancel_mid_cell_then_rerun_resumes_from_checkpoint(slurm, reference, tmp_path):
    work = _tiny(tmp_path, "fault")
    sweep = work / "results" / "tiny"

    def cancel():
        jobid = _running_job_of(slurm, KILLED_WILDCARDS)
        if jobid is not None:
            r = slurm.cmd("scancel", str(jobid))
            assert r.returncode == 0, r.stderr
        return jobid

    out, returncode, cells, t_ckpt, cancelled = _interrupt_cell(slurm, work, cancel)
    assert cancelled is not None, "the cell finished before it could be cancelled: " + out[-3000:]
    print(f"\nscancel {cancelled} (cell {KILLED_CELL}) with a checkpoint at kick {t_ckpt} on disk")
    assert returncode != 0, out[-3000:]
    assert f"SLURM-job '{cancelled}' failed" in out and "CANCELLED" in out, out[-3000:]
    killed_result = sweep / cells[KILLED_CELL]["result"]
    assert not killed_result.exists()
    assert checkpoint.exists(sweep / cells[KILLED_CELL]["checkpoint"])
    done_before = {name: (sweep / c["result"]).stat().st_mtime_ns
                   for name, c in cells.items() if (sweep / c["result"]).exists()}
    assert set(done_before) == set(CELLS) - {KILLED_CELL}  # keep-going: the others finished

    # the same command again: only the cancelled cell runs, from its checkpoint
    r, wall = _run(slurm, work, "--profile", str(PROFILE))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    print(f"re-run through Slurm: {wall:.1f} s")
    assert [wc for _, rule, wc in _submitted(out) if rule == "engine_run"] == [KILLED_WILDCARDS], out[-4000:]
    for name, mtime in done_before.items():
        assert (sweep / cells[name]["result"]).stat().st_mtime_ns == mtime, f"{name} was recomputed"
    with h5py.File(killed_result, "r") as f:
        resumed_from = int(f.attrs["resumed_from"])
        assert resumed_from >= t_ckpt > 0 and f.attrs["n_ranks"] == 2
    print(f"cell {KILLED_CELL} resumed from kick {resumed_from}")
    log = (sweep / cells[KILLED_CELL]["log"]).read_text()
    assert "resuming from" in log
    assert not checkpoint.exists(sweep / cells[KILLED_CELL]["checkpoint"])  # removed once the result is written
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert _ok_rows(rows) == _ok_rows(reference)  # identical to the last digit
    assert [row["status"] for row in rows] == [row["status"] for row in reference]


FAULTS = TINY.replace("hbar: [0.2, 0.3]", "hbar: [0.05, 0.2]")
GUARD_CELL = "m=0.001,hbar=0.05"   # N1 = 127 is too small at hbar = 0.05: the tail guard trips


def test_guard_failure_and_sigkill_under_slurm(slurm, reference, tmp_path):
    from workflowlib import pids_of as _pids_of

    (tmp_path / "faults").mkdir()
    work = copy_workflow(tmp_path / "faults")
    (work / "config.yaml").write_text(FAULTS)
    sweep = work / "results" / "tiny"

    def kill():
        pids = _pids_of(KILLED_CELL)  # the engine's ranks, started by srun inside the job
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    out, returncode, cells, t_ckpt, killed = _interrupt_cell(slurm, work, kill)
    assert killed, "the cell finished before it could be killed: " + out[-3000:]
    print(f"\nSIGKILL to the engine processes {killed} of cell {KILLED_CELL} (checkpoint at kick {t_ckpt})")
    assert returncode != 0
    assert not (sweep / cells[KILLED_CELL]["result"]).exists()
    assert checkpoint.exists(sweep / cells[KILLED_CELL]["checkpoint"])
    states = {c["name"]: c for c in status.summarise(sweep)["cells"]}
    assert states[GUARD_CELL]["state"] == "failed"
    assert "guard 'top-5% modes of particle 1' tripped" in states[GUARD_CELL]["detail"]
    assert states["m=0.001"]["state"] == "done"  # keep-going: the classical cell finished

    # the aggregation lists what is missing instead of plotting a partial grid silently
    r, _ = _run(slurm, work, "--profile", str(PROFILE), "--config", "allow_missing=true")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    missing = (sweep / plan.TABLES["missing"]).read_text()
    assert GUARD_CELL in missing and KILLED_CELL in missing

    # re-run: the killed cell resumes from its checkpoint; the guard cell fails again, alone
    classical_mtime = (sweep / cells["m=0.001"]["result"]).stat().st_mtime_ns
    r, _ = _run(slurm, work, "--profile", str(PROFILE))
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert sorted(wc for _, rule, wc in _submitted(out) if rule == "engine_run") == [
        _cell_wc("0.001", "0.05"), KILLED_WILDCARDS], out[-3000:]
    assert (sweep / cells["m=0.001"]["result"]).stat().st_mtime_ns == classical_mtime
    with h5py.File(sweep / cells[KILLED_CELL]["result"], "r") as f:
        assert int(f.attrs["resumed_from"]) >= t_ckpt > 0 and f.attrs["n_ranks"] == 2
    r, _ = _run(slurm, work, "--profile", str(PROFILE), "--config", "allow_missing=true")
    assert r.returncode == 0
    missing = (sweep / plan.TABLES["missing"]).read_text()
    assert GUARD_CELL in missing and KILLED_CELL not in missing
    # the resumed cell's row is identical to the undisturbed sweep's, to the last digit
    row = next(r_ for r_ in agg.read_csv(sweep / plan.TABLES["cells_csv"]) if plan.fmt(r_["hbar"]) == "0.2")
    assert row == next(r_ for r_ in reference if plan.fmt(r_["hbar"]) == "0.2")


# The adaptive sweep of tests/sweep/test_adaptive.py with 2-rank cells: round 0 is three cells, the
# checkpoint rule `refine` (a local job) adds hbar = 0.4, which Slurm runs as round 1.
ADAPTIVE = adaptive_tiny(ranks=2)


def test_adaptive_rounds_through_slurm(slurm, tmp_path):
    """Every cell of both rounds is its own sbatch job, the rounds run as local jobs, and each
    quantum cell's Dq equals that of the engine run directly on its config (one rank)."""
    from kickedpair.params import load_yaml, parse_config
    from kickedpair.quantum.evolution import run_quantum

    work = copy_workflow(tmp_path)
    (work / "config.yaml").write_text(ADAPTIVE)
    r, wall = _run(slurm, work, "--profile", str(PROFILE))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    print(f"\nadaptive tiny sweep through Slurm: {wall:.1f} s")
    sweep = work / "results" / "tiny"
    round1 = json.loads((sweep / "refine/round-1.json").read_text())
    assert round1["done"] and round1["grid"] == {"0.001": ["0.2", "0.4", "0.8", "1.6"]}
    hbars = ("0.2", "0.4", "0.8", "1.6")
    submitted = [wc for _, rule, wc in _submitted(out) if rule == "engine_run"]
    assert sorted(submitted) == sorted([_cell_wc("0.001")] + [_cell_wc("0.001", h) for h in hbars]), out[-4000:]
    assert not [rule for _, rule, _ in _submitted(out) if rule == "refine"]  # the rounds are local jobs
    rows = {plan.fmt(row["hbar"]): row for row in agg.read_csv(sweep / plan.TABLES["cells_csv"])}
    assert sorted(rows, key=float) == list(hbars)
    for hbar in hbars:
        cell = sweep / f"quantum/m=0.001/hbar={hbar}"
        with h5py.File(cell / "quantum.h5", "r") as f:
            assert f.attrs["n_ranks"] == 2
        direct = run_quantum(parse_config(load_yaml((cell / "config.yaml").read_text())), progress="none")
        assert rows[hbar]["Dq"] == pytest.approx(direct.Dq, rel=1e-10), hbar
