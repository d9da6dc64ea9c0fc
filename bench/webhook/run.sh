#!/usr/bin/env bash
# Webhook throughput: weft in accepted and sync mode against nginx
# returning a fixed 200, with the same wrk script (16 connections, 200-byte
# JSON body) on loopback, in one run, and weft's GET /healthz (its HTTP layer
# alone, no store). Usage:
#   bench/webhook/run.sh [seconds per phase, default 10]
# Env: WEFT (binary; default build/weft), WORKERS (weft --workers, default 4),
#      THREADS (wrk threads, default 2), CONNECTIONS (default 16),
#      SQLITE_SYNC (weft --sqlite-sync: normal, the default, or full).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SECONDS_PER_PHASE="${1:-10}"
WORKERS="${WORKERS:-4}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
SQLITE_SYNC="${SQLITE_SYNC:-normal}"
TMP="$(mktemp -d /tmp/weft-bench-webhook.XXXXXX)"
WEFT_PID=""; NGINX_PID=""
cleanup() {
  [ -n "$WEFT_PID" ] && kill "$WEFT_PID" 2>/dev/null && wait "$WEFT_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
wrk_run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_PHASE}s" --latency -s "$HERE/post.lua" "$1" | grep '^RESULT'; }

[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

# ---- weft ----
"$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/data" --workers "$WORKERS" --sqlite-sync "$SQLITE_SYNC" --log-level warn >"$TMP/weft.out" 2>"$TMP/weft.err" &
WEFT_PID=$!
for _ in $(seq 100); do grep -q '^listening on' "$TMP/weft.out" 2>/dev/null && break; sleep 0.1; done
BASE="$(sed -n 's/^listening on //p' "$TMP/weft.out")"
[ -n "$BASE" ] || { cat "$TMP/weft.err" >&2; exit 1; }
mkflow() {  # name, response mode, last step
  local doc
  doc=$(jq -n --arg name "$1" --arg mode "$2" --argjson last "$3" '{name: $name,
    trigger: {type: "webhook", webhook: {response: {mode: $mode}}},
    steps: [{id: "pick", uses: "data.set", with: {value: "{{ trigger.body.asset_id }}"}}, $last]}')
  local flow; flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$BASE/api/v1/flows")
  local id; id=$(jq -r .id <<<"$flow")
  curl -sf -X POST "$BASE/api/v1/flows/$id/activate" >/dev/null
  echo "$id $(jq -r .webhook_url <<<"$flow")"
}
read -r ACC_ID ACC_URL < <(mkflow bench-accepted accepted '{"id":"shape","uses":"data.set","with":{"value":{"asset":"{{ steps.pick.output }}"}}}')
read -r SYNC_ID SYNC_URL < <(mkflow bench-sync sync '{"id":"reply","uses":"webhook.respond","with":{"status":200,"body":{"asset":"{{ steps.pick.output }}"}}}')
DB="$TMP/data/weft.db"
count() { sqlite3 -readonly "file:$DB?mode=ro" "PRAGMA busy_timeout=5000; $1" | tail -1; }

echo "weft $("$WEFT" --version 2>/dev/null || true) at $BASE; workers=$WORKERS; sqlite-sync=$SQLITE_SYNC; wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_PHASE}s; body 200 bytes"
START=$(date +%s.%N)
ACC=$(wrk_run "$ACC_URL")
# An API read waits for every webhook taken in so far to be in the database
# (the SQLite store's journal imports them shortly after the 202); the counts
# below read the file directly.
curl -sf "$BASE/api/v1/runs?flow_id=$ACC_ID&limit=1" >/dev/null
# Every accepted run must complete: wait until none of the flow's runs is unfinished.
for _ in $(seq 600); do
  left=$(count "SELECT COUNT(*) FROM runs WHERE flow_id='$ACC_ID' AND status IN ('queued','running');")
  [ "$left" = "0" ] && break; sleep 0.2
done
END=$(date +%s.%N)
RUNS=$(count "SELECT COUNT(*) FROM runs WHERE flow_id='$ACC_ID';")
DONE=$(count "SELECT COUNT(*) FROM runs WHERE flow_id='$ACC_ID' AND status='succeeded';")
D202=$(count "SELECT COUNT(*) FROM deliveries WHERE flow_id='$ACC_ID' AND status_code=202;")
SYNC=$(wrk_run "$SYNC_URL")
# weft's HTTP layer alone (router, Beast, its event loops): GET
# /healthz touches no store. The gap between it and the accepted phase is
# the webhook's own work: parse, the durable commit, the runs beside it.
HEALTH=$(WRK_GET=1 wrk_run "$BASE/healthz")

# ---- nginx, the ceiling ----
PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
}
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
NGX=$(wrk_run "http://127.0.0.1:$PORT/hook")

acc_rps=$(field rps "$ACC"); ngx_rps=$(field rps "$NGX")
acc_req=$(field requests "$ACC"); acc_non=$(field non2xx "$ACC")
ok202=$((acc_req - acc_non))
elapsed=$(python3 -c "print(f'{$END-$START:.2f}')")
echo
printf '%-22s %12s %9s %9s %8s\n' phase "requests/s" p50_ms p99_ms non2xx
printf '%-22s %12s %9s %9s %8s\n' "weft accepted (202)" "$acc_rps" "$(field p50_ms "$ACC")" "$(field p99_ms "$ACC")" "$acc_non"
printf '%-22s %12s %9s %9s %8s\n' "weft sync (200)" "$(field rps "$SYNC")" "$(field p50_ms "$SYNC")" "$(field p99_ms "$SYNC")" "$(field non2xx "$SYNC")"
printf '%-22s %12s %9s %9s %8s\n' "weft GET /healthz" "$(field rps "$HEALTH")" "$(field p50_ms "$HEALTH")" "$(field p99_ms "$HEALTH")" "$(field non2xx "$HEALTH")"
printf '%-22s %12s %9s %9s %8s\n' "nginx fixed 200" "$ngx_rps" "$(field p50_ms "$NGX")" "$(field p99_ms "$NGX")" "$(field non2xx "$NGX")"
echo
echo "accepted: 202s seen by wrk $ok202; runs committed $RUNS (deliveries answered 202: $D202); succeeded $DONE"
echo "accepted: runs completed/s (first request to last run finished, ${elapsed}s) $(python3 -c "print(f'{$DONE/($END-$START):.0f}')")"
echo "accepted / nginx = $(python3 -c "print(f'{$acc_rps/$ngx_rps*100:.1f}%')")   (bar: >= 40%)"
status=0
[ "$acc_non" = "0" ] || { echo "FAIL: non-2xx answers in accepted mode"; status=1; }
[ "$(field non2xx "$SYNC")" = "0" ] || { echo "FAIL: non-2xx answers in sync mode"; status=1; }
[ "$RUNS" = "$D202" ] || { echo "FAIL: runs ($RUNS) != deliveries answered 202 ($D202)"; status=1; }
[ "$DONE" = "$RUNS" ] || { echo "FAIL: not every accepted run succeeded ($DONE of $RUNS)"; status=1; }
# wrk drops the answers still in flight when its time is up: those runs were
# committed and answered, but not counted by wrk (at most one per connection).
extra=$((RUNS - ok202))
{ [ "$extra" -ge 0 ] && [ "$extra" -le "$CONNECTIONS" ]; } || { echo "FAIL: runs ($RUNS) vs 202s seen ($ok202)"; status=1; }
exit $status
