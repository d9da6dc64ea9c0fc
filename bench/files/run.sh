#!/usr/bin/env bash
# Files through a flow (docs/files.md): a SIZE_MB file of random bytes is
# downloaded from a local HTTP server into weft's file store and uploaded to
# the same server under another name, by a two-step flow. Prints:
#   - weft's MB/s for the copy against curl doing the same download and
#     upload alone (curl -o, then curl -T), and the ratio;
#   - weft's peak RSS growth during the copy (VmHWM - VmRSS before);
#   - the size of the run's rows in the database (runs + step_runs +
#     run_files), which holds a reference, not the bytes.
# Everything is on 127.0.0.1 and stops by itself. Usage:
#   bench/files/run.sh [SIZE_MB, default 1024]
# Env: WEFT (default build/weft), TMPDIR (where the bytes go; needs 3x SIZE_MB free).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SIZE_MB="${1:-1024}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-files.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }

mkdir -p "$TMP/blobs"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$TMP/blobs/source.bin"
SOURCE_SHA=$(sha256sum "$TMP/blobs/source.bin" | cut -d' ' -f1)

python3 "$ROOT/tests/servers/blob_server.py" "$TMP/blobs" >"$TMP/blob.out" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^READY' "$TMP/blob.out" 2>/dev/null && break; sleep 0.1; done
BLOBS="http://127.0.0.1:$(awk '/^READY/ {print $2}' "$TMP/blob.out")"

# curl alone: the same download, then the same upload.
t0=$(now)
curl -sf -o "$TMP/curl.bin" "$BLOBS/files/source.bin"
curl -sf -T "$TMP/curl.bin" -H 'Content-Type: application/octet-stream' "$BLOBS/upload/curl.bin" >/dev/null
t1=$(now)
CURL_S=$(echo "$t1 - $t0" | bc -l)
rm -f "$TMP/curl.bin"

"$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/data" --log-level warn >"$TMP/weft.out" 2>"$TMP/weft.err" &
WPID=$!
PIDS+=("$WPID")
for _ in $(seq 100); do grep -q '^listening on' "$TMP/weft.out" 2>/dev/null && break; sleep 0.1; done
BASE="$(sed -n 's/^listening on //p' "$TMP/weft.out")"
[ -n "$BASE" ] || { cat "$TMP/weft.err" >&2; exit 1; }
doc=$(jq -n --arg src "$BLOBS/files/source.bin" --arg dst "$BLOBS/upload/weft.bin" \
  '{name: "bench-files", steps: [
     {id: "get", uses: "http.request", with: {url: $src, timeout: "30m"}},
     {id: "put", uses: "http.request", with: {method: "PUT", url: $dst, timeout: "30m",
                                               body: "{{ steps.get.output.body }}"}}]}')
FLOW=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$doc" "$BASE/api/v1/flows" | jq -r .id)
RSS_BEFORE=$(kb "$WPID" VmRSS)
t0=$(now)
RUN=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{}' "$BASE/api/v1/flows/$FLOW/runs?wait=30m")
t1=$(now)
WEFT_S=$(echo "$t1 - $t0" | bc -l)
PEAK=$(kb "$WPID" VmHWM)
STATUS=$(jq -r .status <<<"$RUN")
[ "$STATUS" = succeeded ] || { echo "the run did not succeed: $RUN" >&2; exit 1; }
GOT_SHA=$(jq -r '.steps[] | select(.path == "put") | .output.body.sha256' <<<"$RUN")
[ "$GOT_SHA" = "$SOURCE_SHA" ] || { echo "the upload's sha256 differs: $GOT_SHA vs $SOURCE_SHA" >&2; exit 1; }
RUN_ID=$(jq -r .id <<<"$RUN")
curl -sf -X POST "$BASE/api/v1/flows/$FLOW/deactivate" >/dev/null || true
kill "$WPID"; wait "$WPID" 2>/dev/null || true
ROWS=$(sqlite3 "$TMP/data/weft.db" "SELECT
  (SELECT SUM(LENGTH(id)+LENGTH(flow_id)+LENGTH(COALESCE(trigger,''))+LENGTH(COALESCE(input,''))+
          LENGTH(COALESCE(output,''))+LENGTH(COALESCE(error,''))+100) FROM runs WHERE id = '$RUN_ID') +
  (SELECT SUM(LENGTH(path)+LENGTH(step_id)+LENGTH(uses)+LENGTH(COALESCE(input,''))+LENGTH(COALESCE(output,''))+
          LENGTH(COALESCE(error,''))+LENGTH(COALESCE(logs,''))+LENGTH(COALESCE(state,''))+60)
     FROM step_runs WHERE run_id = '$RUN_ID') +
  (SELECT COUNT(*) * 60 FROM run_files WHERE run_id = '$RUN_ID')")

MB=$SIZE_MB
printf 'files: %d MiB HTTP download + upload through a flow\n' "$MB"
printf '  curl alone:  %.2f s  %.0f MB/s\n' "$CURL_S" "$(echo "$MB * 1.048576 / $CURL_S" | bc -l)"
printf '  weft flow:   %.2f s  %.0f MB/s  (%.0f%% of curl)\n' "$WEFT_S" \
  "$(echo "$MB * 1.048576 / $WEFT_S" | bc -l)" "$(echo "100 * $CURL_S / $WEFT_S" | bc -l)"
printf '  weft peak RSS growth: %.1f MB (RSS before %.1f MB)\n' "$(echo "($PEAK - $RSS_BEFORE) / 1024" | bc -l)" \
  "$(echo "$RSS_BEFORE / 1024" | bc -l)"
printf '  the run in the database: about %d bytes (runs + step_runs + run_files rows)\n' "$ROWS"
