#!/usr/bin/env bash
# Runs each libFuzzer harness for FUZZ_SECONDS (default 60) over a working
# corpus in $FUZZ_BUILD/corpus/<harness>, seeded from fuzz/corpus/<harness>
# and from the test suites' data (tests/data/jsonata, tests/data/cron).
# Fails when a harness crashes, leaks, hangs or runs out of memory; the
# input is left in $FUZZ_BUILD/artifacts/. Prints exec/s and corpus size.
#   fuzz/run.sh [harness...]     (make fuzz FUZZ_SECONDS=N runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(expr_fuzz template_fuzz cron_fuzz flow_fuzz webhook_fuzz journal_fuzz)
mkdir -p "$BUILD/artifacts" "$BUILD/seeds"

# Seeds drawn from the test suites (each run: the data may have changed).
seed_from_suites() {
  local out="$BUILD/seeds"
  python3 - "$out" <<'PY'
import glob, hashlib, json, os, sys
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
PY
}
seed_from_suites

status=0
printf '%-16s %10s %12s %s\n' harness exec/s corpus result
for h in "${HARNESSES[@]}"; do
  bin="$BUILD/fuzz/$h"
  [ -x "$bin" ] || { echo "$h: not built ($bin)"; status=1; continue; }
  work="$BUILD/corpus/$h"
  mkdir -p "$work"
  dirs=("$work")
  [ -d "fuzz/corpus/$h" ] && dirs+=("fuzz/corpus/$h")
  [ -d "$BUILD/seeds/$h" ] && dirs+=("$BUILD/seeds/$h")
  log="$BUILD/artifacts/$h.log"
  result=ok
  if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
       -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h-" "${dirs[@]}" >"$log" 2>&1; then
    result="FAILED (see $log)"
    status=1
  fi
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  files=$(find "$work" -type f | wc -l)
  printf '%-16s %10s %12s %s\n' "$h" "${execs:-?}" "$files" "$result"
done
exit $status
