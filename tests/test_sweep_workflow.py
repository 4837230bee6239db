"""The sweep end to end through Snakemake on a tiny grid (about half a minute).

The classical cells run the real engine under ``mpiexec -n 2``.  The quantum cells run a
stand-in for ``kickedpair quantum`` (same options, same result-file layout, a synthetic
``Dq``) so that failure, ``--keep-going``, the checkpoint surviving a failed job, resuming,
``allow_missing`` aggregation, the tables and the figures are exercised without the cost of
the quantum engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from kickedpair.sweep import aggregate as agg
from kickedpair.sweep import plan, status

from test_sweep_dryrun import BIN, copy_workflow, snakemake_exe

pytestmark = pytest.mark.mpi

FAKE_ENGINE = textwrap.dedent('''\
    #!{python}
    """Stand-in for the kickedpair command: `quantum` is synthetic, the rest is the real CLI."""
    import argparse, json, math, os, sys

    if len(sys.argv) < 2 or sys.argv[1] != "quantum":
        from kickedpair.cli import main
        sys.exit(main(sys.argv[1:]))

    import h5py
    from kickedpair.io import write_atomic
    from kickedpair.params import load_yaml

    p = argparse.ArgumentParser()
    for opt in ("--config", "--out", "--checkpoint", "--label", "--progress", "--threads"):
        p.add_argument(opt)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--keep-checkpoint", action="store_true")
    a = p.parse_args(sys.argv[2:])
    cfg = load_yaml(open(a.config).read())
    hbar, m = cfg["physics"]["hbar"], cfg["physics"]["mass_ratio"]
    resumed = bool(a.resume and os.path.exists(a.checkpoint))
    print(f"[{{a.label}}] kick 1/{{cfg['quantum']['n_kicks']}} resumed={{resumed}}", flush=True)
    if a.label in os.environ.get("FAKE_FAIL", "").split(";"):
        open(a.checkpoint, "w").write("state at t=3")
        print(f"kickedpair quantum: cell {{a.label}}: guard 'norm' tripped at t=3: value 1.0002",
              file=sys.stderr)
        sys.exit(3)

    def build(f):
        f.attrs["kind"] = "quantum"
        f.attrs["Dq"] = 0.4 * math.exp(-(25.0 if m < 0.1 else 8.0) * hbar)
        f.attrs["Dq_err"] = 0.0
        f.attrs["resumed"] = resumed
        f.create_group("params").attrs["config_json"] = json.dumps(cfg)
        s = f.create_group("series")
        s.create_dataset("t", data=[0, 1])
        s.create_dataset("p1_sq", data=[0.0, 0.4])

    write_atomic(a.out, build)
    if not a.keep_checkpoint and os.path.exists(a.checkpoint):
        os.remove(a.checkpoint)  # as the engine does once the result is written
''')

FAIL = "m=1,hbar=0.04"


def _run(workdir: Path, *args: str, fail: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{workdir / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "FAKE_FAIL": fail, "KICKEDPAIR_THREADS": "1"}
    return subprocess.run([snakemake_exe(), "--cores", "2", *args], cwd=workdir, capture_output=True,
                          text=True, timeout=300, env=env)


def test_tiny_sweep_end_to_end(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bin").mkdir()
    fake = work / "bin" / "kickedpair"
    fake.write_text(FAKE_ENGINE.format(python=sys.executable))
    fake.chmod(0o755)
    (work / "config.yaml").write_text(textwrap.dedent("""\
        preset: tiny
        physics: {eps: 2.0}
        presets:
          tiny:
            hbar: [0.02, 0.04, 0.08]
            mass_ratio: [1.0e-2, 1.0]
            n_kicks: 5
            trajectories: 64
            resources:
              classical: {ranks: 2, threads: 1, runtime: 5}
              quantum: {ranks: 1, threads: 1, runtime: 5, retries: 0}
        """))
    sweep = work / "results" / "tiny"

    # 1. One cell trips a guard: the others finish (--keep-going), no aggregation.
    r = _run(work, "--keep-going", fail=FAIL)
    assert r.returncode != 0
    done = sorted(p.relative_to(sweep).as_posix() for p in sweep.rglob("*.h5"))
    assert [d for d in done if d.endswith("quantum.h5")] == [
        "quantum/m=0.01/hbar=0.02/quantum.h5", "quantum/m=0.01/hbar=0.04/quantum.h5",
        "quantum/m=0.01/hbar=0.08/quantum.h5", "quantum/m=1/hbar=0.02/quantum.h5",
        "quantum/m=1/hbar=0.08/quantum.h5"]
    assert "classical/m=0.01/classical.h5" in done and "classical/m=1/classical.h5" in done
    assert not (sweep / plan.TABLES["h5"]).exists()
    manifest = json.loads((sweep / plan.MANIFEST).read_text())
    entry = next(c for c in manifest["cells"] if c["name"] == FAIL)
    assert (sweep / entry["checkpoint"]).exists(), "the failed cell's checkpoint must survive"
    # successful cells leave no checkpoint behind
    assert not list((sweep / "quantum" / "m=0.01" / "hbar=0.02").glob("checkpoint*"))
    s = status.summarise(sweep)
    states = {c["name"]: c for c in s["cells"]}
    assert states[FAIL]["state"] == "failed"
    assert "guard 'norm' tripped at t=3: value 1.0002" in states[FAIL]["detail"]
    assert s["counts"]["done"] == 7 and s["counts"]["failed"] == 1

    # 2. Aggregate what is there, listing the failed cell.
    r = _run(work, "--config", "allow_missing=true")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (sweep / plan.TABLES["missing"]).read_text().startswith(f"{FAIL}\tquantum_missing")
    for f in list(plan.TABLES.values()) + list(plan.FIGURES.values()):
        assert (sweep / f).exists(), f
    assert "1 of 6 cells" in (sweep / "logs" / "aggregate.log").read_text()

    # 3. Re-run: the failed cell resumes from its checkpoint, the tables are complete.
    r = _run(work)
    assert r.returncode == 0, r.stderr[-3000:]
    with h5py.File(sweep / entry["result"], "r") as f:
        assert bool(f.attrs["resumed"]) and bool(f.attrs["complete"])
    assert not (sweep / entry["checkpoint"]).exists()
    assert (sweep / plan.TABLES["missing"]).read_text() == ""
    rows = agg.read_csv(sweep / plan.TABLES["cells_csv"])
    assert len(rows) == 6 and all(r_["status"] == "ok" for r_ in rows)
    thr = agg.read_csv(sweep / plan.TABLES["thresholds_csv"])
    assert [plan.fmt(t["m"]) for t in thr] == ["0.01", "1"]
    assert status.summarise(sweep)["complete"]
    log = (sweep / entry["log"]).read_text()
    assert "resumed=True" in log and log.rstrip().endswith(f"{plan.LOG_EXIT} 0")
    # nothing left to do
    r = _run(work, "-n")
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr
