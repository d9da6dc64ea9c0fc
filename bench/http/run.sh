#!/usr/bin/env bash
# The HTTP layer under slow and idle clients. In one run:
#   1. weft's webhook (accepted mode) alone: wrk req/s and p99;
#   2. the same with IDLE keep-alive connections and SLOW slow-header
#      connections held open by bench/http/clients.py, and weft's RSS; then
#      alone again once they are gone (the lone phases bracket the loaded
#      one: the store grows and the machine's load drifts between them);
#   3. GET /healthz (the HTTP layer without the store), with and without them;
#   4. the same webhook and /healthz on OLD_WEFT (a binary of the previous,
#      thread-per-connection layer) when given, and whether /healthz answers
#      there while the slow clients are open;
#   5. nginx returning a fixed 200, with the same wrk script.
# Every load is on 127.0.0.1 and stops by itself. Usage:
#   bench/http/run.sh [seconds per phase, default 10]
# Env: WEFT (default build/weft), OLD_WEFT (none: phase 4 skipped),
#      IDLE (default 10000), SLOW (default 2000), THREADS (wrk, 2),
#      CONNECTIONS (wrk, 16), WORKERS (weft --workers, 4).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
OLD_WEFT="${OLD_WEFT:-}"
SECS="${1:-10}"
IDLE="${IDLE:-10000}"
SLOW="${SLOW:-2000}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
WORKERS="${WORKERS:-4}"
POST_LUA="$ROOT/bench/webhook/post.lua"
TMP="$(mktemp -d /tmp/weft-bench-http.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
wrk_run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$POST_LUA" "$1" | grep '^RESULT'; }
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

# start_weft BINARY NAME [ARGS...]: starts it, sets BASE and WPID, creates an accepted webhook flow (HOOK).
start_weft() {
  local bin="$1" name="$2"
  shift 2
  "$bin" serve --listen 127.0.0.1:0 --data "$TMP/$name" --workers "$WORKERS" --log-level warn "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  WPID=$!
  PIDS+=("$WPID")
  for _ in $(seq 100); do grep -q '^listening on' "$TMP/$name.out" 2>/dev/null && break; sleep 0.1; done
  BASE="$(sed -n 's/^listening on //p' "$TMP/$name.out")"
  [ -n "$BASE" ] || { cat "$TMP/$name.err" >&2; exit 1; }
  local doc flow id
  doc='{"name":"bench-http","trigger":{"type":"webhook","webhook":{"response":{"mode":"accepted"}}},
        "steps":[{"id":"pick","uses":"data.set","with":{"value":"{{ trigger.body.asset_id }}"}}]}'
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$BASE/api/v1/flows")
  id=$(jq -r .id <<<"$flow")
  curl -sf -X POST "$BASE/api/v1/flows/$id/activate" >/dev/null
  HOOK="$(jq -r .webhook_url <<<"$flow")"
}
stop_weft() { kill "$WPID"; wait "$WPID" 2>/dev/null || true; }

# start_clients PORT SECONDS: idle and slow clients; waits until they are (nearly) all open.
start_clients() {
  python3 "$HERE/clients.py" 127.0.0.1 "$1" "$IDLE" "$SLOW" "$2" >"$TMP/clients.out" 2>&1 &
  CPID=$!
  PIDS+=("$CPID")
  for _ in $(seq 240); do
    local last idle slow
    last=$(tail -1 "$TMP/clients.out" 2>/dev/null || true)
    idle=$(field idle "$last"); slow=$(field slow "$last")
    # Slow clients are cut at the head deadline and reconnect: most, not all, are open at any moment.
    if [ -n "$idle" ] && [ "$idle" -ge $((IDLE * 99 / 100)) ] && [ "$slow" -ge $((SLOW * 90 / 100)) ]; then return 0; fi
    sleep 0.5
  done
  echo "the clients did not all open: $(tail -1 "$TMP/clients.out")" >&2
}
stop_clients() { kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; }
port_of() { sed 's/.*://' <<<"$1"; }

