#!/usr/bin/env bash
# Stop the daemons that .ci/slurm/start.sh started, by the PIDs it recorded (never by name).
# SIGTERM first, up to 10 s each, then SIGKILL. Safe to call when nothing runs.
set -uo pipefail
D=${HANDPROP_SLURM_DIR:-/tmp/handprop-slurm}
pids=()
# slurmd first, so no task is started while the controller goes away; munged last, since the
# Slurm daemons authenticate through it while they shut down.
for p in slurmd slurmctld munged; do
  f="$D/$p.pid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  rm -f "$f"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && pids+=("$pid")
done
for pid in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "slurm-ci: $pid ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
done
[ ${#pids[@]} -gt 0 ] && echo "slurm-ci: stopped ${#pids[@]} daemon(s): ${pids[*]}" >&2
exit 0
