"""Import first, before numpy: one thread in every BLAS/OpenMP pool, as ``kickedpair`` itself
sets (:func:`kickedpair.cli.main`).

The benchmarks are single-threaded by design (one scipy.fft worker, the serial numba block
kernel).  A threaded BLAS (the purity's Gram product) would leave threads spinning after each
call: on 2 cores they steal the core the timed work needs and count in the process CPU time.
A value already set in the environment is kept.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
