#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on this machine, to try the cluster path of the sweep
# (cluster/slurm-single-node) on a real Slurm: slurmctld + slurmd on 127.0.0.1, no accounting, no cgroups.
#
#   sudo cluster/slurm-single-node/start.sh          # idempotent; prints the SLURM_CONF to export
#   export SLURM_CONF=/tmp/kickedpair-slurm/slurm.conf
#   PATH=$PWD/.venv/bin:$PATH snakemake --profile cluster/slurm-single-node --config preset=demo
#   sudo cluster/slurm-single-node/stop.sh           # stops only what start.sh started
#
# Needs root (it installs Debian's slurm-wlm and munge with apt-get when they are missing and
# runs the daemons as root). State, logs and pid files go to $KICKEDPAIR_SLURM_DIR
# (default /tmp/kickedpair-slurm). Other knobs: KICKEDPAIR_SLURM_PARTITION (default `local`),
# KICKEDPAIR_SLURMCTLD_PORT / KICKEDPAIR_SLURMD_PORT (default 6817 / 6818),
# KICKEDPAIR_SLURM_TIMEOUT (seconds to wait for the node to be idle, default 60).
#
# Choices, and why: proctrack/linuxproc + task/affinity need no cgroup set-up (containers,
# VMs without systemd); MpiDefault=pmi2 because the MPICH wheel from PyPI talks PMI-2 under
# `srun --mpi=pmi2` (PMIx does not work with it); no accounting (no slurmdbd), so status is
# read from squeue, and MinJobAge=300 keeps finished jobs visible to squeue for 5 minutes,
# well above 3x the profile's status interval.
set -euo pipefail

STATE=${KICKEDPAIR_SLURM_DIR:-/tmp/kickedpair-slurm}
PARTITION=${KICKEDPAIR_SLURM_PARTITION:-local}
CTLD_PORT=${KICKEDPAIR_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${KICKEDPAIR_SLURMD_PORT:-6818}
TIMEOUT=${KICKEDPAIR_SLURM_TIMEOUT:-60}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

say() { echo "local-slurm: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, starts slurmctld/slurmd/munged)"
[ "$(uname -s)" = Linux ] || die "Linux only"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
  command -v apt-get >/dev/null || die "slurm-wlm/munge are missing and apt-get is not available"
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p "$STATE"/{state,spool,log}
chmod 755 "$STATE"

# ---------------------------------------------------------------- munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge 2>/dev/null || true
  chmod 755 /run/munge
  say "starting munged"
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- munged
  else
    munged --force
  fi
  for _ in $(seq 50); do
    [ -s /run/munge/munged.pid ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
  cp /run/munge/munged.pid "$STATE/munged.pid"   # ours: stop.sh ends it
fi

# ---------------------------------------------------------------- slurm.conf
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_TOTAL=$(free -m | awk '/^Mem:/ {print $2}')
REAL_MEM=$(( MEM_TOTAL * 9 / 10 ))
cat > "$CONF.new" <<EOF
# Written by cluster/slurm-single-node/start.sh: a single-node Slurm for tests. Do not edit.
ClusterName=kickedpair
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=pmi2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SwitchType=switch/none
ReturnToService=2
MinJobAge=300
SlurmdParameters=config_overrides
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# Nested `srun` inside a job does not see SLURM_CONF: the slurm-jobstep executor of Snakemake
# drops every inherited SLURM_* variable before running a rule's shell. Slurm's commands fall
# back to /etc/slurm/slurm.conf, then to /run/slurm/conf/slurm.conf (where slurmd keeps its
# config in configless mode): point the latter at this folder. A system slurm.conf would win
# over it, so refuse to run beside one.
SYS_CONF=/etc/slurm/slurm.conf
RUN_CONF=/run/slurm/conf
if [ -e "$SYS_CONF" ]; then
  die "$SYS_CONF exists (a Slurm is configured here): jobs would read it instead of $CONF; use that cluster with cluster/slurm"
fi
if [ -L "$RUN_CONF" ]; then
  [ "$(readlink "$RUN_CONF")" = "$STATE" ] || die "$RUN_CONF points to $(readlink "$RUN_CONF"), not $STATE: another local Slurm is up"
elif [ -e "$RUN_CONF" ]; then
  die "$RUN_CONF exists (a configless slurmd runs here?): refusing to replace it"
else
  mkdir -p "$(dirname "$RUN_CONF")"
  ln -s "$STATE" "$RUN_CONF"
fi

running=0
alive "$STATE/slurmctld.pid" && running=$((running + 1))
alive "$STATE/slurmd.pid" && running=$((running + 1))
if [ -f "$CONF" ] && cmp -s "$CONF" "$CONF.new" && [ "$running" -eq 2 ]; then
  rm -f "$CONF.new"
  say "already running (SLURM_CONF=$CONF)"
else
  if [ "$running" -gt 0 ]; then
    say "restarting with the new configuration"
    "$(dirname "$0")/stop.sh" --slurm-only
  fi
  mv "$CONF.new" "$CONF"
  # -i: start even when the state saved by an earlier run in this folder cannot be read
  say "starting slurmctld and slurmd"
  slurmctld -f "$CONF" -i || die "slurmctld did not start: $(tail -5 "$STATE/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start: $(tail -5 "$STATE/log/slurmd.log" 2>/dev/null)"
fi

# ---------------------------------------------------------------- wait for an idle node
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
  state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*|fail*)
      scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "node $NODE is '${state:-unknown}' after ${TIMEOUT}s"
    for f in "$STATE"/log/slurmctld.log "$STATE"/log/slurmd.log; do
      echo "--- $f" >&2; tail -20 "$f" >&2 || true
    done
    die "the local cluster did not come up"
  fi
  sleep 0.5
done
say "node $NODE is $state: partition $PARTITION, $CPUS CPUs, ${REAL_MEM} MB"
echo "export SLURM_CONF=$CONF"
