#!/usr/bin/env bash
# Tries the REST API as an outsider would: validates the OpenAPI document, starts the
# server on fresh demo data, and runs schemathesis (all default checks, every phase,
# stateful links included) against /openapi.json with the demo key.
# Usage: .ci/schemathesis.sh [path/to/aura]   (default: target/debug/aura)
set -euo pipefail
cd "$(dirname "$0")/.."
AURA_BIN="${1:-target/debug/aura}"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
  'schemathesis>=4.3,<5' 'openapi-spec-validator>=0.7,<1'

echo "--- openapi-spec-validator"
"$WORK/venv/bin/openapi-spec-validator" schema/openapi.json

PORT="${SCHEMATHESIS_PORT:-18088}"
echo "--- starting aura on 127.0.0.1:$PORT with demo data"
DATABASE_URL="sqlite://$WORK/aura.db?mode=rwc" AURA_LOG=warn \
  AURA_RATE_LIMIT_PER_KEY=1000000 AURA_RATE_LIMIT_PER_ORG=1000000 AURA_RATE_LIMIT_PER_IP=1000000 \
  "$AURA_BIN" serve --demo --bind "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done
KEY="$(tail -n 1 "$WORK/serve.out")"
case "$KEY" in aura_pk_live_*) ;; *) echo "no demo key printed"; cat "$WORK/serve.out" "$WORK/serve.err"; exit 1 ;; esac

echo "--- schemathesis"
status=0
CONFIG="$(realpath .ci/schemathesis.toml)"
(cd "$WORK" && "$WORK/venv/bin/schemathesis" --config-file "$CONFIG" run "http://127.0.0.1:$PORT/openapi.json" \
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
