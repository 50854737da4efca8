#!/usr/bin/env bash
# Where the server's CPU goes during one loadgen step: kernel against user (our code and its
# libraries), from /proc/PID/stat (utime/stime) and `perf record -g` + `perf report --sort dso`
# over the same seconds of the measured window; per frame/request from the step's results.json.
#
# usage: scripts/profile-server.sh TRANSPORT CLIENTS [OUT_DIR]   (release build first:
#        cargo build --release -p server -p loadgen). Needs perf (linux-perf).
set -euo pipefail
transport=${1:?transport}; clients=${2:?clients}; out=${3:-/tmp/profile-$transport-$clients}
port=${PORT:-18090}; warmup=2; measured=${MEASURED:-12}; sample=${SAMPLE:-8}
mkdir -p "$out"
target/release/server --addr 127.0.0.1:$port --rate 10 > "$out/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null || true' EXIT
sleep 1
target/release/loadgen run --repeat 1 --target http://127.0.0.1:$port --transports "$transport" \
  --clients "$clients" --duration ${measured}s --warmup ${warmup}s --quiet --out "$out/run" \
  > "$out/loadgen.log" 2>&1 &
lpid=$!
# Into the measured window: the ramp at 2,000 connections/s, the warm-up, one second more.
sleep "$(awk -v c="$clients" -v w=$warmup 'BEGIN { print c / 2000 + w + 1 }')"
read -r ut0 st0 < <(awk '{ print $14, $15 }' /proc/$spid/stat)
perf record -q -g -p $spid -o "$out/perf.data" -- sleep "$sample" 2> "$out/perf-record.log"
read -r ut1 st1 < <(awk '{ print $14, $15 }' /proc/$spid/stat)
wait $lpid || true
hz=$(getconf CLK_TCK)
echo "server user $(( (ut1 - ut0) * 1000 / hz )) ms, system $(( (st1 - st0) * 1000 / hz )) ms over ${sample} s"
perf report -i "$out/perf.data" --sort dso --stdio --no-children 2> /dev/null \
  | grep -E '^ +[0-9.]+%' | head -8
python3 - "$out/run/results.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["steps"][0]
msgs, reqs, cpu = s["messages"], s["requests"], s["server"]["cpu_s"]
print(f"window {s['measured_s']:.1f} s: server CPU {cpu:.2f} s, {msgs} messages sent, {reqs} requests, "
      f"errors {s['errors']}, lost {s['lost']}")
if msgs: print(f"  {cpu / msgs * 1e6:.1f} µs of server CPU per message sent")
if reqs: print(f"  {cpu / reqs * 1e6:.1f} µs of server CPU per request")
PY
