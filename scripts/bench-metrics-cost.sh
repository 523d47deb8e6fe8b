#!/usr/bin/env bash
# The cost of /metrics on the end-to-end send (issue 12): the same stream
# sent to a fresh engine, alternately with /metrics scraped every second and
# without, RUNS times each, in one run on one machine. Prints alerts/s per
# run and the medians. Needs a release build (cargo build --release).
#   scripts/bench-metrics-cost.sh [ALERTS=200000] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
alerts=${1:-200000}
runs=${2:-5}
bin=target/release/dualwarn
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" gen --seed 42 --count "$alerts" --out "$work/alerts.jsonl" >/dev/null 2>&1

one_run() { # $1 = scrape|quiet; prints alerts/s
  local data="$work/data-$RANDOM" log="$work/serve.log"
  "$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
  local pid=$!
  local grpc="" http=""
  for _ in $(seq 100); do
    grpc=$(grep -o 'serving addr=[0-9.:]*' "$log" | head -1 | cut -d= -f2 || true)
    http=$(grep -o 'http_addr=[0-9.:]*' "$log" | head -1 | cut -d= -f2 || true)
    [ -n "$grpc" ] && [ -n "$http" ] && break
    sleep 0.1
  done
  local scraper=""
  if [ "$1" = scrape ]; then
    (while true; do curl -s "http://$http/metrics" >/dev/null; sleep 1; done) &
    scraper=$!
  fi
  "$bin" send --addr "http://$grpc" "$work/alerts.jsonl" 2>&1 | grep '^sent' | grep -o '[0-9]* alerts/s' | cut -d' ' -f1
  [ -n "$scraper" ] && kill "$scraper"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}

declare -a quiet scrape
for i in $(seq "$runs"); do
  q=$(one_run quiet); s=$(one_run scrape)
  quiet+=("$q"); scrape+=("$s")
  echo "run $i: without scraping $q alerts/s, scraped every 1 s $s alerts/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mq=$(median "${quiet[@]}"); ms=$(median "${scrape[@]}")
echo "median: without $mq alerts/s, scraped $ms alerts/s, ratio $(awk "BEGIN {printf \"%.3f\", $ms/$mq}")"
