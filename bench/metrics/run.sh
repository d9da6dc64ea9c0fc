#!/usr/bin/env bash
# The cost of instrumentation (issue 10): webhook throughput in accepted mode
# with metrics on (the default) and off (`weft serve --metrics=false`). Each
# round starts a fresh server on a fresh data dir, creates the same active
# 2-step webhook flow as bench/webhook, and runs bench/webhook/post.lua with
# wrk against it; rounds alternate on/off so drifting load from other work on
# the machine falls on both alike. Prints each round and the medians.
# Usage: bench/metrics/run.sh [seconds per round, default 8] [rounds per mode, default 5]
# Env: WEFT (binary; default build/weft), WORKERS (default 4), THREADS (wrk, 2), CONNECTIONS (16).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SECS="${1:-8}"
ROUNDS="${2:-5}"
WORKERS="${WORKERS:-4}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
LUA="$ROOT/bench/webhook/post.lua"
TMP="$(mktemp -d /tmp/weft-bench-metrics.XXXXXX)"
WEFT_PID=""
cleanup() {
  [ -n "$WEFT_PID" ] && kill "$WEFT_PID" 2>/dev/null && wait "$WEFT_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

# One round: start weft with --metrics=$1, post for $SECS s, print "rps p50 p99 non2xx metrics_answer".
round() {
  local metrics="$1" dir="$TMP/round"
  rm -rf "$dir"; mkdir -p "$dir"
  "$WEFT" serve --listen 127.0.0.1:0 --data "$dir/data" --workers "$WORKERS" --log-level warn \
    --metrics="$metrics" >"$dir/out" 2>"$dir/err" &
  WEFT_PID=$!
  for _ in $(seq 100); do grep -q '^listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local base; base="$(sed -n 's/^listening on //p' "$dir/out")"
  [ -n "$base" ] || { cat "$dir/err" >&2; exit 1; }
  local doc flow id url
  doc='{"name":"bench-metrics","trigger":{"type":"webhook","webhook":{"response":{"mode":"accepted"}}},
        "steps":[{"id":"pick","uses":"data.set","with":{"value":"{{ trigger.body.asset_id }}"}},
                 {"id":"shape","uses":"data.set","with":{"value":{"asset":"{{ steps.pick.output }}"}}}]}'
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$base/api/v1/flows")
  id=$(jq -r .id <<<"$flow"); url=$(jq -r .webhook_url <<<"$flow")
  curl -sf -X POST "$base/api/v1/flows/$id/activate" >/dev/null
  local res; res=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$LUA" "$url" | grep '^RESULT')
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
  kill "$WEFT_PID"; wait "$WEFT_PID" 2>/dev/null || true; WEFT_PID=""
  echo "$(field rps "$res") $(field p50_ms "$res") $(field p99_ms "$res") $(field non2xx "$res") $code"
}

echo "weft at $WEFT; workers=$WORKERS; wrk -t$THREADS -c$CONNECTIONS -d${SECS}s x $ROUNDS rounds per mode; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %12s %9s %9s %7s %9s\n' round mode "requests/s" p50_ms p99_ms non2xx /metrics
on=(); off=(); status=0
for r in $(seq "$ROUNDS"); do
  for mode in true false; do
    read -r rps p50 p99 non code < <(round "$mode")
    printf '%-6s %-5s %12s %9s %9s %7s %9s\n' "$r" "$([ "$mode" = true ] && echo on || echo off)" "$rps" "$p50" "$p99" "$non" "$code"
    [ "$non" = "0" ] || { echo "FAIL: non-2xx answers"; status=1; }
    if [ "$mode" = true ]; then on+=("$rps"); [ "$code" = 200 ] || { echo "FAIL: /metrics answered $code with metrics on"; status=1; }
    else off+=("$rps"); [ "$code" = 404 ] || { echo "FAIL: /metrics answered $code with metrics off"; status=1; }; fi
  done
done
python3 - "${on[*]}" "${off[*]}" <<'PY'
import statistics, sys
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
m_on, m_off = statistics.median(on), statistics.median(off)
print(f"\nmedian requests/s: metrics on {m_on:,.0f}, off {m_off:,.0f}")
print(f"cost of metrics: {(m_off - m_on) / m_off * 100:+.1f}% (goal < 3%); spread on {min(on):,.0f}-{max(on):,.0f}, off {min(off):,.0f}-{max(off):,.0f}")
PY
exit $status
