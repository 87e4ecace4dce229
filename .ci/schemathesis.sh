#!/usr/bin/env bash
# Tries the REST API as an outsider would: validates the OpenAPI document, starts the
# server on fresh demo data, and runs schemathesis (all default checks, every phase,
# stateful links included) against /openapi.json with the demo key.
# Usage: .ci/schemathesis.sh [path/to/aura] [--postgres ADMIN_URL]
#   (default binary: target/debug/aura; default database: a SQLite file. With --postgres,
#   a fresh database on that server, e.g. postgres://postgres@127.0.0.1:5432/test,
#   dropped at the end.)
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib/aura.sh
AURA_BIN="target/debug/aura"
PG_ADMIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) PG_ADMIN="$2"; shift 2 ;;
    *) AURA_BIN="$1"; shift ;;
  esac
done
WORK="$(mktemp -d)"
cleanup() {
  if [ -n "${SERVER_PID:-}" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  drop_fresh_database
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
  'schemathesis>=4.3,<5' 'openapi-spec-validator>=0.7,<1'

echo "--- openapi-spec-validator"
"$WORK/venv/bin/openapi-spec-validator" schema/openapi.json

fresh_database "$WORK" "$PG_ADMIN"
echo "--- starting aura with demo data on ${DATABASE_URL%%\?*}"
# The key that seals webhook secrets at rest (PostgreSQL requires one).
AURA_WEBHOOK_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" AURA_LOG=info AURA_LOG_FORMAT=json \
  AURA_RATE_LIMIT_PER_KEY=1000000 AURA_RATE_LIMIT_PER_ORG=1000000 AURA_RATE_LIMIT_PER_IP=1000000 \
  "$AURA_BIN" serve --demo --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
ADDRESS="$(wait_for_address "$WORK/serve.err" "$SERVER_PID")"
echo "--- aura listens on $ADDRESS"
KEY="$(tail -n 1 "$WORK/serve.out")"
case "$KEY" in aura_pk_live_*) ;; *) echo "no demo key printed"; cat "$WORK/serve.out" "$WORK/serve.err"; exit 1 ;; esac

echo "--- schemathesis"
status=0
CONFIG="$(realpath .ci/schemathesis.toml)"
(cd "$WORK" && "$WORK/venv/bin/schemathesis" --config-file "$CONFIG" run "http://$ADDRESS/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-90}" \
  --seed "${SCHEMATHESIS_SEED:-20261128}" \
  --no-color) >"$WORK/schemathesis.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$WORK/schemathesis.log"
  echo "schemathesis failed; server log:"; tail -n 50 "$WORK/serve.err"
else
  tail -n 30 "$WORK/schemathesis.log"
fi
exit "$status"
