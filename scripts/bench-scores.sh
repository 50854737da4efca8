#!/usr/bin/env bash
# /api/scores against a minimal hyper hello-world, measured alternately in one sitting with
# wrk (-t1 -c100 -d10s): the 200 path, the 304 path (If-None-Match), and the reference.
# Prints req/s of each round and the ratios. Loopback only; both servers are stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
dur=${DURATION:-10s}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release -q -p server --bin server --example hello
target=${CARGO_TARGET_DIR:-target}
# A paused feed (--rate 0): every 200 carries the same snapshot and "0" stays current, so
# the 304 round is all 304s.
"$target/release/server" --addr 127.0.0.1:18080 --rate 0 >/dev/null 2>&1 & s=$!
"$target/release/examples/hello" 127.0.0.1:18081 >/dev/null 2>&1 & h=$!
trap 'kill $s $h 2>/dev/null || true' EXIT
sleep 1
rps() { wrk -t1 -c100 -d"$dur" "$@" | awk '/Requests\/sec/{print $2}'; }
printf '%-6s %12s %12s %12s\n' round scores_200 scores_304 hello
for r in $(seq 1 "$rounds"); do
  a=$(rps http://127.0.0.1:18080/api/scores)
  b=$(rps -H 'If-None-Match: "0"' http://127.0.0.1:18080/api/scores)
  c=$(rps http://127.0.0.1:18081/)
  printf '%-6s %12s %12s %12s\n' "$r" "$a" "$b" "$c"
done
