#!/usr/bin/env bash
# Checks webhook deliveries with the reference `standardwebhooks` library (PyPI): starts
# `aura serve` with a Clerk PEM key and an organization, then runs
# tests/webhooks/standard_receiver.py against it (test events, outbox deliveries from
# real changes, and a secret rotation).
# Usage: .ci/webhooks.sh [path/to/aura] [--postgres ADMIN_URL]
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
AURA_BIN="$(realpath "$AURA_BIN")"
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
  'standardwebhooks>=1.0,<2' 'pyjwt[crypto]>=2.8,<3'

"$WORK/venv/bin/python" - "$WORK" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
open(sys.argv[1] + "/clerk.pem", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open(sys.argv[1] + "/clerk.pub", "wb").write(key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PY

fresh_database "$WORK" "$PG_ADMIN"
# The key that seals webhook secrets at rest (PostgreSQL requires one).
export AURA_WEBHOOK_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"
echo "--- database: ${DATABASE_URL%%\?*}"
AURA_LOG=warn "$AURA_BIN" orgs create --name "Acme CI" --slug acme --clerk-org-id org_ci >/dev/null
KEY="$(AURA_LOG=warn "$AURA_BIN" keys create --org acme --name "webhooks ci" | tail -n 1)"

CLERK_JWT_KEY="$(cat "$WORK/clerk.pub")" CLERK_ISSUER=https://clerk.ci.test \
  AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true AURA_LOG=info AURA_LOG_FORMAT=json \
  "$AURA_BIN" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
ADDRESS="$(wait_for_address "$WORK/serve.err" "$SERVER_PID")"

if ! "$WORK/venv/bin/python" tests/webhooks/standard_receiver.py \
  "http://$ADDRESS" "$KEY" "$WORK/clerk.pem"; then
  echo "server log:"; tail -n 50 "$WORK/serve.err"
  exit 1
fi
