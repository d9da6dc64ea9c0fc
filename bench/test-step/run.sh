#!/usr/bin/env bash
# "Test step" latency: the time from sending
# POST /api/v1/flows/{id}/steps/{step_id}/test (the draft document and a sample,
# as the editor sends them) to having its answer, for a pure step (data.set
# with two expressions over the sample), over HTTP on loopback, one keep-alive
# connection as a browser uses. Prints p50, p90, p99 and max. Usage:
#   bench/test-step/run.sh [requests, default 500]
# Env: WEFT (binary; default build/weft).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEFT="${WEFT:-$ROOT/build/weft}"
N="${1:-500}"
TMP="$(mktemp -d /tmp/weft-bench-teststep.XXXXXX)"
WEFT_PID=""
cleanup() {
  [ -n "$WEFT_PID" ] && kill "$WEFT_PID" 2>/dev/null && wait "$WEFT_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT (make, or WEFT=...)" >&2; exit 1; }

"$WEFT" serve --listen 127.0.0.1:0 --data "$TMP/data" --log-level warn >"$TMP/weft.out" 2>"$TMP/weft.err" &
WEFT_PID=$!
for _ in $(seq 100); do grep -q '^listening on' "$TMP/weft.out" 2>/dev/null && break; sleep 0.1; done
BASE="$(sed -n 's/^listening on //p' "$TMP/weft.out")"
[ -n "$BASE" ] || { cat "$TMP/weft.err" >&2; exit 1; }

python3 - "$BASE" "$N" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
base, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
def call(method, path, body):
    if body is None:
        conn.request(method, path)
    else:
        conn.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")
doc = {"name": "bench-test-step", "trigger": {"type": "webhook"},
       "steps": [{"id": "pick", "uses": "data.set", "with": {"value": "{{ trigger.body.asset_id }}"}},
                 {"id": "shape", "uses": "data.set",
                  "with": {"value": {"asset": "{{ steps.pick.output }}", "n": "{{ $count(trigger.body.tags) }}"}}},
                 {"id": "send", "uses": "http.request", "with": {"url": "http://127.0.0.1:1/", "method": "POST"}}]}
status, flow = call("POST", "/api/v1/flows", doc)
assert status == 201, flow
body = {"flow": doc, "sample": {"trigger": {"body": {"asset_id": "A-1", "tags": ["x", "y", "z"]}},
                                "steps": {"pick": {"output": "A-1"}}}}
path = "/api/v1/flows/%s/steps/shape/test" % flow["id"]
for _ in range(20):  # warm-up
    call("POST", path, body)
times = []
for _ in range(n):
    t = time.perf_counter()
    status, out = call("POST", path, body)
    times.append((time.perf_counter() - t) * 1000)
    assert status == 200 and out["status"] == "succeeded" and out["output"] == {"asset": "A-1", "n": 3}, out
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print("test-step pure step over HTTP: %d requests  p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms  (server-side duration_ms of the last: %s)"
      % (n, q(0.5), q(0.9), q(0.99), times[-1], out["duration_ms"]))
status, runs = call("GET", "/api/v1/runs?flow_id=%s" % flow["id"], None)
assert len(runs["runs"]) == 0, "a test created a run"
PY
