#!/bin/sh
# ctest's integration_pgtest: the whole integration suite (every test binary of
# tests/integration) once more, with every `weft serve` on WEFT_TEST_DB
# (scripts/test-postgres).
#   integration_on_postgres.sh WEFT_BINARY SUITE_BINARY...
weft=$1
shift
if [ -z "${WEFT_TEST_DB:-}" ]; then
  echo "WEFT_TEST_DB is not set: the integration suite on PostgreSQL is skipped" \
       "(scripts/test-postgres runs it against a throwaway cluster)"
  exit 0
fi
if [ ! -x "$weft" ]; then
  echo "$weft is not built: the integration suite on PostgreSQL is skipped"
  exit 0
fi
# Every node on PostgreSQL needs the same secret key (a fixed one for tests;
# cluster_pgtest uses the same, since they share the database).
export WEFT_SECRET_KEY="${WEFT_SECRET_KEY:-$(printf '7e%.0s' $(seq 32))}"
status=0
for suite in "$@"; do
  if [ ! -x "$suite" ]; then
    echo "$suite is not built: FAILED"
    status=1
    continue
  fi
  echo "==== $(basename "$suite") on PostgreSQL"
  "$suite" || status=1
done
exit $status
