#!/usr/bin/env bash
# /api/scores over HTTP/2 against a minimal hyper HTTP/2 hello-world, measured alternately in
# one sitting with nghttp2's h2load (-c100 -m10 -D10): h2c (prior knowledge) and h2 over TLS
# (ALPN h2), the pushpull server with --tls serving both on one port, hello_h2 on two; the
# 200 path (the ~1 KiB snapshot; against hello_h2's /sized too, a body of the same size) and the 304
# path (If-None-Match, no body).
# Prints req/s and failed requests of each round, then the mean ratios. Loopback only; both
# servers are stopped at exit. ROUNDS (3) and DURATION (10, seconds) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
dur=${DURATION:-10}
command -v h2load >/dev/null || { echo "needs h2load (apt-get install -y nghttp2-client)" >&2; exit 2; }
cargo build --release -q -p server --bin server --example hello_h2
target=${CARGO_TARGET_DIR:-target}
# A paused feed (--rate 0): every 200 carries the same snapshot.
"$target/release/server" --addr 127.0.0.1:18090 --rate 0 --tls >/dev/null 2>&1 & s=$!
trap 'kill $s 2>/dev/null || true' EXIT
sleep 1
# hello_h2's /sized answers a body of the snapshot's size: the 200 path's same-bytes reference.
body=$(curl -fsS http://127.0.0.1:18090/api/scores | wc -c)
"$target/release/examples/hello_h2" 127.0.0.1:18091 127.0.0.1:18092 "$body" >/dev/null 2>&1 & h=$!
trap 'kill $s $h 2>/dev/null || true' EXIT
sleep 1
# "req/s failed" of one h2load run.
run() {
  h2load -c100 -m10 -D"$dur" "$@" 2>&1 | awk '
    /^finished in/ { gsub(",", ""); rps = $4 }
    /^requests:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) failed = $i }
    END { printf "%s %s\n", rps, failed }'
}
echo "snapshot: $body bytes"
printf '%-6s %-5s %12s %12s %12s %12s %8s\n' round wire scores_200 scores_304 hello hello_sized failed
rows=$(mktemp); trap 'kill $s $h 2>/dev/null || true; rm -f "$rows"' EXIT
for r in $(seq 1 "$rounds"); do
  for wire in h2c tls; do
    if [ "$wire" = h2c ]; then su=http://127.0.0.1:18090/api/scores; hu=http://127.0.0.1:18091/
    else su=https://127.0.0.1:18090/api/scores; hu=https://127.0.0.1:18092/; fi
    read -r a fa < <(run "$su")
    read -r c fc < <(run -H 'if-none-match: "0"' "$su")
    read -r b fb < <(run "$hu")
    read -r d fd < <(run "${hu}sized")
    printf '%-6s %-5s %12s %12s %12s %12s %8s\n' "$r" "$wire" "$a" "$c" "$b" "$d" "$((fa + fb + fc + fd))" | tee -a "$rows"
  done
done
awk '{ s[$2] += $3; m[$2] += $4; h[$2] += $5; z[$2] += $6; n[$2]++ }
  END { for (w in s) printf "%s: mean 200 %.0f, 304 %.0f, hello %.0f, hello_sized %.0f req/s; 200 %.2f x hello and %.2f x hello_sized, 304 %.2f x hello\n", w, s[w] / n[w], m[w] / n[w], h[w] / n[w], z[w] / n[w], s[w] / h[w], s[w] / z[w], m[w] / h[w] }' "$rows"
