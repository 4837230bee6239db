"""Run under mpiexec: slab propagators against the serial ones (exit status 0 = agree).

Usage: python -m mpi4py slab_check.py N1 N2
"""

import sys

import numpy as np
from mpi4py import MPI

from kickedpair.quantum import two_particle as tp
from kickedpair.quantum.observables import two_particle_observables
from kickedpair.quantum.slab import SlabTransforms, gather_state, scatter_state

comm = MPI.COMM_WORLD
N1, N2 = int(sys.argv[1]), int(sys.argv[2])
sys_ = tp.TwoParticleSystem(N1=N1, N2=N2, hbar=0.2, mass2=0.05, K1=1.8, K2=0.3, strength=2.0, a=10.0)
free_sys = tp.TwoParticleSystem(N1=N1, N2=N2, hbar=0.2, mass2=0.05, K1=1.8, K2=0.3, strength=0.0, a=10.0)
slab = SlabTransforms(N1, N2, comm)
serial = tp.SerialTransforms(N1, N2)
worst = 0.0
# transposes are inverse to each other
rng = np.random.default_rng(1)
full = rng.standard_normal((N1, N2)) + 1j * rng.standard_normal((N1, N2))
loc = scatter_state(slab, full)
cols = slab.to_columns(loc)
worst = max(worst, np.abs(cols - full[:, slab.col_start : slab.col_stop]).max(initial=0.0))
worst = max(worst, np.abs(slab.to_rows(cols) - loc).max(initial=0.0))
for scheme, S, s in [("strang", 4, sys_), ("light_exact", 3, sys_), ("free", None, free_sys)]:
    prop_p = tp.make_propagator(s, slab, scheme, S)
    prop_s = tp.make_propagator(s, serial, scheme, S)
    c_p = tp.initial_state(slab)
    c_s = tp.initial_state(serial)
    for t in range(1, 4):
        c_p = prop_p.period(c_p)
        c_s = prop_s.period(c_s)
        o_p = two_particle_observables(c_p, s.p1(), s.p2(), mass2=s.mass2, row_start=slab.row_start, reduce=slab.allreduce)
        o_s = two_particle_observables(c_s, s.p1(), s.p2(), mass2=s.mass2)
        for key in ("norm", "p1sq", "p2sq", "purity", "tail1", "tail2"):
            worst = max(worst, abs(o_p[key] - o_s[key]))
        worst = max(worst, np.abs(o_p["P1_local"] - o_s["P1_local"][slab.row_start : slab.row_stop]).max(initial=0.0))
    whole = gather_state(slab, c_p)
    if comm.rank == 0:
        worst = max(worst, np.abs(whole - c_s).max())
worst = comm.allreduce(worst, op=MPI.MAX)
if comm.rank == 0:
    print(f"ranks={comm.size} N1={N1} N2={N2} max deviation from serial: {worst:.3e}")
sys.exit(0 if worst < 1e-12 else 1)
