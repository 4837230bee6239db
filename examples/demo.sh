#!/usr/bin/env bash
# The demo: the classical diffusion coefficient Dc of the heavy particle for
# several masses m of the light one, each cell an MPI job on 2 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/demo
mkdir -p "$out"
ranks=${KICKEDPAIR_RANKS:-2}
for m in 0 1 0.1 0.01 0.001; do
  if [ "$m" = 0 ]; then
    name=eps0; extra=(--set physics.eps=0)
  else
    name=m$m; extra=(--set physics.mass_ratio=$m)
  fi
  mpiexec -n "$ranks" kickedpair classical --config examples/classical.yaml \
    --set classical.n_trajectories=2000 --set classical.n_kicks=200 "${extra[@]}" \
    --out "$out/classical_$name.h5" --threads 1
done
echo "demo results in $out/"
