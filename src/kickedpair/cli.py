"""Command line: ``kickedpair classical|quantum|noise --config FILE --out FILE.h5 [--set KEY=VALUE ...]``.

Runs under ``mpiexec -n N`` as well as alone.  A user mistake (bad config,
missing file) ends with one line on stderr and exit status 2; a tripped
numerical guard with its message and exit status 3; SIGINT / SIGTERM with
130 / 143 after the kick in progress (a quantum run checkpoints first); an
I/O failure with 1.  Under MPI every rank ends, within seconds, whichever
rank failed (:mod:`kickedpair.stopping`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from . import limits, stopping
from .errors import ConfigError
from .params import apply_overrides, load_yaml, parse_config
from .progress import MODES as PROGRESS_MODES

EXIT_USAGE = stopping.EXIT_USAGE
EXIT_GUARD = stopping.EXIT_GUARD


class UserError(ConfigError):
    """A mistake the user can fix (a file, an option); printed like a config mistake, exit 2."""


#: a run config is a few hundred bytes; anything this large is not one (and /dev/zero never ends)
CONFIG_MAX_BYTES = 16 * 2**20
_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}


def _load_config(path: str | None, overrides: list[str]):
    """The validated config of ``--config FILE`` and ``--set`` overrides; every fault of the
    file (unreadable, binary, not YAML, a key given twice, not a mapping) is one UserError line."""
    from collections.abc import Mapping

    from .params import short_repr, yaml_error_text

    mapping = {}
    if path:
        try:
            with open(path, "rb") as f:
                data = f.read(CONFIG_MAX_BYTES + 1)
        except OSError as exc:
            raise UserError(f"cannot read config {path}: {exc.strerror or exc}") from None
        if len(data) > CONFIG_MAX_BYTES:
            raise UserError(f"config {path} is larger than {CONFIG_MAX_BYTES // 2**20} MB: not a run config")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"config {path} is not a text file: byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start} is not UTF-8") from None
        if "\x00" in text:
            raise UserError(f"config {path} is not a text file: NUL byte at offset {text.index(chr(0))}")
        try:
            mapping = load_yaml(text)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:
            raise UserError(f"config {path} is not valid YAML: {yaml_error_text(exc)}") from None
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, Mapping):
            raise UserError(f"config {path}: the top level must be a mapping of sections (physics, classical, "
                            f"quantum, noise), got {_KINDS.get(type(mapping), 'a value')}: {short_repr(mapping, 60)}")
    return parse_config(apply_overrides(mapping, overrides))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", metavar="FILE", help="YAML run config (sections: physics, classical, quantum, noise)")
    p.add_argument("--set", "-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set physics.mass_ratio=1e-2 (repeatable)")


def _run_options(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--out", "-o", required=True, metavar="FILE.h5", help="result file (written atomically)")
    p.add_argument("--label", help="cell name used in messages and the file (default: the output's stem)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="compiled-kernel/FFT threads per rank (default: cores shared out among the node's ranks)")
    p.add_argument("--progress", choices=PROGRESS_MODES, default="auto",
                   help="auto: a bar on a terminal; log: periodic lines for batch logs")
    limits.add_max_memory_option(p)


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="kickedpair", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kickedpair {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("classical", help="run the classical ensemble; writes an HDF5 result")
    _run_options(c)

    q = sub.add_parser("quantum", help="run the two-particle quantum evolution; writes an HDF5 result")
    _run_options(q)
    q.add_argument("--checkpoint", metavar="FILE.h5",
                   help="checkpoint file, written every quantum.checkpoint_every kicks "
                        "(default: beside --out, named <out>.ckpt.h5)")
    q.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint if one is there (else start afresh)")
    q.add_argument("--keep-checkpoint", action="store_true",
                   help="keep the checkpoint after the run has finished (to extend n_kicks later)")
    q.add_argument("--check-convergence", action="store_true",
                   help="instead of the run: rerun the first quantum.convergence_kicks kicks, and with "
                        "--checkpoint (the run's final one) as many kicks on from its end, at twice the "
                        "substeps and on doubled grids; report the changes and a verdict")

    n = sub.add_parser("noise", help="run the one-particle random-kick model; writes an HDF5 result")
    _run_options(n)
    n.add_argument("--check-convergence", action="store_true",
                   help="instead of the run: rerun noise.convergence_kicks kicks at double the grid "
                        "and report the relative change of <p^2>")

    e = sub.add_parser("estimate", help="print the grid, memory and time a quantum run (or every cell "
                                        "of a sweep preset) will need")
    _common(e)
    e.add_argument("--ranks", type=int, default=None,
                   help="MPI ranks to divide memory and time among (default 1; a sweep: the preset's "
                        "resources.quantum.ranks)")
    e.add_argument("--sweep", metavar="PRESET",
                   help="every quantum cell of this preset of the workflow config (--config, default "
                        "config.yaml): scheme, grid, substeps, memory, core-hours, and the total")
    e.add_argument("--node-mem-gb", type=float, default=None,
                   help="memory of one node, for --sweep (default: the config's node_mem_mb, else 256)")
    limits.add_max_memory_option(e)

    sub.add_parser("status", help="summarise a sweep folder: cells done, running, failed (with the "
                                  "guard message), missing; see 'kickedpair status --help'")

    s = sub.add_parser("show-config", help="print the validated config (defaults filled in) as YAML")
    _common(s)
    return parser


def _prepare(args, checkpoint: Path | None = None):
    """Config, MPI layout and writable output (and checkpoint) paths, checked before any work starts."""
    from . import parallel  # MPI first: every later error knows its rank

    lay = parallel.layout()
    config = _load_config(args.config, args.overrides)
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads: must be >= 1, got {args.threads}")
    out = Path(args.out)
    problem = None
    if lay.is_root:
        problem = _check_writable(out, "--out")
        if problem is None and checkpoint is not None:
            problem = _check_writable(checkpoint, "--checkpoint")
    problem = lay.comm.bcast(problem, root=0)
    if problem:
        raise UserError(problem)
    return config, out, args.label or out.stem, lay


def _cmd_classical(args) -> int:
    from .classical.ensemble import run_classical
    from .classical.output import write_classical

    config, out, label, lay = _prepare(args)
    run = run_classical(config, label=label, progress=args.progress, lay=lay, n_threads=args.threads)
    if lay.is_root:
        write_classical(out, run)
        est = run.estimates
        print(f"[{label}] Dc = {est['D']:.5g} +- {est['D_err']:.2g}   "
              f"slope[{est['fit_window_lo']:g},{est['fit_window_hi']:g}] = "
              f"{est['slope_fit']:.5g}   slope_full = {est['slope_full']:.5g}   "
              f"slope_late = {est['slope_late']:.5g}")
        print(f"[{label}] {config.classical.n_trajectories} trajectories, {config.classical.n_kicks} kicks, "
              f"{run.steps_per_kick} steps/kick ({config.classical.scheme}), "
              f"max energy drift {run.energy_drift_max.max():.2e}, {run.n_ranks} rank(s) x "
              f"{run.n_threads} thread(s), {run.wall_time_s:.1f} s -> {out}")
    return 0


def _write_convergence(report, out, config, lay) -> int:
    """``--check-convergence`` of quantum and noise: the report file and its summary, on rank 0."""
    from .quantum.convergence import write_report

    if lay.is_root:
        write_report(out, report, config)
        print(report.text())
    return 0


def _cmd_quantum(args) -> int:
    from . import checkpoint
    from .quantum.evolution import run_quantum
    from .quantum.output import write_quantum

    ckpt = Path(args.checkpoint) if args.checkpoint else Path(args.out).with_name(Path(args.out).name + ".ckpt.h5")
    config, out, label, lay = _prepare(args, checkpoint=None if args.check_convergence else ckpt)
    if args.check_convergence:
        from .quantum.convergence import check_convergence

        report = check_convergence(config, label=label, lay=lay, n_threads=args.threads,
                                   checkpoint_path=Path(args.checkpoint) if args.checkpoint else None)
        return _write_convergence(report, out, config, lay)
    with checkpoint.Lock(ckpt, lay.comm):  # a second run on the same checkpoint is refused
        run = run_quantum(config, label=label, progress=args.progress, lay=lay, n_threads=args.threads,
                          checkpoint_path=ckpt, resume=args.resume)
        if lay.is_root:
            write_quantum(out, run)
        if not args.keep_checkpoint:
            checkpoint.remove(ckpt, lay.comm)
    if lay.is_root:
        est, s, res = run.estimates, run.series, run.resolution  # res: the substeps the pilot accepted
        print(f"[{label}] Dq = {est['D']:.5g} +- {est['D_err']:.2g}   "
              f"slope[{est['fit_window_lo']:g},{est['fit_window_hi']:g}] = "
              f"{est['slope_fit']:.5g}   <p1^2>(t_f) = {s['p1_sq'][-1]:.5g}   purity(t_f) = {s['purity'][-1]:.5g}")
        print(f"[{label}] N1 x N2 = {res.N1} x {res.N2}, {res.scheme}, {res.substeps} substeps, "
              f"{config.quantum.n_kicks} kicks, {run.seconds_per_kick:.3g} s/kick, {run.n_ranks} rank(s) x "
              f"{run.n_threads} thread(s), {run.wall_time_s:.1f} s -> {out}")
        if run.self_check is not None:
            print(f"[{label}] {run.self_check.text()}")
    return 0


def _cmd_noise(args) -> int:
    from .quantum.noise import run_noise
    from .quantum.noise_output import write_noise

    config, out, label, lay = _prepare(args)
    if args.check_convergence:
        from .quantum.noise import check_noise_convergence

        return _write_convergence(check_noise_convergence(config, label=label, lay=lay, n_threads=args.threads),
                                  out, config, lay)
    run = run_noise(config, label=label, progress=args.progress, lay=lay, n_threads=args.threads)
    if lay.is_root:
        write_noise(out, run)
        est = run.estimates
        print(f"[{label}] D = {est['D']:.5g} +- {est['D_err']:.2g} over {config.noise.realisations} "
              f"realisations (W = {config.noise.W:g})   <p^2>(t_f) = {run.p_sq[-1]:.5g}")
        print(f"[{label}] N = {run.N}, {config.noise.n_kicks} kicks, {run.n_ranks} rank(s), "
              f"{run.wall_time_s:.1f} s -> {out}")
    return 0


def _check_writable(path: Path, option: str) -> str | None:
    """Why a file cannot be written at ``path`` (its folder made if missing), or None."""
    from .io import temporary_name

    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{option}: {path} is a folder, not a file"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = temporary_name(path)
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        return f"{option}: cannot write in folder {parent}: {stopping.describe_os_error(exc)}"
    return None


def _write_stdout(text: str) -> int:
    """Print ``text``; a reader that has gone (``| head -1``) ends the command quietly, status 0.

    As the Python docs advise (signal, "Note on SIGPIPE"): stdout is pointed at devnull so that
    the flush at exit does not fail a second time.
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


