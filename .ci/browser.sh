#!/usr/bin/env bash
# Browser tests of the booking widget, the hosted booking pages and the playground:
# headless Debian Chromium driven by Playwright for Python (never a downloaded browser),
# against `aura serve --demo` on a fresh SQLite database. Installs what it needs.
# Usage: .ci/browser.sh [path/to/aura]   (default: target/debug/aura)
# Screenshots go to target/browser-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
AURA_BIN="$(realpath "${1:-target/debug/aura}")"
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

if ! command -v chromium >/dev/null 2>&1; then
  echo "--- installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version 2>/dev/null || true

echo "--- Python venv with playwright and pytest"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check 'playwright>=1.49,<2' 'pytest>=8,<10'

echo "--- axe-core from its npm package"
AXE_VERSION="${AXE_CORE_VERSION:-4.14.1}"
(cd "$WORK" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz")
export AXE_CORE_JS="$WORK/package/axe.min.js"
test -s "$AXE_CORE_JS"

PORT="${BROWSER_TEST_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}"
echo "--- starting aura on 127.0.0.1:$PORT with demo data"
DATABASE_URL="sqlite://$WORK/aura.db?mode=rwc" AURA_LOG=warn AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true \
  AURA_RATE_LIMIT_PER_KEY=1000000 AURA_RATE_LIMIT_PER_ORG=1000000 AURA_RATE_LIMIT_PER_IP=1000000 \
  "$AURA_BIN" serve --demo --bind "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "aura exited:"; cat "$WORK/serve.err"; exit 1
  fi
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null
KEY="$(tail -n 1 "$WORK/serve.out")"
case "$KEY" in aura_pk_live_*) ;; *) echo "no demo key printed"; cat "$WORK/serve.out" "$WORK/serve.err"; exit 1 ;; esac

echo "--- pytest tests/browser"
mkdir -p target/browser-screenshots
status=0
AURA_BASE_URL="http://127.0.0.1:$PORT" AURA_API_KEY="$KEY" \
  AURA_SCREENSHOT_DIR="$PWD/target/browser-screenshots" CHROMIUM=/usr/bin/chromium \
  "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q tests/browser || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser tests failed; server log:"; tail -n 50 "$WORK/serve.err"
fi
exit "$status"
