"""Helper of benchmarks/quantum_bench.py: time light_exact kicks on MPI slabs.

Launched by the benchmark as::

    mpiexec -n P python benchmarks/_quantum_bench_mpi.py --N1 1023 --N2 31 --hbar 0.05 \
        --substeps 40 --kicks 5

Every rank builds :class:`kickedpair.quantum.slab.SlabTransforms` with ``workers=1``
(one thread per rank), evolves its slab of the product ground state for ``--warmup``
untimed kicks (numba kernel load, FFT plans), then times ``--kicks`` kicks, one barrier
before and after each kick; a kick's time (wall, and CPU time of the kick's own work
before the closing barrier) is the slowest rank's.  Rank 0 prints one JSON
line with the per-kick times and ``<p1^2>`` and purity after the last kick (identical for
any number of ranks up to rounding, which the benchmark checks).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

PHYSICS = {"mass2": 1.0e-3, "K1": 1.8, "K2": 0.0, "strength": 2.0, "a": 10.0, "L": math.pi}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N1", type=int, required=True)
    ap.add_argument("--N2", type=int, required=True)
    ap.add_argument("--hbar", type=float, required=True)
    ap.add_argument("--substeps", type=int, required=True)
    ap.add_argument("--kicks", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args(argv)

    import numpy as np
    from mpi4py import MPI

    from kickedpair.quantum.observables import two_particle_observables
    from kickedpair.quantum.slab import SlabTransforms
    from kickedpair.quantum.two_particle import TwoParticleSystem, initial_state, make_propagator

    comm = MPI.COMM_WORLD
    sys_ = TwoParticleSystem(N1=args.N1, N2=args.N2, hbar=args.hbar, **PHYSICS)
    tr = SlabTransforms(args.N1, args.N2, comm=comm, workers=1)
    t0 = time.perf_counter()
    prop = make_propagator(sys_, tr, "light_exact", args.substeps)
    setup = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    c = initial_state(tr)
    for _ in range(args.warmup):
        c = prop.period(c)
    times, cpu = [], []
    for _ in range(args.kicks):
        comm.Barrier()
        t0, p0 = time.perf_counter(), time.process_time()
        c = prop.period(c)
        p1 = time.process_time() - p0
        comm.Barrier()
        times.append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
        cpu.append(comm.allreduce(p1, op=MPI.MAX))
    obs = two_particle_observables(c, sys_.p1(), sys_.p2(), sys_.mass1, sys_.mass2,
                                   row_start=tr.row_start, reduce=tr.allreduce)
    rows = comm.gather(tr.row_stop - tr.row_start, root=0)
    if comm.rank == 0:
        print(json.dumps({
            "ranks": comm.size, "N1": args.N1, "N2": args.N2, "hbar": args.hbar,
            "substeps": args.substeps, "warmup_kicks": args.warmup, "rows_per_rank": rows,
            "setup_s": setup, "s_per_kick_all": times,
            "s_per_kick_median": float(np.median(times)), "s_per_kick_min": float(min(times)),
            "cpu_s_per_kick_all": cpu, "cpu_s_per_kick_median": float(np.median(cpu)),
            "t": args.warmup + args.kicks, "p1sq": obs["p1sq"], "purity": obs["purity"],
            "norm": obs["norm"], "omp_threads": os.environ.get("OMP_NUM_THREADS"),
        }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
