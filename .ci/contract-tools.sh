#!/usr/bin/env bash
# Installs the pinned npm tools of tests/contract/package.json + package-lock.json (Redocly,
# Spectral, graphql-schema-linter, openapi-typescript, openapi-fetch, TypeScript,
# openapi-to-postmanv2, newman) into a cache directory and prints that directory.
# Nothing is installed globally and nothing is written under tests/.
#   Cache: $AURA_CONTRACT_TOOLS, default target/contract-tools (reused while the lock file
#   is unchanged; `cargo clean` or deleting it forces a fresh install).
# Used by .ci/contract.sh and .ci/newman.sh; needs node >= 20.19 and npm.
# Usage: TOOLS="$(.ci/contract-tools.sh)"; "$TOOLS/node_modules/.bin/redocly" --version
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "contract-tools: node and npm are required (node >= 20.19)" >&2
  exit 1
}

DIR="${AURA_CONTRACT_TOOLS:-target/contract-tools}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
LOCK_SUM="$(cat tests/contract/package.json tests/contract/package-lock.json | sha256sum | cut -d' ' -f1)"

# One installer at a time: contract.sh and newman.sh may run side by side.
exec 9>"$DIR/.install.lock"
flock 9
if [ "$(cat "$DIR/.installed" 2>/dev/null || true)" != "$LOCK_SUM" ] || [ ! -d "$DIR/node_modules" ]; then
  echo "contract-tools: installing pinned npm packages into $DIR" >&2
  rm -rf "$DIR/node_modules" "$DIR/.installed"
  cp tests/contract/package.json tests/contract/package-lock.json "$DIR/"
  # --ignore-scripts: none of these tools needs an install script (the only one in the tree
  # is a usage-analytics ping).
  (cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    --cache "$DIR/.npm-cache" --update-notifier=false >&2)
  echo "$LOCK_SUM" >"$DIR/.installed"
fi
flock -u 9
echo "$DIR"
