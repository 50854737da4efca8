#!/usr/bin/env bash
# A small cluster on this machine, end to end: nats-server, the publisher, NODES server nodes
# following it through NATS, LOADS load-generator processes (`loadgen run --part K/LOADS`, all
# starting at one agreed time), each spreading its share of every step's clients over all the
# nodes (`--target A,B,C`, round robin), `loadgen merge`, and the merged report's path printed
# last. Every process it starts is stopped on exit (trap), and every wait is bounded.
#
#   scripts/cluster.sh                      (release build; ~1 min after the build)
#   CLIENTS=100,1000 DURATION=10s scripts/cluster.sh
#
# Environment (defaults): NODES (3), LOADS (2 load processes), CLIENTS (20,200: total over all
# load processes and nodes),
# TRANSPORTS (ws,sse,delta-poll), DURATION (5s), WARMUP (1s), RATE (20 events/s),
# CONNECT_RATE (2000 new connections/s per load process: lower it for tens of thousands),
# PROFILE (release; or debug), BASE_PORT (18080: publisher on it, nodes on the next ports),
# NATS_PORT (14222; its monitoring port is NATS_PORT+1), OUT (runs/cluster-<UTC time>),
# REFERENCE (1: afterwards, the same steps from one load process against one plain server
# without NATS, on the port after the nodes', set beside the cluster's delays in the report's
# "NATS hop" table; 0: skip it).
# Needs nats-server on PATH (Debian: apt-get install -y nats-server).
#
# Besides the report (whose Cluster section shows each node's clients and deliveries per step
# and the bytes each node took from NATS per event), OUT holds every process's log, each node's /metrics after the run
# (nodeN.metrics: gaps, repairs, resets, NATS bytes) and nats-server's /varz (nats.varz).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
NODES=${NODES:-3}
LOADS=${LOADS:-2}
CLIENTS=${CLIENTS:-20,200}
TRANSPORTS=${TRANSPORTS:-ws,sse,delta-poll}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
RATE=${RATE:-20}
CONNECT_RATE=${CONNECT_RATE:-2000}
PROFILE=${PROFILE:-release}
BASE_PORT=${BASE_PORT:-18080}
NATS_PORT=${NATS_PORT:-14222}
OUT=${OUT:-runs/cluster-$(date -u +%Y-%m-%dT%H-%M-%SZ)}
REFERENCE=${REFERENCE:-1}

case "$NODES$LOADS" in *[!0-9]*) echo "cluster.sh: NODES and LOADS must be whole numbers" >&2; exit 1 ;; esac
[ "$NODES" -ge 1 ] && [ "$LOADS" -ge 1 ] || { echo "cluster.sh: NODES and LOADS must be at least 1" >&2; exit 1; }
command -v nats-server >/dev/null || { echo "cluster.sh: nats-server is not installed (apt-get install -y nats-server)" >&2; exit 1; }
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p server -p loadgen
else
  cargo build -q -p server -p loadgen
fi
BIN=$TARGET_DIR/$PROFILE
mkdir -p "$OUT/logs"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

# Waits (at most 30 s) until $1's log says it listens.
wait_listening() {
  for _ in $(seq 300); do
    grep -q "pushpull server listening on" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "cluster.sh: $1 never said it listens:" >&2; tail -5 "$1" >&2; exit 1
}

NATS=nats://127.0.0.1:$NATS_PORT
nats-server -a 127.0.0.1 -p "$NATS_PORT" -m "$((NATS_PORT + 1))" >"$OUT/logs/nats.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.1; done

# The publisher's ring holds two minutes of events, so a node's gap is repaired event by event
# (RATE may be a fraction: 0.1 is one event every ten seconds).
RING=$(awk -v r="$RATE" 'BEGIN { printf "%d", r * 120 + 4096 }')
"$BIN/server" --addr "127.0.0.1:$BASE_PORT" --publish "$NATS" --rate "$RATE" \
  --ring "$RING" >"$OUT/logs/publisher.out" 2>"$OUT/logs/publisher.log" &
