#!/usr/bin/env bash
# The Postman path a partner takes, run by newman: starts `aura serve --demo` on a fresh
# SQLite database, converts the SERVED /openapi.json to a Postman collection with
# openapi-to-postmanv2 (options: tests/contract/postman-options.json), prepares it with
# tests/contract/prepare-collection.js (the document's links, run order, a 2xx test on every
# request) and runs it with newman, setting only the base URL and the bearer key. Every
# request must pass. The server is stopped on exit.
# Output (collections, newman's JSON report, server log): $NEWMAN_OUT, default target/newman.
# Tools: tests/contract/package-lock.json, installed by .ci/contract-tools.sh.
# Usage: .ci/newman.sh [path/to/aura]   (default: target/debug/aura)
set -euo pipefail
cd "$(dirname "$0")/.."
AURA_BIN="$(realpath "${1:-target/debug/aura}")"
PORT="${NEWMAN_PORT:-18090}"
OUT="${NEWMAN_OUT:-target/newman}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TOOLS="$(.ci/contract-tools.sh)"
BIN="$TOOLS/node_modules/.bin"
export NO_UPDATE_NOTIFIER=1 NODE_NO_WARNINGS=1
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

echo "--- starting aura on 127.0.0.1:$PORT with demo data (fresh SQLite database)"
DATABASE_URL="sqlite://$WORK/aura.db?mode=rwc" AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true AURA_LOG=warn \
  "$AURA_BIN" serve --demo --bind "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$OUT/serve.log" &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
ready=""
for _ in $(seq 1 150); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  if curl -fs "$BASE/health" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "aura did not become healthy within 30 s"; cat "$WORK/serve.out" "$OUT/serve.log"; exit 1
fi
KEY="$(tail -n 1 "$WORK/serve.out")"
case "$KEY" in aura_pk_live_*) ;; *) echo "no demo key printed"; cat "$WORK/serve.out"; exit 1 ;; esac

echo "--- converting the served /openapi.json (tests/contract/postman-options.json)"
curl -fsS "$BASE/openapi.json" -o "$OUT/openapi.json"
rm -f "$OUT/collection.converted.json"
# The converter's CLI exits 0 even when it fails, so its output file is the verdict.
"$BIN/openapi2postmanv2" -s "$OUT/openapi.json" -o "$OUT/collection.converted.json" \
  -c "${POSTMAN_OPTIONS:-tests/contract/postman-options.json}" -p >"$WORK/convert.log" 2>&1 || true
if ! node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).item.length || process.exit(1)' \
  "$OUT/collection.converted.json" 2>/dev/null; then
  echo "openapi-to-postmanv2 produced no collection:"; cat "$WORK/convert.log"; exit 1
fi

echo "--- preparing the collection (tests/contract/prepare-collection.js)"
node tests/contract/prepare-collection.js "$OUT/openapi.json" "$OUT/collection.converted.json" \
  "$OUT/collection.json"

echo "--- newman"
status=0
"$BIN/newman" run "$OUT/collection.json" \
  --env-var "baseUrl=$BASE" --env-var "bearerToken=$KEY" \
  --reporters cli,json --reporter-json-export "$OUT/newman-report.json" \
  --timeout-request 30000 --color off || status=$?
if [ "$status" -ne 0 ]; then
  echo "newman failed (exit $status); report: $OUT/newman-report.json; server log (last 30 lines):"
  tail -n 30 "$OUT/serve.log"
fi
exit "$status"
