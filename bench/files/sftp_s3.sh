#!/usr/bin/env bash
# Files through a flow, SFTP to S3 (docs/files.md): a SIZE_MB file of random
# bytes on a local sshd is read by `sftp.get` into weft's file store and
# written by `s3.put` to s3rver (a multipart upload in 64 MiB parts), by a
# two-step flow. Prints:
#   - weft's MB/s for the copy against curl doing the same download
#     (sftp://) and upload (one S3 PUT signed with --aws-sigv4) alone, and the ratio;
#   - weft's peak RSS growth during the copy (VmHWM - VmRSS before);
#   - the size of the run's rows in the database (runs + step_runs + run_files).
# Everything is on 127.0.0.1 and stops by itself. Needs /usr/sbin/sshd, node
# with tests/servers' npm packages, jq, sqlite3, bc. Usage:
#   bench/files/sftp_s3.sh [SIZE_MB, default 1024]
# Env: WEFT (default build/weft), TMPDIR (where the bytes go; needs 5x SIZE_MB free).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
SIZE_MB="${1:-1024}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-sftp-s3.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }
[ -d "$ROOT/tests/servers/node_modules/s3rver" ] || { echo "npm ci in tests/servers first" >&2; exit 1; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
wait_line() { for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

mkdir -p "$TMP/sftp" "$TMP/bucket" "$TMP/ssh"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$TMP/sftp/source.bin"
SOURCE_SHA=$(sha256sum "$TMP/sftp/source.bin" | cut -d' ' -f1)

# sshd on a free loopback port, keys of its own.
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$TMP/ssh/host_key"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$TMP/ssh/user_key"
cp "$TMP/ssh/user_key.pub" "$TMP/ssh/authorized_keys"
SSH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/ssh/sshd_config" <<CFG
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $TMP/ssh/host_key
AuthorizedKeysFile $TMP/ssh/authorized_keys
PidFile $TMP/ssh/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin yes
Subsystem sftp internal-sftp
CFG
/usr/sbin/sshd -D -f "$TMP/ssh/sshd_config" -E "$TMP/ssh/sshd.log" &
PIDS+=($!)
USER_NAME=$(id -un)
node "$ROOT/tests/servers/s3_server.js" "$TMP/bucket" >"$TMP/s3.out" &
PIDS+=($!)
wait_line "$TMP/s3.out" '^READY' || { echo "s3rver did not start" >&2; exit 1; }
S3="http://127.0.0.1:$(awk '/^READY/ {print $2}' "$TMP/s3.out")"
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null && break; sleep 0.1; done

# curl alone: the same download, then the same upload.
t0=$(now)
curl -sSf -k --key "$TMP/ssh/user_key" --pubkey "$TMP/ssh/user_key.pub" \
  -o "$TMP/curl.bin" "sftp://$USER_NAME@127.0.0.1:$SSH_PORT$TMP/sftp/source.bin"
tm=$(now)
curl -sSf --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER -T "$TMP/curl.bin" \
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -H 'Content-Type: application/octet-stream' \
  "$S3/test-bucket/curl.bin" >/dev/null
t1=$(now)
CURL_S=$(echo "$t1 - $t0" | bc -l)
CURL_GET_S=$(echo "$tm - $t0" | bc -l)
CURL_PUT_S=$(echo "$t1 - $tm" | bc -l)
rm -f "$TMP/curl.bin" "$TMP/bucket/test-bucket/curl.bin."*

"$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/data" --log-level warn >"$TMP/weft.out" 2>"$TMP/weft.err" &
WPID=$!
PIDS+=("$WPID")
wait_line "$TMP/weft.out" '^listening on' || { cat "$TMP/weft.err" >&2; exit 1; }
BASE="$(sed -n 's/^listening on //p' "$TMP/weft.out")"
post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$BASE$1"; }
post /api/v1/connections "$(jq -n --arg port "$SSH_PORT" --arg user "$USER_NAME" \
  --rawfile key "$TMP/ssh/user_key" \
  '{name: "bench-sftp", connector: "sftp", settings: {host: "127.0.0.1", port: ($port | tonumber), timeout: "30m"},
    auth: {type: "private_key", username: $user, private_key: $key}}')" >/dev/null
post /api/v1/connections "$(jq -n --arg ep "$S3" \
  '{name: "bench-s3", connector: "s3", settings: {bucket: "test-bucket", endpoint: $ep, path_style: true, timeout: "30m"},
    auth: {type: "access_key", access_key_id: "S3RVER", secret_access_key: "S3RVER"}}')" >/dev/null