def _cmd_estimate(args) -> int:
    from .quantum.cost import estimate_cost

    if args.ranks is not None and args.ranks < 1:
        raise UserError(f"--ranks: must be >= 1, got {args.ranks}")
    if args.sweep is not None:
        return _write_stdout(_sweep_estimate(args))
    args.ranks = args.ranks or 1
    config = _load_config(args.config, args.overrides)
    limit = limits.memory_limit(args.ranks)  # as if all ranks ran on this node
    found = limits.problem(limits.quantum_estimate(config, args.ranks), limit)
    verdict = f"does NOT fit: {found}" if found else ("fits" if limit.mb is not None else "not checked")
    return _write_stdout(f"{estimate_cost(config).text(args.ranks)}\nlimit: {limit.text()}: {verdict}\n")


def _sweep_estimate(args) -> str:
    """The table of ``kickedpair estimate --sweep PRESET``: one line per quantum cell, then the total."""
    from collections.abc import Mapping

    from .params import yaml_error_text
    from .quantum.cost import estimate_cost
    from .sweep.plan import build_plan

    path = Path(args.config or "config.yaml")
    try:
        mapping = load_yaml(path.read_text())
    except OSError as exc:
        raise UserError(f"--config: cannot read {path}: {stopping.describe_os_error(exc)}") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise UserError(f"config {path} is not valid YAML: {yaml_error_text(exc)}") from None
    if not isinstance(mapping, Mapping):
        raise UserError(f"config {path}: the top level must be a mapping")
    plan = build_plan(apply_overrides({**mapping, "preset": args.sweep}, args.overrides), validate=False)
    ranks = args.ranks or int(plan.rule_resources("quantum").get("ranks", 1))
    node_gb = args.node_mem_gb or (plan.node_mem_mb / 1024 if plan.node_mem_mb else 256.0)
    lines = [f"preset {plan.preset}: {len(plan.cells)} quantum cells, {plan.n_kicks} kicks, {ranks} ranks "
             f"per cell on one node of {node_gb:g} GB",
             f"{'m':>9} {'hbar':>9} {'scheme':>11} {'ord':>3} {'N1 x N2':>13} {'substeps':>8} "
             f"{'GB/node':>9} {'core-h':>10}  fits"]
    total, over, biggest = 0.0, [], None
    for cell in plan.cells:
        cost = estimate_cost(parse_config(plan.quantum_config(cell.m, cell.hbar)))
        r = cost.numerics
        gb = cost.memory_mb_per_rank(ranks) * ranks / 1024
        fits = "yes" if gb <= node_gb else "NO: above the node"
        if gb > node_gb:
            over.append(cell.name)
        total += cost.core_hours
        biggest = max(biggest or (0.0, ""), (cost.core_hours, cell.name))
        lines.append(f"{float(cell.m):>9.4g} {float(cell.hbar):>9.4g} {r.scheme:>11} {r.order:>3} "
                     f"{f'{r.N1} x {r.N2}':>13} {r.substeps:>8} {gb:>9.3g} {cost.core_hours:>10.3g}  {fits}")
    lines.append(f"total: {total:.4g} core-hours ({total / 64:.3g} h on 64 cores); largest cell "
                 f"{biggest[1]} with {biggest[0]:.3g} core-hours")
    lines.append(f"cells above a {node_gb:g} GB node: {len(over)}" + (f" ({', '.join(over)})" if over else ""))
    if plan.adaptive:
        lines += _adaptive_estimate(plan, total)
    return "\n".join(lines) + "\n"


