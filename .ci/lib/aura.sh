# Shared by the .ci scripts that start `aura`; source it, do not run it.
#
#   fresh_database WORKDIR [ADMIN_URL]
#       Sets DATABASE_URL: a SQLite file in WORKDIR, or, with ADMIN_URL (a PostgreSQL URL
#       ending in an existing database, e.g. postgres://postgres@127.0.0.1:5432/test), a
#       new database `aura_ci_…` on that server. Call drop_fresh_database on exit.
#   drop_fresh_database
#       Drops the database fresh_database made (WITH (FORCE): PostgreSQL 13+), if any.
#   wait_for_address LOG PID
#       Prints the `host:port` an `aura serve` started with `--bind 127.0.0.1:0`,
#       AURA_LOG_FORMAT=json and AURA_LOG=info announced in LOG (its stderr); fails if the
#       process exits or 60 s pass first.

fresh_database() {
  local workdir="$1" admin="${2:-}"
  FRESH_DB_NAME=""
  if [ -z "$admin" ]; then
    DATABASE_URL="sqlite://$workdir/aura.db?mode=rwc"
  else
    FRESH_DB_ADMIN="$admin"
    FRESH_DB_NAME="aura_ci_$(date +%s)_$$_${RANDOM}"
    psql "$admin" -qAtc "CREATE DATABASE $FRESH_DB_NAME" >/dev/null
    DATABASE_URL="${admin%/*}/$FRESH_DB_NAME"
  fi
  export DATABASE_URL
}

drop_fresh_database() {
  if [ -n "${FRESH_DB_NAME:-}" ]; then
    psql "$FRESH_DB_ADMIN" -qAtc "DROP DATABASE IF EXISTS $FRESH_DB_NAME WITH (FORCE)" >/dev/null 2>&1 ||
      echo "could not drop the database $FRESH_DB_NAME" >&2
    FRESH_DB_NAME=""
  fi
}

wait_for_address() {
  local log="$1" pid="$2" address
  for _ in $(seq 1 600); do
    address="$(grep -m1 '"message":"listening".*"address"\|"address".*"message":"listening"' "$log" 2>/dev/null |
      python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["address"])' 2>/dev/null || true)"
    if [ -n "$address" ]; then
      echo "$address"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "aura exited before listening:" >&2
      tail -n 30 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "aura did not announce its address within 60 s" >&2
  return 1
}
