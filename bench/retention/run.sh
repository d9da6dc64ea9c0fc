#!/usr/bin/env bash
# Webhook latency while the pruner deletes a million old runs.
# Seeds a data dir with bench_prune --seed-only (N finished runs, 60 days
# old), then, on a copy of it each time, starts weft and posts to an
# accepted-mode webhook with wrk for SECS seconds:
#   pruning: --retain-runs 30d, so the pruner starts on the old runs at once;
#   idle:    --retain-runs off, the same data, nothing pruned.
# Prints wrk's requests/s, p50 and p99 for both, and how long the pruning
# pass took (from the server's log).
# Usage: bench/retention/run.sh [runs, default 1000000] [seconds, default 30]
# Env: WEFT (default build/weft), BENCH_PRUNE (default build/bench/retention/bench_prune),
#      THREADS (wrk, 2), CONNECTIONS (16), WORKERS (4).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
BENCH_PRUNE="${BENCH_PRUNE:-$ROOT/build/bench/retention/bench_prune}"
RUNS="${1:-1000000}"
SECS="${2:-30}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
WORKERS="${WORKERS:-4}"
LUA="$ROOT/bench/webhook/post.lua"
TMP="$(mktemp -d "${TMPDIR:-$ROOT}/weft-bench-retention.XXXXXX")"  # on disk, not tmpfs
WEFT_PID=""
cleanup() {
  [ -n "$WEFT_PID" ] && kill "$WEFT_PID" 2>/dev/null && wait "$WEFT_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

"$BENCH_PRUNE" --runs "$RUNS" --dir "$TMP/seed" --seed-only

round() {  # $1: pruning | idle
  local mode="$1" dir="$TMP/$1"
  rm -rf "$dir"; cp -r "$TMP/seed" "$dir"; rm -f "$dir/LOCK"
  local retain=30d; [ "$mode" = idle ] && retain=off
  "$WEFT" serve --listen 127.0.0.1:0 --data "$dir" --workers "$WORKERS" --log-level info \
    --retain-runs "$retain" --retention-interval 1h >"$dir/out" 2>"$dir/err" &
  WEFT_PID=$!
  for _ in $(seq 300); do grep -q '^listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local base; base="$(sed -n 's/^listening on //p' "$dir/out")"
  [ -n "$base" ] || { cat "$dir/err" >&2; exit 1; }
  local doc flow id url
  doc='{"name":"bench-retention","trigger":{"type":"webhook","webhook":{"response":{"mode":"accepted"}}},
        "steps":[{"id":"pick","uses":"data.set","with":{"value":"{{ trigger.body.asset_id }}"}},
                 {"id":"shape","uses":"data.set","with":{"value":{"asset":"{{ steps.pick.output }}"}}}]}'
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$base/api/v1/flows")
  id=$(jq -r .id <<<"$flow"); url=$(jq -r .webhook_url <<<"$flow")
  curl -sf -X POST "$base/api/v1/flows/$id/activate" >/dev/null
  local res; res=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$LUA" "$url" | grep '^RESULT')
  local pruned="-"
  if [ "$mode" = pruning ]; then
    # Wait for the pass to end, then take its length from the log's timestamps.
    for _ in $(seq 600); do grep -q 'retention: pruned runs' "$dir/err" && break; sleep 0.5; done
    local start end
    start=$(grep -m1 'store open' "$dir/err" | cut -d' ' -f1)
    end=$(grep -m1 'retention: pruned runs' "$dir/err" | cut -d' ' -f1)
    pruned=$(python3 -c "from datetime import datetime as d; f=lambda s: d.fromisoformat(s.replace('Z','+00:00')); print(round((f('$end')-f('$start')).total_seconds(),1))" 2>/dev/null || echo "?")
  fi
  kill "$WEFT_PID"; wait "$WEFT_PID" 2>/dev/null || true; WEFT_PID=""
  echo "$mode $(field rps "$res") $(field p50_ms "$res") $(field p99_ms "$res") $(field non2xx "$res") $pruned"
}

echo "weft at $WEFT; $RUNS old runs; wrk -t$THREADS -c$CONNECTIONS -d${SECS}s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %12s %9s %9s %7s %14s\n' mode "requests/s" p50_ms p99_ms non2xx "prune pass s"
for mode in pruning idle; do
  read -r m rps p50 p99 non pruned < <(round "$mode")
  printf '%-8s %12s %9s %9s %7s %14s\n' "$m" "$rps" "$p50" "$p99" "$non" "$pruned"
done
