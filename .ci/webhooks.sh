#!/usr/bin/env bash
# Checks webhook deliveries with the reference `standardwebhooks` library (PyPI): starts
# `aura serve` with a Clerk PEM key and an organization, then runs
# tests/webhooks/standard_receiver.py against it (test events, outbox deliveries from
# real changes, and a secret rotation).
# Usage: .ci/webhooks.sh [path/to/aura]   (default: target/debug/aura)
set -euo pipefail
cd "$(dirname "$0")/.."
AURA_BIN="$(realpath "${1:-target/debug/aura}")"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

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

export DATABASE_URL="sqlite://$WORK/aura.db?mode=rwc" AURA_LOG=warn
"$AURA_BIN" orgs create --name "Acme CI" --slug acme --clerk-org-id org_ci >/dev/null
KEY="$("$AURA_BIN" keys create --org acme --name "webhooks ci" | tail -n 1)"

PORT="${WEBHOOKS_PORT:-18089}"
CLERK_JWT_KEY="$(cat "$WORK/clerk.pub")" CLERK_ISSUER=https://clerk.ci.test \
  AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true \
  "$AURA_BIN" serve --bind "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done

if ! "$WORK/venv/bin/python" tests/webhooks/standard_receiver.py \
  "http://127.0.0.1:$PORT" "$KEY" "$WORK/clerk.pem"; then
  echo "server log:"; tail -n 50 "$WORK/serve.err"
  exit 1
fi