doc=$(jq -n --arg path "$TMP/sftp/source.bin" \
  '{name: "bench-sftp-s3", steps: [
     {id: "get", uses: "sftp.get", connection: "bench-sftp", timeout: "30m", with: {path: $path, as: "file"}},
     {id: "put", uses: "s3.put", connection: "bench-s3", timeout: "30m",
      with: {key: "weft.bin", file: "{{ steps.get.output.file }}"}}]}')
FLOW=$(post /api/v1/flows "$doc" | jq -r .id)
RSS_BEFORE=$(kb "$WPID" VmRSS)
t0=$(now)
RUN=$(post "/api/v1/flows/$FLOW/runs?wait=30m" '{}')
t1=$(now)
WEFT_S=$(echo "$t1 - $t0" | bc -l)
PEAK=$(kb "$WPID" VmHWM)
STATUS=$(jq -r .status <<<"$RUN")
[ "$STATUS" = succeeded ] || { echo "the run did not succeed: $RUN" >&2; exit 1; }
GOT_SHA=$(jq -r '.steps[] | select(.path == "put") | .output.sha256' <<<"$RUN")
[ "$GOT_SHA" = "$SOURCE_SHA" ] || { echo "the upload's sha256 differs: $GOT_SHA vs $SOURCE_SHA" >&2; exit 1; }
STORED_SHA=$(sha256sum "$TMP/bucket/test-bucket/weft.bin._S3rver_object" | cut -d' ' -f1)
[ "$STORED_SHA" = "$SOURCE_SHA" ] || { echo "the object's sha256 differs: $STORED_SHA" >&2; exit 1; }
RUN_ID=$(jq -r .id <<<"$RUN")
GET_MS=$(jq -r '.steps[] | select(.path == "get") | .duration_ms' <<<"$RUN")
PUT_MS=$(jq -r '.steps[] | select(.path == "put") | .duration_ms' <<<"$RUN")
kill "$WPID"; wait "$WPID" 2>/dev/null || true
ROWS=$(sqlite3 "$TMP/data/weft.db" "SELECT
  (SELECT SUM(LENGTH(id)+LENGTH(flow_id)+LENGTH(COALESCE(trigger,''))+LENGTH(COALESCE(input,''))+
          LENGTH(COALESCE(output,''))+LENGTH(COALESCE(error,''))+100) FROM runs WHERE id = '$RUN_ID') +
  (SELECT SUM(LENGTH(path)+LENGTH(step_id)+LENGTH(uses)+LENGTH(COALESCE(input,''))+LENGTH(COALESCE(output,''))+
          LENGTH(COALESCE(error,''))+LENGTH(COALESCE(logs,''))+LENGTH(COALESCE(state,''))+60)
     FROM step_runs WHERE run_id = '$RUN_ID') +
  (SELECT COUNT(*) * 60 FROM run_files WHERE run_id = '$RUN_ID')")

MB=$SIZE_MB
printf 'files: %d MiB SFTP download + S3 upload through a flow\n' "$MB"
printf '  curl alone:  %.2f s  %.0f MB/s  (download %.2f s, upload %.2f s)\n' "$CURL_S" \
  "$(echo "$MB * 1.048576 / $CURL_S" | bc -l)" "$CURL_GET_S" "$CURL_PUT_S"
printf '  weft flow:   %.2f s  %.0f MB/s  (%.0f%% of curl)\n' "$WEFT_S" \
  "$(echo "$MB * 1.048576 / $WEFT_S" | bc -l)" "$(echo "100 * $CURL_S / $WEFT_S" | bc -l)"
printf '               sftp.get %.2f s, s3.put %.2f s\n' "$(echo "$GET_MS / 1000" | bc -l)" \
  "$(echo "$PUT_MS / 1000" | bc -l)"
printf '  weft peak RSS growth: %.1f MB (RSS before %.1f MB)\n' "$(echo "($PEAK - $RSS_BEFORE) / 1024" | bc -l)" \
  "$(echo "$RSS_BEFORE / 1024" | bc -l)"
printf '  the run in the database: about %d bytes (runs + step_runs + run_files rows)\n' "$ROWS"
