#!/usr/bin/env bash
# CI smoke test: nghttp2's h2load, an independent HTTP/2 client, drives /api/scores over h2c
# (prior knowledge) and over TLS (ALPN h2) on one `server --tls`; fails unless every request
# succeeds with a 2xx. Short and bounded; the figures are for scripts/bench-h2.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v h2load >/dev/null || { echo "needs h2load (apt-get install -y nghttp2-client)" >&2; exit 2; }
cargo build -q -p server --bin server
target=${CARGO_TARGET_DIR:-target}
out=$(mktemp)
"$target/debug/server" --addr 127.0.0.1:0 --tls >"$out" 2>/dev/null & s=$!
trap 'kill $s 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do grep -q '^pushpull server tls ' "$out" && break; sleep 0.1; done
https=$(awk '/^pushpull server tls /{print $NF}' "$out")
http=$(awk '/^pushpull server listening on http:/{print $NF}' "$out")
[ -n "$https" ] && [ -n "$http" ] || { echo "FAIL: the server did not print its listening lines" >&2; exit 1; }
n=2000
for url in "$http/api/scores" "$https/api/scores"; do
  report=$(timeout 60 h2load -n"$n" -c10 -m10 "$url")
  echo "$report" | grep -E '^(Application protocol|finished in|requests:|status codes:)'
  if ! echo "$report" | grep -q "requests: $n total, $n started, $n done, $n succeeded, 0 failed, 0 errored, 0 timeout" \
    || ! echo "$report" | grep -q "status codes: $n 2xx"; then
    echo "FAIL: h2load saw errors on $url" >&2
    exit 1
  fi
  echo "$report" | grep -q '^Application protocol: h2' || { echo "FAIL: not HTTP/2 on $url" >&2; exit 1; }
done
echo "ok: h2load, $n requests each over h2c and h2+TLS, no errors"