def _adaptive_estimate(plan, first_round: float) -> list[str]:
    """An adaptive preset: the expected and the largest cost of its later rounds, and the rectangular
    grid as fine as its target.

    Expected: both thresholds of every mass ratio inside the first round's range, each bracket
    halved (geometrically) until it is rel_width wide: ``k = ceil(log2(ln r0 / ln(1 + rel_width)))``
    cells a threshold for the first round's widest spacing ``r0``, the cells anywhere in
    ``[hbar_min, hbar_max]`` (their cost that of the fine grid's mean cell).  Largest: every cell
    allowed, each at the cost of the cell at hbar_min."""
    import math

    import numpy as np

    from .quantum.cost import estimate_cost
    from .sweep.plan import fmt

    a = plan.adaptive

    def core_hours(m: str, hbar: float) -> float:
        return estimate_cost(parse_config(plan.quantum_config(m, fmt(hbar)))).core_hours

    more = max(0, a["max_cells"] - len(plan.hbar))
    worst = {m: core_hours(m, a["hbar_min"]) for m in plan.mass_ratio}  # a cell costs most at hbar_min
    bound = first_round + more * sum(worst.values())
    n = math.ceil(math.log(a["hbar_max"] / a["hbar_min"]) / math.log(1.0 + a["rel_width"])) + 1
    fine = np.geomspace(a["hbar_min"], a["hbar_max"], n)
    fine_cost = {m: [core_hours(m, h) for h in fine] for m in plan.mass_ratio}
    rectangular = sum(sum(c) for c in fine_cost.values())
    grid = sorted(float(h) for h in plan.hbar)
    r0 = max((hi / lo for lo, hi in zip(grid, grid[1:])), default=1.0 + a["rel_width"])
    halvings = max(0, math.ceil(math.log2(math.log(r0) / math.log(1.0 + a["rel_width"]))))
    per_mass = min(2 * halvings, more)
    expected = first_round + per_mass * sum(float(np.mean(c)) for c in fine_cost.values())
    cells0 = len(plan.cells)
    return [f"adaptive: the table is round 0; each later round adds cells within [{a['hbar_min']:g}, "
            f"{a['hbar_max']:g}], at most {more} more per mass ratio ({a['max_cells']} per mass ratio in all)",
            f"adaptive, expected: {cells0 + per_mass * len(plan.mass_ratio)} cells ({halvings} halvings of the "
            f"widest first-round spacing, x{r0:.3g}, per threshold, 2 thresholds per mass ratio), "
            f"{expected:.4g} core-hours ({expected / 64:.3g} h on 64 cores)",
            f"adaptive, at most: {cells0 + more * len(plan.mass_ratio)} cells, each costing at most its cell at "
            f"hbar = {a['hbar_min']:g}: {bound:.4g} core-hours ({bound / 64:.3g} h on 64 cores); "
            f"at least round 0's {first_round:.4g}",
            f"a rectangular grid as fine ({n} hbar values, {a['rel_width']:g} apart relatively, x "
            f"{len(plan.mass_ratio)} mass ratios = {n * len(plan.mass_ratio)} cells): {rectangular:.4g} core-hours "
            f"({rectangular / 64:.3g} h on 64 cores)"]