PIDS+=($!)
wait_listening "$OUT/logs/publisher.out"
for n in $(seq "$NODES"); do
  "$BIN/server" --addr "127.0.0.1:$((BASE_PORT + n))" --feed "$NATS" --ring "$RING" \
    >"$OUT/logs/node$n.out" 2>"$OUT/logs/node$n.log" &
  PIDS+=($!)
done
for n in $(seq "$NODES"); do wait_listening "$OUT/logs/node$n.out"; done

TARGETS=$(for n in $(seq "$NODES"); do printf 'http://127.0.0.1:%s,' "$((BASE_PORT + n))"; done)
TARGETS=${TARGETS%,}
START_AT=$(($(date +%s) + 3))
LOADS_PIDS=()
for k in $(seq "$LOADS"); do
  timeout 900 "$BIN/loadgen" run --quiet --repeat 1 --target "$TARGETS" \
    --part "$k/$LOADS" --start-at "$START_AT" --transports "$TRANSPORTS" --clients "$CLIENTS" \
    --duration "$DURATION" --warmup "$WARMUP" --connect-rate "$CONNECT_RATE" --out "$OUT/part$k" \
    >"$OUT/logs/loadgen$k.out" 2>"$OUT/logs/loadgen$k.log" &
  LOADS_PIDS+=($!)
  PIDS+=($!)
done
FAILED=0
for pid in "${LOADS_PIDS[@]}"; do wait "$pid" || FAILED=1; done
for n in $(seq "$NODES"); do
  curl -fsS "http://127.0.0.1:$((BASE_PORT + n))/metrics" >"$OUT/node$n.metrics" || true
done
curl -fsS "http://127.0.0.1:$((NATS_PORT + 1))/varz" >"$OUT/nats.varz" || true
if [ "$FAILED" = 1 ]; then
  echo "cluster.sh: a load process failed; see $OUT/logs/loadgen*.log" >&2
fi
PARTS=()
for k in $(seq "$LOADS"); do PARTS+=("$OUT/part$k"); done
echo "cluster.sh: node counters (gaps, repaired, resets, NATS bytes in):" >&2
for n in $(seq "$NODES"); do
  grep -E '^pushpull_(feed_gaps_total|feed_events_repaired_total|feed_resets_total|backplane_bytes_received_total) ' \
    "$OUT/node$n.metrics" | awk -v n="$n" '{printf "  node%s %s %s\n", n, $1, $2}' >&2 || true
done
REF_ARGS=()
MOST=$(tr ',' '\n' <<<"$CLIENTS" | sort -n | tail -1)
if [ "$REFERENCE" = 1 ] && [ "$MOST" -gt 15000 ]; then
  echo "cluster.sh: no reference run: one server cannot hold $MOST connections under this machine's open-files limit" >&2
  REFERENCE=0
fi
if [ "$REFERENCE" = 1 ]; then
  # The same steps against one server without NATS: the report's "NATS hop" table.
  REF_PORT=$((BASE_PORT + NODES + 1))
  "$BIN/server" --addr "127.0.0.1:$REF_PORT" --rate "$RATE" --ring "$RING" \
    >"$OUT/logs/reference-server.out" 2>"$OUT/logs/reference-server.log" &
  REF_PID=$!
  PIDS+=("$REF_PID")
  wait_listening "$OUT/logs/reference-server.out"
  if timeout 900 "$BIN/loadgen" run --quiet --repeat 1 --target "http://127.0.0.1:$REF_PORT" \
    --transports "$TRANSPORTS" --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
    --connect-rate "$CONNECT_RATE" --out "$OUT/reference" \
    >"$OUT/logs/reference.out" 2>"$OUT/logs/reference.log"; then
    REF_ARGS=(--reference "$OUT/reference")
  else
    echo "cluster.sh: the reference run failed (see $OUT/logs/reference.log); merging without it" >&2
    FAILED=1
  fi
  kill "$REF_PID" 2>/dev/null || true
fi
# Merged even from one load process, so that the reference is set beside it.
"$BIN/loadgen" merge "${PARTS[@]}" --out "$OUT/merged" "${REF_ARGS[@]}"
exit "$FAILED"
