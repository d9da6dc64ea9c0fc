#!/usr/bin/env bash
# Import time and action count of `weft connector import-openapi` on each
# vendor document in tests/data/openapi/ (the best of 3 runs each).
# Usage: bench/catalog/run.sh [path/to/weft]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
weft="${1:-$root/build/weft}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
printf '%-48s %10s %8s %9s\n' spec bytes actions best_ms
for spec in slack/slack_web_openapi_v2.json box/openapi.json twilio/twilio_messaging_v1.json \
            twilio/twilio_api_v2010.json mailchimp/transactional.openapi.json \
            asana/asana_oas.yaml openai/openapi.yaml; do
  file="$root/tests/data/openapi/$spec"
  best=""
  for _ in 1 2 3; do
    start=$(date +%s%N)
    "$weft" connector import-openapi "$file" -o "$out/m.yaml" 2>"$out/err"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  actions=$(sed -n 's/^\([0-9]*\) actions from.*/\1/p' "$out/err")
  printf '%-48s %10s %8s %9s\n' "$spec" "$(stat -c %s "$file")" "$actions" "$best"
done
