#!/usr/bin/env bash
# Several weft nodes on one PostgreSQL. Prints:
#  1. webhook accepted-mode requests/s into one node, and into three nodes at
#     once (a wrk per node), with no worker running (ingest alone);
#  2. runs completed per second of a 3-step flow (three data.set steps reading
#     each other through {{ }}) with 1, 2 and 3 worker nodes draining the same
#     backlog: runs queued first (webhooks into an API-only node), then N nodes with --roles workers start;
#     the rate is runs / (last run finished - first run started), from the
#     runs' own times in the database.
# Needs a PostgreSQL: run it through scripts/test-postgres, which makes a
# throwaway cluster and sets WEFT_TEST_DB:
#   scripts/test-postgres --run bench/cluster/run.sh               (fsync off)
#   WEFT_PG_DURABLE=1 scripts/test-postgres --run bench/cluster/run.sh
# Env: WEFT (binary; default build/weft), QUEUE_SECONDS (webhook load that
#      makes each backlog, default 3), WORKERS (per node, default 4),
#      SECONDS_WRK (ingest phases, default 8), NODES (default "1 2 3"),
#      SKIP_INGEST=1 (only the runs/s part).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
QUEUE_SECONDS="${QUEUE_SECONDS:-3}"
WORKERS="${WORKERS:-4}"
SECONDS_WRK="${SECONDS_WRK:-8}"
DB="${WEFT_TEST_DB:?run through scripts/test-postgres --run (WEFT_TEST_DB is not set)}"
export WEFT_SECRET_KEY="${WEFT_SECRET_KEY:-$(printf '5a%.0s' $(seq 32))}"
TMP="$(mktemp -d /tmp/weft-bench-cluster.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

sql() { psql -qtAX "$DB" -c "$1"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# start_node NAME ROLES -> sets BASE to its URL
start_node() {
  local name=$1 roles=$2
  "$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/$name" --db "$DB" --roles "$roles" \
    --workers "$WORKERS" --log-level warn >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=($!)
  for _ in $(seq 150); do grep -q '^listening on' "$TMP/$name.out" 2>/dev/null && break; sleep 0.1; done
  BASE="$(sed -n 's/^listening on //p' "$TMP/$name.out")"
  [ -n "$BASE" ] || { cat "$TMP/$name.err" >&2; exit 1; }
}
stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
mkflow() {  # base name -> "id url"
  local doc flow id
  doc=$(jq -n --arg name "$2" '{name: $name, trigger: {type: "webhook"},
    steps: [{id: "pick", uses: "data.set", with: {value: "{{ trigger.body.asset_id }}"}},
            {id: "shape", uses: "data.set", with: {value: {asset: "{{ steps.pick.output }}"}}},
            {id: "done", uses: "data.set", with: {value: "{{ steps.shape.output.asset }}"}}]}')
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$1/api/v1/flows")
  id=$(jq -r .id <<<"$flow")
  curl -sf -X POST "$1/api/v1/flows/$id/activate" >/dev/null
  echo "$id $(jq -r .webhook_url <<<"$flow")"
}
wrk_run() {  # url connections seconds
  wrk -t1 -c"$2" -d"$3s" --latency -s "$ROOT/bench/webhook/post.lua" "$1" | grep '^RESULT'
}

echo "PostgreSQL: $(sql 'SHOW server_version') fsync=$(sql 'SHOW fsync') synchronous_commit=$(sql 'SHOW synchronous_commit')"
echo "weft: $WEFT; $WORKERS workers per node; $(nproc) cores shared with whatever else runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo

# ---- 1. webhook ingest, accepted mode, no workers -------------------------------------
if [ "${SKIP_INGEST:-0}" != 1 ]; then
start_node ingest1 api,webhooks; B1=$BASE
start_node ingest2 api,webhooks; B2=$BASE
start_node ingest3 api,webhooks; B3=$BASE
read -r FID URL < <(mkflow "$B1" "bench-ingest-$RANDOM")
P=${URL#*/hooks/}
one=$(wrk_run "$B1/hooks/$P" 16 "$SECONDS_WRK")
printf 'accepted, 1 node  (16 connections):      %8s requests/s  p50 %s ms  p99 %s ms  non-2xx %s\n' \
  "$(field rps "$one")" "$(field p50_ms "$one")" "$(field p99_ms "$one")" "$(field non2xx "$one")"
WRKS=()
for b in "$B1" "$B2" "$B3"; do wrk_run "$b/hooks/$P" 8 "$SECONDS_WRK" >"$TMP/wrk.$RANDOM" & WRKS+=($!); done
for w in "${WRKS[@]}"; do wait "$w"; done
total=0; non=0
for f in "$TMP"/wrk.*; do
  total=$(python3 -c "print($total + $(field rps "$(cat "$f")"))")
  non=$((non + $(field non2xx "$(cat "$f")")))
done
printf 'accepted, 3 nodes (3 x 8 connections):  %8.0f requests/s  (sum)  non-2xx %s\n' "$total" "$non"
queued=$(sql "SELECT count(*) FROM runs WHERE flow_id = '$FID' AND status = 'queued'")
echo "runs queued by the ingest phase: $queued (none executed: no worker node)"
sql "DELETE FROM runs WHERE flow_id = '$FID'" >/dev/null
stop_nodes
echo
fi

# ---- 2. runs completed per second with 1, 2, 3 worker nodes ---------------------------
for n in ${NODES:-1 2 3}; do
  start_node front api,webhooks; F=$BASE
  read -r FID URL < <(mkflow "$F" "bench-drain-$n-$RANDOM")
  [ -n "$FID" ] || { echo "could not create the flow on $F:" >&2; tail -5 "$TMP/front.err" >&2; exit 1; }
  wrk_run "$URL" 16 "$QUEUE_SECONDS" >/dev/null || { echo "wrk failed against $URL" >&2; exit 1; }
  for i in $(seq "$n"); do start_node "worker$i" workers; done
  for _ in $(seq 1200); do
    left=$(sql "SELECT count(*) FROM runs WHERE flow_id = '$FID' AND status IN ('queued','running')")
    [ "$left" = "0" ] && break; sleep 0.25
  done
  read -r done_n secs < <(sql "SELECT count(*), (max(finished_at) - min(started_at)) / 1000.0
                                FROM runs WHERE flow_id = '$FID' AND status = 'succeeded'" | tr '|' ' ')
  printf '%d worker node(s): %6d runs of 3 steps in %6.2f s = %7.0f runs completed/s  (left unfinished: %s)\n' \
    "$n" "$done_n" "$secs" "$(python3 -c "print($done_n / $secs)")" "$left"
  sql "DELETE FROM runs WHERE flow_id = '$FID'" >/dev/null
  stop_nodes
done
