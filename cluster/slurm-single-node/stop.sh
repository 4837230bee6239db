#!/usr/bin/env bash
# Stops the single-node Slurm of cluster/slurm-single-node/start.sh: slurmd and slurmctld by the pid
# files in $KICKEDPAIR_SLURM_DIR (default /tmp/kickedpair-slurm), and munged only when
# start.sh started it (it then left a copy of munged's pid file there). Idempotent.
#
#   cluster/slurm-single-node/stop.sh                # daemons off, state folder kept (logs)
#   cluster/slurm-single-node/stop.sh --purge        # ... and the state folder removed
#   cluster/slurm-single-node/stop.sh --slurm-only   # only slurmd and slurmctld (used by start.sh)
set -uo pipefail

STATE=${KICKEDPAIR_SLURM_DIR:-/tmp/kickedpair-slurm}
PURGE=0
SLURM_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    --slurm-only) SLURM_ONLY=1 ;;
    *) echo "usage: $0 [--purge] [--slurm-only]" >&2; exit 2 ;;
  esac
done

say() { echo "local-slurm: $*" >&2; }

# stop NAME PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL; only if the pid is that program
stop() {
  local name=$1 pidfile=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && grep -q "$name" "/proc/$pid/comm" 2>/dev/null; then
    say "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name ($pid) ignored SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pidfile"
}

# jobs still on this throw-away cluster go first, so that no slurmstepd outlives slurmd
if [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null \
   && [ -f "$STATE/slurm.conf" ]; then
  jobs=$(SLURM_CONF=$STATE/slurm.conf squeue -h -o %i 2>/dev/null)
  if [ -n "$jobs" ]; then
    say "cancelling job(s) $(echo $jobs)"
    SLURM_CONF=$STATE/slurm.conf scancel $jobs 2>/dev/null
    for _ in $(seq 50); do
      [ -z "$(SLURM_CONF=$STATE/slurm.conf squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi
stop slurmd "$STATE/slurmd.pid"
stop slurmctld "$STATE/slurmctld.pid"
if [ "$SLURM_ONLY" -eq 0 ]; then
  stop munged "$STATE/munged.pid"
fi
# the config link for jobs' nested srun (start.sh), when it is ours
if [ "$SLURM_ONLY" -eq 0 ] && [ -L /run/slurm/conf ] && [ "$(readlink /run/slurm/conf)" = "$STATE" ]; then
  rm -f /run/slurm/conf
fi
if [ "$PURGE" -eq 1 ] && [ -d "$STATE" ]; then
  rm -rf "$STATE"
  say "removed $STATE"
fi
exit 0