echo "$(date '+%F %T'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "weft $("$WEFT" --version 2>/dev/null || true); wrk -t$THREADS -c$CONNECTIONS -d${SECS}s, 200-byte JSON; idle=$IDLE slow=$SLOW"
# ---- the new layer ----
# 10,000 idle plus 2,000 slow are over the default --max-connections (10,000).
start_weft "$WEFT" new --max-connections $((IDLE + SLOW + 1000))
RSS0=$(rss_mb "$WPID"); THR0=$(threads "$WPID")
HOOK_ALONE=$(wrk_run "$HOOK")
HEALTH_ALONE=$(WRK_GET=1 wrk_run "$BASE/healthz")
RSS1=$(rss_mb "$WPID")
start_clients "$(port_of "$BASE")" $((SECS * 2 + 90))
OPEN=$(tail -1 "$TMP/clients.out")
RSS2=$(rss_mb "$WPID"); THR2=$(threads "$WPID")
HOOK_LOADED=$(wrk_run "$HOOK")
HEALTH_LOADED=$(WRK_GET=1 wrk_run "$BASE/healthz")
OPEN_AFTER=$(tail -1 "$TMP/clients.out")
RSS3=$(rss_mb "$WPID")
stop_clients
HOOK_AFTER=$(wrk_run "$HOOK")
stop_weft

# ---- the old layer ----
if [ -n "$OLD_WEFT" ]; then
  start_weft "$OLD_WEFT" old
  OLD_HOOK=$(wrk_run "$HOOK")
  OLD_HEALTH=$(WRK_GET=1 wrk_run "$BASE/healthz")
  # Its default limit is 4096 connections: hold them with slow clients.
  IDLE_SAVED=$IDLE; SLOW_SAVED=$SLOW; IDLE=0; SLOW=4096
  start_clients "$(port_of "$BASE")" 40 || true
  OLD_OPEN=$(tail -1 "$TMP/clients.out")
  OLD_PROBE=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$BASE/healthz" || true)
  stop_clients
  IDLE=$IDLE_SAVED; SLOW=$SLOW_SAVED
  stop_weft
fi

# ---- nginx, the ceiling ----
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
PIDS+=("$NGINX_PID")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
NGX=$(wrk_run "http://127.0.0.1:$PORT/hook")

row() { printf '%-44s %10s %9s %9s %7s\n' "$1" "$(field rps "$2")" "$(field p50_ms "$2")" "$(field p99_ms "$2")" "$(field non2xx "$2")"; }
echo
printf '%-44s %10s %9s %9s %7s\n' phase "req/s" p50_ms p99_ms non2xx
row "webhook (202), alone" "$HOOK_ALONE"
row "webhook (202), with idle+slow clients" "$HOOK_LOADED"
row "webhook (202), alone again after them" "$HOOK_AFTER"
row "GET /healthz, alone" "$HEALTH_ALONE"
row "GET /healthz, with idle+slow clients" "$HEALTH_LOADED"
if [ -n "$OLD_WEFT" ]; then
  row "old layer: webhook (202)" "$OLD_HOOK"
  row "old layer: GET /healthz" "$OLD_HEALTH"
fi
row "nginx fixed 200" "$NGX"
echo
echo "clients when the loaded phase began: $OPEN; at its end: $OPEN_AFTER"
echo "weft RSS: ${RSS0} MB at start, ${RSS1} MB after the lone phases, ${RSS2} MB with the clients open, ${RSS3} MB at the end; threads ${THR0} -> ${THR2}"
echo "ended $(date '+%T'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$(field rps "$HOOK_ALONE")" "$(field rps "$HOOK_LOADED")" "$(field p99_ms "$HOOK_LOADED")" "$RSS1" "$RSS3" "$(field rps "$HOOK_AFTER")" <<'PY'
import sys
alone, loaded, p99, rss1, rss3, after = map(float, sys.argv[1:])
print(f"webhook req/s with the clients / alone before = {loaded / alone * 100:.1f}%, "
      f"/ mean of alone before and after = {loaded / ((alone + after) / 2) * 100:.1f}%  (goal >= 90%)")
print(f"webhook p99 with the clients = {p99:.2f} ms  (goal < 20 ms)")
print(f"RSS added by the clients = {rss3 - rss1:.0f} MB  (goal < 200 MB)")
PY
if [ -n "$OLD_WEFT" ]; then
  echo "old layer with 4096 slow clients ($OLD_OPEN): GET /healthz answered '${OLD_PROBE:-none}' within 5 s"
  python3 -c "print(f'webhook req/s new / old = {$(field rps "$HOOK_ALONE")/$(field rps "$OLD_HOOK")*100:.1f}%; /healthz new / old = {$(field rps "$HEALTH_ALONE")/$(field rps "$OLD_HEALTH")*100:.1f}%')"
fi