def _cmd_show_config(args) -> int:
    config = _load_config(args.config, args.overrides)
    return _write_stdout(yaml.safe_dump(config.as_dict(), sort_keys=False))


def main(argv: list[str] | None = None) -> int:
    # The engines parallelise through MPI ranks and --threads; BLAS (the purity's small Gram
    # product, the dot products of the observables) must not start a thread pool of its own on
    # top, whatever the caller's environment says: Snakemake sets OPENBLAS_NUM_THREADS and
    # OMP_NUM_THREADS to a job's thread count, and a threaded BLAS splits its sums differently,
    # so the results would change in their last digits with the launcher.  Set before numpy loads.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["status"]:  # the sweep summary has its own options
        from .sweep.status import main as status_main

        return status_main(argv[1:])
    args = _parser().parse_args(argv)
    handler = {"classical": _cmd_classical, "quantum": _cmd_quantum, "noise": _cmd_noise,
               "estimate": _cmd_estimate, "show-config": _cmd_show_config}[args.command]
    if args.command in ("classical", "quantum", "noise"):
        stopping.install_signal_handlers()
    try:
        return handler(args)
    except Exception as exc:  # every way out under MPI ends every rank: see kickedpair.stopping
        return stopping.exit_status(exc, f"kickedpair {args.command}")
    except KeyboardInterrupt as exc:
        return stopping.exit_status(exc, f"kickedpair {args.command}")


if __name__ == "__main__":
    sys.exit(main())
