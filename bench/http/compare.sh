#!/usr/bin/env bash
# Two weft binaries (and nginx, when installed) back to back, round after
# round, so that what else the machine is doing weighs on each alike: in each
# round, accepted webhooks (202) and GET /healthz with wrk on every server,
# the order of the servers turned round every other round. The servers run
# with --roles api,webhooks (no workers executing the runs behind, which
# would load the next server's phase), and after each webhook phase one API
# read waits until the store has imported every webhook taken in. Prints one
# line per phase with the time, the load average and weft's CPU time per
# request (user + system, the webhook's import included: what a request
# costs, whatever share of the cores the server got), then per round the
# ratios new / old. Stops by itself. Usage:
#   OLD_WEFT=/path/to/old/weft bench/http/compare.sh [seconds per phase, 8] [rounds, 3]
# Env: WEFT (default build/weft), OLD_WEFT (required), THREADS (wrk, 2),
#      CONNECTIONS (wrk, 16), NEW_ARGS / OLD_ARGS (extra `weft serve` flags).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
OLD_WEFT="${OLD_WEFT:?set OLD_WEFT to the binary to compare with}"
SECS="${1:-8}"
ROUNDS="${2:-3}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
POST_LUA="$ROOT/bench/webhook/post.lua"
TMP="$(mktemp -d /tmp/weft-bench-compare.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# start_weft BINARY NAME [ARGS...]: sets BASE_<NAME> and HOOK_<NAME>.
start_weft() {
  local bin="$1" name="$2"
  shift 2
  "$bin" serve --listen 127.0.0.1:0 --data "$TMP/$name" --roles api,webhooks --log-level warn "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=("$!")
  printf -v "PID_$name" '%s' "$!"
  for _ in $(seq 100); do grep -q '^listening on' "$TMP/$name.out" 2>/dev/null && break; sleep 0.1; done
  local base doc flow id
  base="$(sed -n 's/^listening on //p' "$TMP/$name.out")"
  [ -n "$base" ] || { cat "$TMP/$name.err" >&2; exit 1; }
  doc='{"name":"bench-compare","trigger":{"type":"webhook","webhook":{"response":{"mode":"accepted"}}},
        "steps":[{"id":"pick","uses":"data.set","with":{"value":"{{ trigger.body.asset_id }}"}}]}'
  flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$base/api/v1/flows")
  id=$(jq -r .id <<<"$flow")
  curl -sf -X POST "$base/api/v1/flows/$id/activate" >/dev/null
  printf -v "BASE_$name" '%s' "$base"
  printf -v "HOOK_$name" '%s' "$(jq -r .webhook_url <<<"$flow")"
  printf -v "FLOW_$name" '%s' "$id"
}

start_weft "$OLD_WEFT" old ${OLD_ARGS:-}
start_weft "$WEFT" new ${NEW_ARGS:-}
SERVERS=(old new)
if command -v nginx >/dev/null; then
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
  PIDS+=("$!")
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
  BASE_nginx="http://127.0.0.1:$PORT"
  HOOK_nginx="$BASE_nginx/hook"
  SERVERS+=(nginx)
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
wrk_run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$POST_LUA" "$1" | grep '^RESULT'; }

echo "new: $WEFT ${NEW_ARGS:-}; old: $OLD_WEFT ${OLD_ARGS:-}; wrk -t$THREADS -c$CONNECTIONS -d${SECS}s; $(nproc) cores"
printf '%-5s %-8s %-6s %-8s %10s %8s %8s %6s %8s  %s\n' round time server phase "req/s" p50_ms p99_ms non2xx cpu_us "load average"
declare -A RPS
for round in $(seq "$ROUNDS"); do
  order=("${SERVERS[@]}")
  if [ $((round % 2)) -eq 0 ]; then order=(new old); [ -n "${BASE_nginx:-}" ] && order+=(nginx); fi
  for s in "${order[@]}"; do
    for phase in webhook healthz; do
      base_var="BASE_$s"; hook_var="HOOK_$s"; pid_var="PID_$s"
      [ "$s" != nginx ] && c0=$(cpu_ticks "${!pid_var}")
      if [ "$phase" = webhook ]; then
        out=$(wrk_run "${!hook_var}")
        # The import of what was taken in is part of its cost: finish it here.
        if [ "$s" != nginx ]; then
          flow_var="FLOW_$s"
          curl -sf -m 120 "${!base_var}/api/v1/runs?flow_id=${!flow_var}&limit=1" >/dev/null || true
        fi
      else
        out=$(WRK_GET=1 wrk_run "${!base_var}/healthz")
      fi
      RPS[$round,$s,$phase]=$(field rps "$out")
      cpu_us=-
      if [ "$s" != nginx ]; then
        cpu_us=$(python3 -c "print(f'{($(cpu_ticks "${!pid_var}") - $c0) / $TCK * 1e6 / $(field requests "$out"):.1f}')")
      fi
      printf '%-5s %-8s %-6s %-8s %10s %8s %8s %6s %8s  %s\n' "$round" "$(date +%H:%M:%S)" "$s" "$phase" \
        "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" "$(field non2xx "$out")" "$cpu_us" "$(loadavg)"
    done
  done
done
echo
for round in $(seq "$ROUNDS"); do
  line="round $round: new / old webhook $(python3 -c "print(f'{${RPS[$round,new,webhook]}/${RPS[$round,old,webhook]}*100:.0f}%')")"
  line+=", healthz $(python3 -c "print(f'{${RPS[$round,new,healthz]}/${RPS[$round,old,healthz]}*100:.0f}%')")"
  if [ -n "${BASE_nginx:-}" ]; then
    line+="; new webhook / nginx $(python3 -c "print(f'{${RPS[$round,new,webhook]}/${RPS[$round,nginx,webhook]}*100:.0f}%')")"
  fi
  echo "$line"
done
