#!/usr/bin/env bash
# Webhook ingest alone: what the receiver and the store take in
# accepted mode when no worker runs the runs (`weft serve --roles
# api,webhooks`), with the wrk script of run.sh (16 connections, 200-byte JSON
# body) on loopback. Each 202 is a run committed to the store. Usage:
#   bench/webhook/ingest.sh [seconds, default 10] [rounds, default 1]
# Env: WEFT (binary; default build/weft), THREADS (wrk threads, default 2),
#      CONNECTIONS (default 16), SQLITE_SYNC (normal, the default, or full).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SECONDS_PER_ROUND="${1:-10}"
ROUNDS="${2:-1}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
SQLITE_SYNC="${SQLITE_SYNC:-normal}"
TMP="$(mktemp -d /tmp/weft-bench-ingest.XXXXXX)"
WEFT_PID=""
cleanup() {
  [ -n "$WEFT_PID" ] && kill "$WEFT_PID" 2>/dev/null && wait "$WEFT_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

status=0
printf '%-6s %12s %9s %9s %8s %8s\n' round "requests/s" p50_ms p99_ms non2xx runs
for round in $(seq "$ROUNDS"); do
  rm -rf "$TMP/data"
  "$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/data" --roles api,webhooks --sqlite-sync "$SQLITE_SYNC" \
    --log-level warn >"$TMP/weft.out" 2>"$TMP/weft.err" &
  WEFT_PID=$!
  for _ in $(seq 100); do grep -q '^listening on' "$TMP/weft.out" 2>/dev/null && break; sleep 0.1; done
  BASE="$(sed -n 's/^listening on //p' "$TMP/weft.out")"
  [ -n "$BASE" ] || { cat "$TMP/weft.err" >&2; exit 1; }
  doc=$(jq -n '{name: "bench-ingest", trigger: {type: "webhook", webhook: {response: {mode: "accepted"}}},
    steps: [{id: "pick", uses: "data.set", with: {value: "{{ trigger.body.asset_id }}"}},
            {id: "shape", uses: "data.set", with: {value: {asset: "{{ steps.pick.output }}"}}}]}')
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$BASE/api/v1/flows")
  id=$(jq -r .id <<<"$flow")
  curl -sf -X POST "$BASE/api/v1/flows/$id/activate" >/dev/null
  OUT=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_ROUND}s" --latency -s "$HERE/post.lua" \
    "$(jq -r .webhook_url <<<"$flow")" | grep '^RESULT')
  kill "$WEFT_PID"; wait "$WEFT_PID" 2>/dev/null || true; WEFT_PID=""
  runs=$(sqlite3 -readonly "$TMP/data/weft.db" "SELECT COUNT(*) FROM runs WHERE status = 'queued';")
  req=$(field requests "$OUT"); non=$(field non2xx "$OUT")
  printf '%-6s %12s %9s %9s %8s %8s\n' "$round" "$(field rps "$OUT")" "$(field p50_ms "$OUT")" \
    "$(field p99_ms "$OUT")" "$non" "$runs"
  [ "$non" = "0" ] || { echo "FAIL: non-2xx answers"; status=1; }
  # Every 202 wrk saw is a queued run; wrk drops at most one answer per connection.
  extra=$((runs - (req - non)))
  { [ "$extra" -ge 0 ] && [ "$extra" -le "$CONNECTIONS" ]; } || { echo "FAIL: runs ($runs) vs 202s seen"; status=1; }
done
exit $status
