#!/usr/bin/env bash
# The cost of access control: requests/s of `GET /api/v1/flows`
# with an API token (`Authorization: Bearer wft_...`, users exist) against the
# same request in open mode (no user). Two servers on fresh data dirs, each
# with the same 20 flows; rounds alternate between them so drifting load from
# other work on the machine falls on both alike. Prints each round and the
# medians. A token is checked by its BLAKE2b hash against a cache of verified
# tokens (re-read from the store at most once a second); Argon2 runs only at
# sign-in, so the two should be close.
# Usage: bench/auth/run.sh [seconds per round, default 8] [rounds per mode, default 5]
# Env: WEFT (binary; default build/weft), THREADS (wrk, 2), CONNECTIONS (16).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SECS="${1:-8}"
ROUNDS="${2:-5}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
TMP="$(mktemp -d /tmp/weft-bench-auth.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

start() {  # start NAME: serve on a fresh port; prints the base URL
  local dir="$TMP/$1"
  "$WEFT" serve --listen 127.0.0.1:0 --data "$dir/data" --log-level warn >"$dir/out" 2>"$dir/err" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local base; base="$(sed -n 's/^listening on //p' "$dir/out")"
  [ -n "$base" ] || { cat "$dir/err" >&2; exit 1; }
  echo "$base"
}

add_flows() {  # add_flows BASE [curl header...]
  local base="$1"; shift
  for i in $(seq 20); do
    curl -sf -X POST "$@" -H 'Content-Type: application/json' "$base/api/v1/flows" \
      -d "{\"name\":\"bench-$i\",\"steps\":[{\"id\":\"a\",\"uses\":\"data.set\",\"with\":{\"value\":$i}}]}" >/dev/null
  done
}

mkdir -p "$TMP/open" "$TMP/auth"
OPEN="$(start open)"
add_flows "$OPEN"

printf 'bench-password-1\n' | "$WEFT" user add bench --role admin --password-stdin --data "$TMP/auth/data" >/dev/null
AUTH="$(start auth)"
login=$(curl -sf -c "$TMP/jar" -H 'Content-Type: application/json' "$AUTH/api/v1/auth/login" \
  -d '{"username":"bench","password":"bench-password-1"}')
csrf=$(jq -r .csrf_token <<<"$login")
TOKEN=$(curl -sf -b "$TMP/jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' "$AUTH/api/v1/tokens" \
  -d '{"name":"bench","role":"viewer"}' | jq -r .token)
add_flows "$AUTH" -b "$TMP/jar" -H "X-CSRF-Token: $csrf"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$AUTH/api/v1/flows")" = 401 ] || { echo "FAIL: no 401 without a token"; exit 1; }

round() {  # round URL [wrk header]: prints requests/s and the non-2xx count
  local out; out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" "$@")
  local rps non
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
  non=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
  echo "$rps ${non:-0}"
}

echo "weft at $WEFT; GET /api/v1/flows (20 flows); wrk -t$THREADS -c$CONNECTIONS -d${SECS}s x $ROUNDS rounds per mode; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-7s %12s %7s\n' round mode "requests/s" non2xx
open=(); auth=(); status=0
for r in $(seq "$ROUNDS"); do
  read -r rps non < <(round "$OPEN/api/v1/flows")
  printf '%-6s %-7s %12s %7s\n' "$r" open "$rps" "$non"; open+=("$rps")
  [ "$non" = 0 ] || status=1
  read -r rps non < <(round "$AUTH/api/v1/flows" -H "Authorization: Bearer $TOKEN")
  printf '%-6s %-7s %12s %7s\n' "$r" token "$rps" "$non"; auth+=("$rps")
  [ "$non" = 0 ] || status=1
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mo=$(median "${open[@]}"); ma=$(median "${auth[@]}")
echo "median open:  $mo requests/s"
echo "median token: $ma requests/s ($(awk -v a="$ma" -v o="$mo" 'BEGIN {printf "%.1f", 100*a/o}')% of open)"
[ "$status" = 0 ] || { echo "FAIL: non-2xx answers"; exit 1; }
