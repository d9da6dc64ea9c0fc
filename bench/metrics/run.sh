#!/usr/bin/env bash
# The cost of instrumentation: webhook throughput in accepted mode
# with metrics on (the default) and off (`weft serve --metrics=false`). Each
# round starts a fresh server on a fresh data dir, creates the same active
# 2-step webhook flow as bench/webhook, and runs bench/webhook/post.lua with
# wrk against it; rounds alternate on/off so drifting load from other work on
# the machine falls on both alike. Prints each round and the medians, and
# the weft process's CPU time per run (ingest and execution, from
# /proc/PID/stat), which a loaded machine disturbs less than throughput.
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
# utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
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
  local cpu0; cpu0=$(cpu_ticks "$WEFT_PID")
  local res; res=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$LUA" "$url" | grep '^RESULT')
  # Until every accepted run has run: the CPU then covers ingest and execution.
  for _ in $(seq 600); do
    left=$(sqlite3 -readonly "file:$dir/data/weft.db?mode=ro" \
      "PRAGMA busy_timeout=5000; SELECT COUNT(*) FROM runs WHERE status IN ('queued','running');" | tail -1)
    [ "$left" = "0" ] && break; sleep 0.2
  done
  local cpu1; cpu1=$(cpu_ticks "$WEFT_PID")
  local runs; runs=$(sqlite3 -readonly "file:$dir/data/weft.db?mode=ro" "PRAGMA busy_timeout=5000; SELECT COUNT(*) FROM runs;" | tail -1)
  local cpu_us; cpu_us=$(python3 -c "print(f'{($cpu1-$cpu0)/$(getconf CLK_TCK)/$runs*1e6:.0f}')")
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
  kill "$WEFT_PID"; wait "$WEFT_PID" 2>/dev/null || true; WEFT_PID=""
  echo "$(field rps "$res") $(field p50_ms "$res") $(field p99_ms "$res") $(field non2xx "$res") $code $cpu_us"
}

echo "weft at $WEFT; workers=$WORKERS; wrk -t$THREADS -c$CONNECTIONS -d${SECS}s x $ROUNDS rounds per mode; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %12s %9s %9s %7s %9s %12s\n' round mode "requests/s" p50_ms p99_ms non2xx /metrics "cpu_us/run"
on=(); off=(); on_cpu=(); off_cpu=(); status=0
for r in $(seq "$ROUNDS"); do
  # Odd rounds start with metrics on, even rounds with them off: whatever
  # favours the first (or second) server of a round falls on both modes.
  order="true false"; [ $((r % 2)) -eq 0 ] && order="false true"
  for mode in $order; do
    read -r rps p50 p99 non code cpu < <(round "$mode")
    printf '%-6s %-5s %12s %9s %9s %7s %9s %12s\n' "$r" "$([ "$mode" = true ] && echo on || echo off)" "$rps" "$p50" "$p99" "$non" "$code" "$cpu"
    [ "$non" = "0" ] || { echo "FAIL: non-2xx answers"; status=1; }
    if [ "$mode" = true ]; then on+=("$rps"); on_cpu+=("$cpu"); [ "$code" = 200 ] || { echo "FAIL: /metrics answered $code with metrics on"; status=1; }
    else off+=("$rps"); off_cpu+=("$cpu"); [ "$code" = 404 ] || { echo "FAIL: /metrics answered $code with metrics off"; status=1; }; fi
  done
done
python3 - "${on[*]}" "${off[*]}" "${on_cpu[*]}" "${off_cpu[*]}" <<'PY'
import statistics, sys
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
on_cpu = [float(x) for x in sys.argv[3].split()]
off_cpu = [float(x) for x in sys.argv[4].split()]
m_on, m_off = statistics.median(on), statistics.median(off)
# Each round's two servers ran back to back, under about the same load: the
# median of the per-round ratios is steadier than the ratio of the medians.
paired = statistics.median((b - a) / b * 100 for a, b in zip(on, off))
print(f"\nmedian requests/s: metrics on {m_on:,.0f}, off {m_off:,.0f} ({(m_off - m_on) / m_off * 100:+.1f}%)")
print(f"cost of metrics, median of per-round (off - on) / off: {paired:+.1f}% (goal < 3%)")
print(f"spread: on {min(on):,.0f}-{max(on):,.0f}, off {min(off):,.0f}-{max(off):,.0f} requests/s")
c_on, c_off = statistics.median(on_cpu), statistics.median(off_cpu)
print(f"weft CPU per run (ingest + execution), median: on {c_on:.0f} us, off {c_off:.0f} us ({(c_on - c_off) / c_off * 100:+.1f}%)")
PY
exit $status
