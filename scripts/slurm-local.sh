#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (Debian's slurm-wlm + munge), as root and without systemd, for the
# scale-out tests and for trying `supra-eval submit --slurm` locally.
#   bash scripts/slurm-local.sh start   # munged, slurmctld, slurmd; prints `export SLURM_CONF=...` when the node is idle
#   bash scripts/slurm-local.sh stop    # stops exactly the daemons it started (their pid files)
#   bash scripts/slurm-local.sh env     # prints the export line again
# Environment: SUPRA_SLURM_DIR (state, config, logs; default /tmp/supra-slurm), SUPRA_SLURM_PORT (slurmctld port,
# slurmd uses the next; default 6817), SUPRA_SLURM_GPUS (N stand-in GPUs: a gres.conf naming files under the state
# folder, for allocation tests; default 0).
# Exit status 3 when Slurm cannot be run here (not root, packages missing, a daemon that does not start): tests skip.
# What the config avoids (each found failing in a container): proctrack/cgroup and task/cgroup (no cgroup freezer;
# linuxproc and task/none instead), accounting (no slurmdbd). munged runs as the munge user and its socket folder is
# o+x so root's daemons and clients reach it; NodeName is `hostname -s` with the node line of `slurmd -C`; clients
# find the config through SLURM_CONF.
set -euo pipefail
dir=${SUPRA_SLURM_DIR:-/tmp/supra-slurm}
port=${SUPRA_SLURM_PORT:-6817}
gpus=${SUPRA_SLURM_GPUS:-0}
conf=$dir/slurm.conf

cannot() { echo "slurm-local: cannot run Slurm here: $*" >&2; exit 3; }

# Stops the daemon whose pid file is $1 if that pid still runs the program $2.
stop_one() {
  local pidfile=$1 name=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
    if [ -d /proc/"$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}

stop() {
  stop_one "$dir/slurmd.pid" slurmd
  stop_one "$dir/slurmctld.pid" slurmctld
  stop_one "$dir/munge/munged.pid" munged
}

start() {
  [ "$(id -u)" -eq 0 ] || cannot "not root"
  for c in munged mungekey slurmctld slurmd sbatch sinfo squeue scancel; do
    command -v "$c" >/dev/null || cannot "$c not found (bash scripts/install-deps.sh installs slurm-wlm and munge)"
  done
  id munge >/dev/null 2>&1 || cannot "no munge user (is the munge package installed?)"
  stop  # a cluster this script left running before
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/dev"
  chown munge:munge "$dir/munge"
  chmod 0755 "$dir" "$dir/munge"  # o+x: root's daemons and clients reach the socket
  if [ ! -s "$dir/munge/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
      dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown munge:munge "$dir/munge/munge.key"
  chmod 0400 "$dir/munge/munge.key"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    --force || cannot "munged did not start (see $dir/munge/munged.log)"

  local host node gres=""
  host=$(hostname -s)
  node=$(slurmd -C | head -n 1)
  [[ "$node" == NodeName=$host* ]] || cannot "slurmd -C printed '$node', not a node line for $host"
  if [ "$gpus" -gt 0 ]; then
    # Stand-in device files: Slurm wants character devices; /dev/null is one every container has.
    for i in $(seq 0 $((gpus - 1))); do ln -sfn /dev/null "$dir/dev/gpu$i"; done
    echo "Name=gpu File=$dir/dev/gpu[0-$((gpus - 1))]" > "$dir/gres.conf"
    gres=" Gres=gpu:$gpus"
  fi
  cat > "$conf" <<EOF
# Written by scripts/slurm-local.sh start: a single-node cluster for tests.
ClusterName=supra-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
$( [ "$gpus" -gt 0 ] && echo "GresTypes=gpu" )
$node NodeAddr=127.0.0.1$gres State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$conf
  slurmctld -c -f "$conf" || cannot "slurmctld did not start (see $dir/log/slurmctld.log)"
  slurmd -f "$conf" || cannot "slurmd did not start (see $dir/log/slurmd.log)"
  for _ in $(seq 150); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
      echo "export SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.2
  done
  stop
  cannot "the node did not become idle within 30 s (logs in $dir/log)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
