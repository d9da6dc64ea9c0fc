#!/usr/bin/env bash
# Runs each libFuzzer harness for FUZZ_SECONDS (default 60) over a working
# corpus in $FUZZ_BUILD/corpus/<harness>, seeded from fuzz/corpus/<harness>
# and from the test suites' data (tests/data/jsonata, tests/data/cron), the
# API's routes (src/server/api/openapi.json) and the documented connection document.
# Fails when a harness crashes, leaks, hangs or runs out of memory; the
# input is left in $FUZZ_BUILD/artifacts/. Prints exec/s and corpus size.
# FUZZ_RUNS=N (FUZZ_SEED, default 1): N inputs per harness from a fixed seed,
# the same run on every machine (what CI should use).
#   fuzz/run.sh [harness...]     (make fuzz FUZZ_SECONDS=N runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-asan}
SECONDS_EACH=${FUZZ_SECONDS:-60}
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(expr_fuzz template_fuzz cron_fuzz flow_fuzz webhook_fuzz journal_fuzz
                                         connection_fuzz http_fuzz manifest_fuzz)
mkdir -p "$BUILD/artifacts" "$BUILD/seeds"

# Seeds drawn from the test suites (each run: the data may have changed).
seed_from_suites() {
  local out="$BUILD/seeds"
  python3 - "$out" <<'PY'
import glob, hashlib, json, os, re, sys
out = sys.argv[1]
def put(kind, text):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    b = text.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, hashlib.sha1(b).hexdigest()[:16]), "wb") as f:
        f.write(b)
for path in glob.glob("tests/data/jsonata/groups/**/*.json", recursive=True):
    try:
        cases = json.load(open(path, encoding="utf-8"))
    except (ValueError, OSError):
        continue
    for c in cases if isinstance(cases, list) else [cases]:
        if isinstance(c, dict) and isinstance(c.get("expr"), str):
            put("expr_fuzz", c["expr"])
            put("template_fuzz", "x {{ " + c["expr"] + " }} y")
if os.path.exists("tests/data/cron/public.jsonl"):
    for line in open("tests/data/cron/public.jsonl", encoding="utf-8"):
        try:
            c = json.loads(line)
        except ValueError:
            continue
        if isinstance(c.get("expr"), str):
            put("cron_fuzz", c["expr"] + ("\t" + c["tz"] if isinstance(c.get("tz"), str) else ""))
# Every route of the API as a request (a body where it takes one).
try:
    api = json.load(open("src/server/api/openapi.json", encoding="utf-8"))
except (ValueError, OSError):
    api = {}
for path, ops in api.get("paths", {}).items():
    target = re.sub(r"\{[^}/]*\}", "x1", path)
    for method, op in ops.items() if isinstance(ops, dict) else []:
        if method.upper() not in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
            continue
        head = f"{method.upper()} {target}?limit=5 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        body = '{"name": "a"}' if isinstance(op, dict) and "requestBody" in op else ""
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        put("http_fuzz", head + "\r\n" + body)
# The connection document of docs/flow-format.md (YAML; the committed seeds have JSON).
try:
    text = open("docs/flow-format.md", encoding="utf-8").read()
    block = text.split("## The connection document", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    put("connection_fuzz", block.lstrip("\n"))
except (IndexError, OSError):
    pass
# The catalog's manifests, and a small slice of each vendor spec (its head,
# security schemes and first operations: whole specs are megabytes).
for path in glob.glob("connectors/*/connector.yaml"):
    put("manifest_fuzz", open(path, encoding="utf-8").read())
for path in glob.glob("tests/data/openapi/*/*.json"):
    try:
        spec = json.load(open(path, encoding="utf-8"))
    except (ValueError, OSError):
        continue
    small = {k: spec[k] for k in ("openapi", "swagger", "info", "servers", "host", "basePath",
                                  "securityDefinitions") if k in spec}
    comps = spec.get("components", {})
    if "securitySchemes" in comps:
        small["components"] = {"securitySchemes": comps["securitySchemes"]}
    for n in (3, 2, 1, 0):  # under the fuzzers' -max_len
        small["paths"] = dict(list(spec.get("paths", {}).items())[:n])
        text = json.dumps(small, indent=1)
        if len(text) < 16000:
            put("manifest_fuzz", text)
            break
PY
}
seed_from_suites

status=0
printf '%-16s %10s %12s %s\n' harness exec/s corpus result
for h in "${HARNESSES[@]}"; do
  bin="$BUILD/fuzz/$h"
  [ -x "$bin" ] || { echo "$h: not built ($bin)"; status=1; continue; }
  work="$BUILD/corpus/$h"
  limit=(-max_total_time="$SECONDS_EACH")
  if [ -n "${FUZZ_RUNS:-}" ]; then
    # Reproducible: a fixed number of inputs from a fixed seed, starting from
    # the committed seeds only (a fresh working corpus each time), so every
    # machine makes the same run; the time stays an upper bound.
    work="$BUILD/corpus-fixed/$h"
    rm -rf "$work"
    limit=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}" -max_total_time="$((SECONDS_EACH * 4))")
  fi
  mkdir -p "$work"
  dirs=("$work")
  [ -d "fuzz/corpus/$h" ] && dirs+=("fuzz/corpus/$h")
  [ -d "$BUILD/seeds/$h" ] && dirs+=("$BUILD/seeds/$h")
  log="$BUILD/artifacts/$h.log"
  result=ok
  if ! "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
       -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h-" "${dirs[@]}" >"$log" 2>&1; then
    result="FAILED (see $log)"
    status=1
  fi
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  files=$(find "$work" -type f | wc -l)
  printf '%-16s %10s %12s %s\n' "$h" "${execs:-?}" "$files" "$result"
done
exit $status
