#!/usr/bin/env bash
# Contract checks of the committed API documents, as a partner's tools see them:
#   1. Redocly CLI lint, `recommended` ruleset, failing on any warning
#      (tests/contract/redocly.yaml)
#   2. Spectral, `spectral:oas` plus the issue-14 rules, failing on any warning
#      (tests/contract/.spectral.yaml)
#   3. graphql-schema-linter on the SDL, ordering rules off, failing on any error
#      (tests/contract/graphql-schema-linter.config.js)
#   4. tsc --noEmit --strict of the partner client tests/contract/client.ts, against types
#      that openapi-typescript generates from the OpenAPI document now (never committed)
# Every check runs even when an earlier one fails; the exit status is non-zero if any failed.
# Tools: the pinned versions of tests/contract/package-lock.json, installed by
# .ci/contract-tools.sh into target/contract-tools (nothing global).
# Usage: .ci/contract.sh [openapi.json [schema.graphql]]
#        (defaults: schema/openapi.json and schema/schema.graphql)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
OPENAPI="$(realpath "${1:-schema/openapi.json}")"
SDL="$(realpath "${2:-schema/schema.graphql}")"

TOOLS="$(.ci/contract-tools.sh)"
BIN="$TOOLS/node_modules/.bin"
# No telemetry or update checks from the tools (CI has no general network anyway).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
  SCARF_ANALYTICS=false NODE_NO_WARNINGS=1

failed=()
check() { # check NAME COMMAND...: runs one check, times it, remembers a failure
  local name="$1" start status=0
  shift
  printf '\n--- %s\n' "$name"
  start=$(date +%s)
  "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    printf -- '--- %s: passed (%ss)\n' "$name" "$(($(date +%s) - start))"
  else
    printf -- '--- %s: FAILED, exit %s (%ss)\n' "$name" "$status" "$(($(date +%s) - start))"
    failed+=("$name")
  fi
}

redocly_lint() {
  # Redocly CLI 2 prints a Node 20 end-of-life banner on every run; it is not a finding.
  "$BIN/redocly" lint --config tests/contract/redocly.yaml --format stylish \
    --max-problems 10000 --lint-config error "$OPENAPI" 2>&1 | grep -v '[║╔╚]'
  return "${PIPESTATUS[0]}"
}

spectral_lint() {
  "$BIN/spectral" lint --ruleset tests/contract/.spectral.yaml --fail-severity warn \
    --display-only-failures "$OPENAPI"
}

graphql_lint() {
  "$BIN/graphql-schema-linter" --config-directory tests/contract --format text "$SDL"
}

client_typecheck() {
  # The client is compiled beside the generated types in the tools directory, where
  # openapi-fetch resolves; tsc reports lines of client.ts as they are in tests/contract.
  local dir="$TOOLS/client"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp tests/contract/client.ts tests/contract/tsconfig.json "$dir/"
  "$BIN/openapi-typescript" "$OPENAPI" --output "$dir/openapi.ts" >/dev/null || return $?
  (cd "$dir" && "$BIN/tsc" --noEmit --strict --pretty false -p tsconfig.json) |
    sed "s|^client\.ts|tests/contract/client.ts|"
  return "${PIPESTATUS[0]}"
}

echo "contract checks of ${OPENAPI#"$ROOT"/} and ${SDL#"$ROOT"/}"
check "Redocly lint (recommended, warnings fail)" redocly_lint
check "Spectral (spectral:oas + issue-14 rules, warnings fail)" spectral_lint
check "graphql-schema-linter (ordering rules off)" graphql_lint
check "partner client type-check (openapi-typescript + openapi-fetch, tsc --strict)" client_typecheck

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\ncontract checks failed: %s\n' "$(IFS=';'; echo "${failed[*]}")"
  exit 1
fi
printf '\ncontract checks passed\n'
