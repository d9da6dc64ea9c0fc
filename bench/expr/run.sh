#!/usr/bin/env bash
# Times weft's JSONata engine and the reference jsonata-js on the same
# expressions and inputs, and prints both with the ratio (goal: >= 10x).
# Usage: bench/expr/run.sh [seconds-per-case]   (BUILD=build-dir, default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SECONDS_PER_CASE=${1:-1}
BIN="$BUILD/bench/expr/bench_expr"
if [ ! -x "$BIN" ]; then
  echo "bench/expr/run.sh: $BIN not built (cmake --build $BUILD --target bench_expr)" >&2
  exit 1
fi
if [ ! -d bench/js/node_modules/jsonata ]; then
  (cd bench/js && npm ci --no-audit --no-fund --loglevel=error)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN" --dump > "$tmp/cases.json"
"$BIN" "$SECONDS_PER_CASE" | tee "$tmp/cpp.txt"
node bench/expr/bench_jsonata.js "$tmp/cases.json" "$SECONDS_PER_CASE" | tee "$tmp/js.txt"
echo
printf '%-18s %14s %14s %8s\n' case weft/s jsonata-js/s ratio
join <(tail -n +2 "$tmp/cpp.txt" | sort) <(tail -n +2 "$tmp/js.txt" | sort) |
  awk '{ printf "%-18s %14d %14d %7.1fx\n", $1, $2, $3, $2 / $3 }'
