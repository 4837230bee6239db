"""The slab-decomposed propagators agree with the serial ones under mpiexec -n 1, 2, 4."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("slab_check.py")


def mpiexec():
    bindir = Path(sys.executable).parent
    return shutil.which("mpiexec", path=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks,N1,N2", [(1, 31, 7), (2, 63, 15), (4, 31, 7), (4, 15, 3)])
def test_slab_matches_serial(ranks, N1, N2):
    launcher = mpiexec()
    if launcher is None:
        pytest.skip("mpiexec not found")
    cmd = [launcher, "-n", str(ranks), sys.executable, "-m", "mpi4py", str(SCRIPT), str(N1), str(N2)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "max deviation from serial" in proc.stdout
