#!/usr/bin/env bash
# End to end, durable: the same generated stream sent to a fresh engine by
# each build given, alternately, RUNS times each, in one run on one machine.
# Per run it prints the send rate (alerts/s, client and server sharing the
# cores), the server's CPU time (user + system, from /proc) and alerts per
# server core-second; then the medians per build. The store's size per
# alert is printed too.
#   scripts/bench-e2e.sh [ALERTS=200000] [RUNS=3] [BIN...]
# BIN defaults to target/release/dualwarn; give two to compare builds.
set -euo pipefail
cd "$(dirname "$0")/.."
alerts=${1:-200000}
runs=${2:-3}
shift $(( $# >= 2 ? 2 : $# ))
bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=(target/release/dualwarn)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"${bins[0]}" gen --seed 1 --count "$alerts" --out "$work/alerts.jsonl" >/dev/null 2>&1
tick=$(getconf CLK_TCK)

cpu_ticks() { # user + system ticks of process $1
  awk '{print $14 + $15}' "/proc/$1/stat"
}

one_run() { # $1 = binary; prints "rate cpu_s per_core_s bytes_per_alert"
  local data="$work/data-$RANDOM" log="$work/serve.log"
  "$1" serve --listen 127.0.0.1:0 --http-listen "" --data-dir "$data" >"$log" 2>&1 &
  local pid=$! grpc=""
  for _ in $(seq 200); do
    grpc=$(grep -o 'serving addr=[0-9.:]*' "$log" | head -1 | cut -d= -f2 || true)
    [ -n "$grpc" ] && break
    sleep 0.1
  done
  local before after rate
  before=$(cpu_ticks "$pid")
  rate=$("$1" send --batch 1000 --show-rejections 0 --addr "http://$grpc" "$work/alerts.jsonl" 2>&1 \
    | grep '^sent' | grep -o '[0-9]* alerts/s' | cut -d' ' -f1)
  after=$(cpu_ticks "$pid")
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  local bytes
  bytes=$(stat -c %s "$data/dualwarn.redb")
  awk -v r="$rate" -v t=$((after - before)) -v hz="$tick" -v n="$alerts" -v b="$bytes" \
    'BEGIN { cpu = t / hz; printf "%d %.2f %d %d\n", r, cpu, n / cpu, b / n }'
  rm -rf "$data"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A rates cores
for i in $(seq "$runs"); do
  for b in "${bins[@]}"; do
    read -r rate cpu per bytes < <(one_run "$b")
    echo "run $i $b: $rate alerts/s, server CPU ${cpu} s, $per alerts per server core-second, store $bytes B/alert"
    rates[$b]+="$rate "
    cores[$b]+="$per "
  done
done
for b in "${bins[@]}"; do
  echo "median $b: $(echo "${rates[$b]}" | tr ' ' '\n' | grep . | median) alerts/s, $(echo "${cores[$b]}" | tr ' ' '\n' | grep . | median) alerts per server core-second"
done
