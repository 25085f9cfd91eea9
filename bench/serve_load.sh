#!/usr/bin/env bash
# Latency of `evidex serve` under a bounded loopback load (a measurement,
# not a timed test): generates a 10^5-record evidence base, starts the
# server, and drives /api/v1/verdicts?... and /find?... with wrk (Debian
# package `wrk`; one client thread, so the client takes at most one of the
# machine's cores) over 64 concurrent keep-alive connections.
# Reports p50/p99 latency and throughput per URL, the server's peak RSS
# (VmHWM) and its start-up time (process start to the "listening on" line).
#
# Usage: bench/serve_load.sh [ROWS] [SECONDS]   (defaults: 100000 10)
# Environment: EVIDEX (binary; default $CARGO_TARGET_DIR/release/evidex).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-100000}"
SECS="${2:-10}"
CONNS=64
BIN="${EVIDEX:-${CARGO_TARGET_DIR:-$HOME/.cache/evidex-target}/release/evidex}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no evidex binary at $BIN (cargo build --release)" >&2; exit 2; }

tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$BIN" generate --rows "$ROWS" --seed 1 --out "$tmp/evidence.csv" --quiet
# A target group and income setting present in the data (first record's).
read -r group setting < <(python3 -c '
import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
print(r["target_group"].replace(" ", "+"), r["income_setting"] or "LIC")' "$tmp/evidence.csv")

t0=$(date +%s%N)
"$BIN" serve "$tmp/evidence.csv" --port 0 --quiet >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
until grep -q '^listening on ' "$tmp/stdout" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/stderr" >&2; exit 1; }
  sleep 0.005
done
t1=$(date +%s%N)
url="$(sed -n '1s/^listening on //p' "$tmp/stdout")"
url="${url%/}"
startup_ms=$(( (t1 - t0) / 1000000 ))

echo "evidex serve: $ROWS records, started in ${startup_ms} ms; $CONNS connections, ${SECS} s per URL, wrk -t1"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-72s %9s %9s %10s\n' "URL" "p50" "p99" "req/s"
for path in \
  "/api/v1/verdicts?target_group=$group&income_setting=$setting" \
  "/find?target_group=$group&income_setting=$setting" ; do
  curl -fsS -o /dev/null "$url$path" || { echo "GET $path failed" >&2; exit 1; }
  out="$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$url$path")"
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  rps=$(awk '$1=="Requests/sec:"{print $2}' <<<"$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-72s %9s %9s %10s\n' "$path" "$p50" "$p99" "$rps"
  [ -z "$errors" ] || echo "  $errors"
done
echo "peak RSS (VmHWM): $(awk '/VmHWM/{printf "%.0f MB", $2/1024}' /proc/$pid/status)"
