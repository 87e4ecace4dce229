#!/usr/bin/env bash
# Cluster test: 2 x `aura serve` + 2 x `aura worker` on a fresh PostgreSQL database
# (127.0.0.1:5432, user postgres or root) and a private Redis, with a Standard Webhooks
# receiver, a live subscription, SIGKILLs midway, and (when the binary has
# --metrics-bind) a real Prometheus scraping every process. See tests/cluster/cluster.py.
# Usage: .ci/cluster.sh [path/to/aura] [cluster.py options, e.g. --no-metrics --keep]
#        (default binary: target/debug/aura)
set -euo pipefail
cd "$(dirname "$0")/.."
AURA_BIN="$(realpath "${1:-target/debug/aura}")"
shift || true
WORK="$(mktemp -d)"
PY_PID=""
cleanup() {
  if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    wait "$PY_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

need_prometheus=1
for arg in "$@"; do
  case "$arg" in --no-metrics|--metrics=off) need_prometheus=0 ;; esac
done
if [ "$need_prometheus" = 1 ] && "$AURA_BIN" serve --help 2>/dev/null | grep -q -- '--metrics-bind' \
  && ! command -v prometheus >/dev/null 2>&1; then
  echo "--- installing prometheus (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
for tool in psql redis-server; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool"; exit 2; }
done

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
  'standardwebhooks>=1.0,<2' 'pyjwt[crypto]>=2.8,<3' 'websockets>=13,<18'

# In the background so that a signal to this script reaches the test (which then stops
# every child it started and drops its database) instead of waiting for it.
"$WORK/venv/bin/python" -u tests/cluster/cluster.py "$AURA_BIN" "$@" &
PY_PID=$!
status=0
wait "$PY_PID" || status=$?
PY_PID=""
exit "$status"
