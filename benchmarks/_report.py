"""Helpers shared by the benchmark scripts: tables, JSON, tools and child environments."""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np

MPI_LAUNCHER_VARS = ("PMI_", "PMIX_", "HYDRA_", "MPIR_", "OMPI_", "I_MPI_")


def fmt(x, spec: str = ".4g") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def jsonable(obj):
    """Nested dicts/lists/numpy values as plain JSON (non-finite floats as null)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def tool(name: str) -> str | None:
    """An executable beside this Python (the virtual environment), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def child_env(**overrides: str) -> dict:
    """This environment for an mpiexec child: no inherited MPI launcher state, the
    virtual environment first on PATH, and the given variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(MPI_LAUNCHER_VARS)}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(overrides)
    return env
