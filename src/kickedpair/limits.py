"""What a run may use, and the check that refuses a run that cannot fit before it allocates.

The memory one rank may use, in this order:

1. ``--max-memory MB`` on the command line, else the environment variable
   ``KICKEDPAIR_MAX_MEMORY_MB`` (both per rank);
2. else the smallest of what the node offers, divided among the node's ranks: the Slurm
   allocation (``SLURM_MEM_PER_NODE``, or ``SLURM_MEM_PER_CPU`` x ``SLURM_CPUS_ON_NODE``, in
   MB), the cgroup's memory limit (``memory.max`` or ``memory.limit_in_bytes``), and
   ``MemAvailable`` of ``/proc/meminfo``;
3. else (none of these is known) no limit: the check passes.

Each engine calls its check (:func:`check_quantum`, :func:`check_classical`,
:func:`check_noise`) first thing, before anything of the size of the run is allocated.  The
check compares the engine's own estimate of the busiest rank's peak (quantum from
:mod:`kickedpair.quantum.cost`; classical and noise below, measured with ``tracemalloc``) with
the limit and raises :class:`~kickedpair.errors.ResourceError` (exit status 2 on the command
line) naming the run, the grid, the estimate and the limit.  Every rank takes the same
decision: the smallest limit over all ranks is used, so no rank runs on alone.  Counts beyond
``2**62`` (a grid, a substep or integration-step count that the automatic rules make from
extreme parameters) are refused the same way.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError, ResourceError
from .params import INT_LIMIT, RunConfig

__all__ = [
    "ENV_MAX_MEMORY",
    "MemoryLimit",
    "Estimate",
    "set_max_memory",
    "memory_limit",
    "quantum_estimate",
    "classical_estimate",
    "noise_estimate",
    "problem",
    "check",
    "check_quantum",
    "check_classical",
    "check_noise",
    "mb_text",
]

ENV_MAX_MEMORY = "KICKEDPAIR_MAX_MEMORY_MB"
MB = 2**20

#: classical, measured (tracemalloc, 1e6 trajectories, one rank): every rank draws the whole
#: initial ensemble (uniform (n, 2), the positions and momenta: 48 B a trajectory; 65 B with
#: classical.initial = quantum, whose positions come by bisection, counted as 48) and keeps
#: its block with ~12 work arrays (96 B a local trajectory); a snapshot holds both momenta of
#: every trajectory on rank 0 (16 B); the per-kick sums and the fit, 376 B a kick
CLASSICAL_GLOBAL_PER_TRAJ = 48
CLASSICAL_LOCAL_PER_TRAJ = 96
CLASSICAL_SNAPSHOT_PER_TRAJ = 16
CLASSICAL_PER_KICK = 400
#: noise, measured: per realisation 66 B a mode (state and work arrays, complex) and 41 B a
#: kick, of which a local realisation holds ~32 (kick offsets, <p^2>, norm, tail and the
#: guard's scan) and rank 0 ~16 more for every realisation (the gathered series and the
#: average); a snapshot keeps P(n) of every local realisation (8 B a mode)
NOISE_PER_MODE = 72
NOISE_PER_KICK = 32
NOISE_ROOT_PER_KICK = 16
NOISE_SNAPSHOT_PER_MODE = 8
NOISE_SERIES_PER_KICK = 64  # the mean, its error, the time axis and the fit's copies


def mb_text(mb: float) -> str:
    """``11800`` below 1e5 MB, ``5.3e+05`` above."""
    return f"{mb:.0f}" if mb < 1e5 else f"{mb:.2g}"


# --------------------------------------------------------------------------- the limit
@dataclass(frozen=True)
class MemoryLimit:
    """Memory one rank may use (MB; None: unknown, no check) and where that figure comes from."""

    mb: float | None
    source: str

    def text(self) -> str:
        if self.mb is None:
            return f"no limit known ({self.source})"
        return f"{mb_text(self.mb)} MB per rank ({self.source})"


_override: tuple[float, str] | None = None


def set_max_memory(mb: float | None, source: str = "--max-memory") -> None:
    """Set (or with None clear) the per-rank limit for this process, as ``--max-memory`` does."""
    global _override
    if mb is not None and not (mb > 0 and math.isfinite(mb)):
        raise ConfigError(f"{source}: must be a positive number of MB, got {mb!r}")
    _override = None if mb is None else (float(mb), source)


def _positive_mb(text: str | None) -> float | None:
    """A number of MB from the environment, or None when unset or not a positive number.
    Slurm writes plain integers (MB); a unit suffix K, M, G or T is accepted too."""
    if not text:
        return None
    text = text.strip().upper()
    scale = {"K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2}
    factor = 1.0
    if text[-1:] in scale:
        text, factor = text[:-1], scale[text[-1]]
    try:
        value = float(text) * factor
    except ValueError:
        return None
    return value if value > 0 and math.isfinite(value) else None


def _cgroup_mb(root: Path) -> float | None:
    for name in ("memory.max", "memory/memory.limit_in_bytes", "memory.limit_in_bytes"):
        try:
            text = (root / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:  # 'max' or a huge number: no limit
            return int(text) / MB
    return None


def _meminfo_mb(path: Path) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit(local_ranks: int = 1, environ: Mapping[str, str] | None = None,
                 meminfo: str | os.PathLike = "/proc/meminfo",
                 cgroup: str | os.PathLike = "/sys/fs/cgroup") -> MemoryLimit:
    """The memory one of ``local_ranks`` ranks on this node may use (see the module docstring)."""
    env = os.environ if environ is None else environ
    if _override is not None:
        return MemoryLimit(*_override)
    if env.get(ENV_MAX_MEMORY, "").strip():
        explicit = _positive_mb(env[ENV_MAX_MEMORY])
        if explicit is None:
            raise ConfigError(f"{ENV_MAX_MEMORY}: must be a positive number of MB, got {env[ENV_MAX_MEMORY][:60]!r}")
        return MemoryLimit(explicit, ENV_MAX_MEMORY)
    n = max(int(local_ranks), 1)
    node: list[tuple[float, str]] = []
    per_node = _positive_mb(env.get("SLURM_MEM_PER_NODE"))
    per_cpu = _positive_mb(env.get("SLURM_MEM_PER_CPU"))
    cpus = env.get("SLURM_CPUS_ON_NODE", "")
    if per_node is not None:
        node.append((per_node, "SLURM_MEM_PER_NODE"))
    elif per_cpu is not None and cpus.isdigit() and int(cpus) > 0:
        node.append((per_cpu * int(cpus), "SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE"))
    group = _cgroup_mb(Path(cgroup))
    if group is not None:
        node.append((group, "the cgroup's memory limit"))
    available = _meminfo_mb(Path(meminfo))
    if available is not None:
        node.append((available, "MemAvailable"))
    if not node:
        return MemoryLimit(None, f"set --max-memory or {ENV_MAX_MEMORY}")
    mb, source = min(node)
    if n > 1:
        source = f"{source} / {n} ranks"
    return MemoryLimit(mb / n, source)


# --------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class Estimate:
    """Peak memory of the busiest rank of a run, by part (bytes), and what the run is."""

    engine: str                 # 'quantum', 'classical', 'noise'
    grid: str                   # e.g. 'N1 x N2 = 1023 x 31, light_exact'
    parts: dict                 # name -> bytes
    counts: dict                # name -> an integer count that must stay below 2**62
    advice: str                 # what to lower

    @property
    def mb(self) -> float:
        return sum(self.parts.values()) / MB

    def largest(self) -> str:
        """The largest part, in words, with its size."""
        name = max(self.parts, key=self.parts.get)
        return f"{PARTS.get(name, name)} ~{mb_text(self.parts[name] / MB)} MB"


PARTS = {
    "state": "state and work arrays",
    "blocks": "particle-2 blocks",
    "gram": "the purity's Gram matrix",
    "series": "series of n_kicks + 1 values",
    "snapshots": "snapshots",
    "ensemble": "initial ensemble (drawn whole on every rank)",
    "gathered": "every realisation's series on rank 0",
    "base": "interpreter and libraries",
}


def _ranks(lay) -> tuple[int, int]:
    if lay is None:
        return 1, 1
    return int(lay.size), int(lay.local_size)


def quantum_estimate(config: RunConfig, ranks: int = 1) -> Estimate:
    from .quantum.cost import estimate_cost

    cost = estimate_cost(config)
    r = cost.numerics
    parts = cost.memory_parts(ranks)
    return Estimate("quantum", f"N1 x N2 = {r.N1} x {r.N2}, {r.scheme}, {config.quantum.n_kicks} kicks",
                    parts, {"N1": r.N1, "N2": r.N2, "substeps": r.substeps},
                    "lower the grid or n_kicks, use more ranks")


def classical_estimate(config: RunConfig, ranks: int = 1) -> Estimate:
    from .classical.ensemble import steps_per_kick

    nu = config.classical
    n = nu.n_trajectories
    local = -(-n // max(ranks, 1))
    try:
        steps = steps_per_kick(config.physics, nu)
    except (OverflowError, ZeroDivisionError, ValueError):  # a step that underflows to 0
        steps = INT_LIMIT
    parts = {
        "ensemble": float(n) * CLASSICAL_GLOBAL_PER_TRAJ,
        "state": float(local) * CLASSICAL_LOCAL_PER_TRAJ,
        "snapshots": float(len(set(nu.snapshot_times))) * n * CLASSICAL_SNAPSHOT_PER_TRAJ,
        "series": (float(nu.n_kicks) + 1.0) * CLASSICAL_PER_KICK,
        "base": _base_bytes(),
    }
    return Estimate("classical", f"{n} trajectories, {nu.n_kicks} kicks", parts,
                    {"steps_per_kick": steps}, "lower n_trajectories or n_kicks")


def noise_estimate(config: RunConfig, ranks: int = 1, N: int | None = None) -> Estimate:
    if N is None:
        from .quantum.noise import grid_size

        N = grid_size(config)
    nz = config.noise
    local = -(-nz.realisations // max(ranks, 1))
    kicks = float(nz.n_kicks) + 1.0
    parts = {
        "state": float(local) * N * NOISE_PER_MODE,
        "series": float(local) * kicks * NOISE_PER_KICK + kicks * NOISE_SERIES_PER_KICK,
        "gathered": float(nz.realisations) * kicks * NOISE_ROOT_PER_KICK,
        "snapshots": float(len(set(nz.snapshot_times))) * (local + 1) * N * NOISE_SNAPSHOT_PER_MODE,
        "base": _base_bytes(),
    }
    return Estimate("noise", f"N = {N}, {nz.realisations} realisations, {nz.n_kicks} kicks", parts,
                    {"N": N}, "lower N, realisations or n_kicks")


def _base_bytes() -> float:
    from .quantum.cost import BASE_MB

    return BASE_MB * MB


# --------------------------------------------------------------------------- the check
def _agreed_limit(limit: MemoryLimit, lay) -> MemoryLimit:
    """The smallest limit over all ranks (every rank must decide alike)."""
    if lay is None or lay.size == 1:
        return limit
    everyone = lay.comm.allgather((math.inf if limit.mb is None else limit.mb, limit.source))
    mb, source = min(everyone)
    return MemoryLimit(None if math.isinf(mb) else mb, source)


def problem(estimate: Estimate, limit: MemoryLimit) -> str | None:
    """Why ``estimate`` cannot run within ``limit`` (a count beyond 2**62, or too much memory),
    or None when it fits (or no limit is known)."""
    for name, count in estimate.counts.items():
        if count >= INT_LIMIT:
            return (f"the {estimate.engine} run would need {name} >= 2**62 ({estimate.grid}); "
                    f"its parameters are beyond any machine")
    if limit.mb is not None and estimate.mb > limit.mb:
        return (f"needs ~{mb_text(estimate.mb)} MB per rank ({estimate.grid}; largest: {estimate.largest()}) "
                f"but may use {mb_text(limit.mb)} MB ({limit.source}); {estimate.advice}, or raise --max-memory")
    return None


def check(estimate: Estimate, label: str, limit: MemoryLimit) -> None:
    """Raise ResourceError naming the cell when ``estimate`` cannot run within ``limit``."""
    found = problem(estimate, limit)
    if found:
        raise ResourceError(f"cell {label}: {found}")


def check_quantum(config: RunConfig, label: str = "quantum", lay=None) -> None:
    """The quantum engine's check, before anything is allocated (collective when ``lay`` has
    more than one rank)."""
    ranks, local = _ranks(lay)
    estimate = quantum_estimate(config, ranks)
    check(estimate, label, _agreed_limit(memory_limit(local), lay))


def check_classical(config: RunConfig, label: str = "classical", lay=None) -> None:
    ranks, local = _ranks(lay)
    estimate = classical_estimate(config, ranks)
    check(estimate, label, _agreed_limit(memory_limit(local), lay))


def check_noise(config: RunConfig, label: str = "noise", lay=None, N: int | None = None) -> None:
    ranks, local = _ranks(lay)
    estimate = noise_estimate(config, ranks, N)
    check(estimate, label, _agreed_limit(memory_limit(local), lay))


# --------------------------------------------------------------------------- command line
def _mb_argument(text: str) -> float:
    import argparse

    mb = _positive_mb(text)
    if mb is None:
        raise argparse.ArgumentTypeError(f"must be a positive number of MB, got {text[:60]!r}")
    return mb


def add_max_memory_option(parser) -> None:
    """``--max-memory MB`` on an argparse parser: sets this process's limit when parsed."""
    import argparse

    class _SetLimit(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, values)
            set_max_memory(values, option_string or "--max-memory")

    parser.add_argument("--max-memory", type=_mb_argument, action=_SetLimit, metavar="MB",
                        help=f"memory one rank may use (default: {ENV_MAX_MEMORY}, else the Slurm "
                             "allocation, else MemAvailable, shared among the node's ranks); a run "
                             "estimated to need more is refused before it starts")
