#!/bin/sh
# ctest's integration_pgtest: the whole integration suite (tests/integration)
# once more, with every `weft serve` on WEFT_TEST_DB (scripts/test-postgres).
#   integration_on_postgres.sh WEFT_BINARY INTEGRATION_TEST_BINARY [gtest flags]
weft=$1
suite=$2
shift 2
if [ -z "${WEFT_TEST_DB:-}" ]; then
  echo "WEFT_TEST_DB is not set: the integration suite on PostgreSQL is skipped" \
       "(scripts/test-postgres runs it against a throwaway cluster)"
  exit 0
fi
if [ ! -x "$weft" ] || [ ! -x "$suite" ]; then
  echo "$weft or $suite is not built: the integration suite on PostgreSQL is skipped"
  exit 0
fi
# Until app/ opens PostgresStore for --db, `weft serve --db` refuses to start
# with this message; the step turns itself on when the message is gone.
if grep -q "has no PostgreSQL store yet" "$weft"; then
  echo "weft has no PostgreSQL store yet (app/ must open PostgresStore for --db):" \
       "the integration suite on PostgreSQL is skipped"
  exit 0
fi
exec "$suite" "$@"
