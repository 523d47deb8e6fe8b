#!/usr/bin/env bash
# Kafka ingest against gRPC ingest, in one run on one machine: the same
# generated alerts (a) sent over gRPC by `dualwarn send` to a fresh engine,
# and (b) put on a 16-partition topic of librdkafka's mock cluster
# (`dualwarn kafka mock`) and read by a fresh engine with [kafka], timed
# until its group has committed the last offset. Alternates RUNS times.
#   scripts/bench-kafka.sh [ALERTS=200000] [RUNS=3] [BIN=target/release/dualwarn]
# The mock cluster is a test double running in its own process on the same
# cores: its cost is in the Kafka figure. It keeps about 5 MB per partition
# (older messages are dropped), hence 16 partitions. Each run prints the
# alerts the engine accepted (from /metrics), which must match between the
# two ways in.
set -euo pipefail
cd "$(dirname "$0")/.."
alerts=${1:-200000}
runs=${2:-3}
bin=${3:-target/release/dualwarn}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" gen --seed 1 --count "$alerts" --out "$work/alerts.jsonl" >/dev/null 2>&1
sources=$(grep -o '"source":"[^"]*"' "$work/alerts.jsonl" | sort -u | cut -d'"' -f4 \
  | sed 's/.*/"&"/' | paste -sd, -)

serve() { # $1 = data dir, $2 = extra args; echoes the gRPC address
  "$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$1" ${2:-} >"$1.log" 2>&1 &
  echo $! >"$1.pid"
  for _ in $(seq 300); do
    addr=$(grep -o 'serving addr=[0-9.:]*' "$1.log" | head -1 | cut -d= -f2 || true)
    [ -n "$addr" ] && { echo "$addr"; return; }
    sleep 0.1
  done
  echo "server did not start: $(cat "$1.log")" >&2; exit 1
}

accepted() { # $1 = data dir: alerts its server accepted, from /metrics
  local http; http=$(grep -o 'http_addr=[0-9.:]*' "$1.log" | head -1 | cut -d= -f2)
  curl -s "http://$http/metrics" | grep '^dualwarn_alerts_accepted_total' | cut -d' ' -f2
}

stop() { # $1 = data dir: a graceful stop of its server
  local pid; pid=$(cat "$1.pid")
  kill -INT "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

for r in $(seq "$runs"); do
  d="$work/grpc-$r"; addr=$(serve "$d")
  rate=$("$bin" send --batch 1000 --show-rejections 0 --addr "http://$addr" "$work/alerts.jsonl" 2>&1 \
    | grep '^sent' | grep -o '[0-9]* alerts/s' | cut -d' ' -f1)
  echo "run $r grpc: $rate alerts/s; accepted $(accepted "$d")"
  stop "$d"

  "$bin" kafka mock --topic alerts:16 --topic dualwarn.dead-letter:1 >"$work/mock.addr" 2>/dev/null &
  mock=$!
  until [ -s "$work/mock.addr" ]; do sleep 0.1; done
  brokers=$(head -1 "$work/mock.addr")
  d="$work/kafka-$r"; mkdir -p "$d"
  printf '[kafka]\nbrokers = "%s"\nbatch = 1000\n[[kafka.topics]]\nname = "alerts"\nsources = [%s]\n' \
    "$brokers" "$sources" >"$d.toml"
  # The topic is filled first, then read: the engine's rate alone.
  "$bin" kafka send --brokers "$brokers" --topic alerts "$work/alerts.jsonl" 2>/dev/null | sed "s/^/run $r kafka: /"
  start=$(date +%s.%N)
  addr=$(serve "$d" "--config $d.toml")
  steady=$("$bin" kafka send --brokers "$brokers" --topic alerts --wait-group dualwarn /dev/null 2>/dev/null \
    | grep '^first offsets' | sed 's/.*: \([0-9]*\) alerts\/s/\1/')
  end=$(date +%s.%N)
  echo "run $r kafka: engine start to all $alerts committed in $(echo "$end - $start" | bc) s (start-up and group join included); from the first commit on: $steady alerts/s; accepted $(accepted "$d")"
  stop "$d"
  kill "$mock"; wait "$mock" 2>/dev/null || true
  rm -f "$work/mock.addr"
done
