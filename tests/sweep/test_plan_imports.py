"""Building the job graph needs neither MPI nor HDF5: the Snakemake controller runs on a login
node, where importing mpi4py may fail or start an MPI runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from workflowlib import BIN, copy_workflow, job_counts, snakemake_exe  # noqa: E402

BLOCKER = "raise ImportError('{name} is blocked: planning must not import it')\n"


def _blocked(tmp_path: Path, *names: str) -> dict:
    """An environment in which importing any of ``names`` fails."""
    for name in names:
        (tmp_path / "blocked" / name).mkdir(parents=True)
        (tmp_path / "blocked" / name / "__init__.py").write_text(BLOCKER.format(name=name))
    path = os.pathsep.join([str(tmp_path / "blocked"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_plans_import_neither_mpi4py_nor_h5py(tmp_path):
    code = """
import sys
from kickedpair.params import load_yaml
from kickedpair.reproduce.plan import reproduction_of, variant_estimates
from kickedpair.sweep.plan import build_plan
config = load_yaml(open(sys.argv[1]).read())
for preset in ("demo", "quick", "paper"):
    cfg = {**config, "preset": preset}
    sweep = build_plan(cfg)
    rep = reproduction_of(cfg, sweep)
    runs = sweep.runs() + (rep.runs() if rep else [])
    jobs = [sweep.job(r) for r in runs]
    assert all(j["mem_mb"] > 0 and j["runtime"] > 0 for j in jobs)
variant_estimates(config)
print(len(runs), sorted(m for m in ("mpi4py", "h5py") if m in sys.modules))
"""
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "config.yaml")], capture_output=True,
                       text=True, timeout=300, env=_blocked(tmp_path, "mpi4py", "h5py"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[1:] == ["[]"], r.stdout


def test_the_job_graph_is_built_without_mpi4py(tmp_path):
    """A dry run of the paper's sweep and figures with mpi4py unimportable."""
    (tmp_path / "work").mkdir()
    work = copy_workflow(tmp_path / "work")
    r = subprocess.run([snakemake_exe(), "all", "figures", "-n", "--quiet", "rules", "--config", "preset=paper"],
                       cwd=work, capture_output=True, text=True, timeout=600, env=_blocked(tmp_path, "mpi4py"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    counts = job_counts(r.stdout + r.stderr)
    assert counts["engine_run"] > 91 and counts["convergence"] > 0
