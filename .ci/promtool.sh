#!/usr/bin/env bash
# Checks deploy/prometheus/: the scrape config, the alert rules, their unit tests (every
# alert firing on a series that should fire, silent on one that should not), and that
# every alert's `runbook` annotation names a heading of the README. Installs promtool
# (Debian's `prometheus` package) when it is missing.
# Usage: .ci/promtool.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "--- installing promtool (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version 2>&1 | head -n 1

echo "--- promtool check config"
promtool check config deploy/prometheus/prometheus.yml
echo "--- promtool check rules"
promtool check rules deploy/prometheus/alerts.yml
echo "--- promtool test rules"
promtool test rules deploy/prometheus/alerts_test.yml

echo "--- annotations and runbook links"
# Every alert has summary, description and runbook `README.md#alert-<name in lower case>`,
# and (once the README has any alert heading) that anchor exists: a heading such as
# "#### Alert: AuraWebhookBacklog" renders as #alert-aurawebhookbacklog.
python3 - deploy/prometheus/alerts.yml README.md <<'PY'
import re, sys
rules_text = open(sys.argv[1]).read()
readme = open(sys.argv[2]).read()
def anchor(heading):  # GitHub's: lower case, punctuation dropped, spaces to hyphens
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
anchors = {anchor(h) for h in re.findall(r"^#{1,6}\s+(.*)$", readme, re.M)}
blocks = re.split(r"^\s*- alert:\s*", rules_text, flags=re.M)[1:]
problems, missing = [], []
for block in blocks:
    name = block.split()[0]
    for key in ("summary", "description", "runbook"):
        if not re.search(rf"^\s+{key}:", block, re.M):
            problems.append(f"{name}: no `{key}` annotation")
    want = f"README.md#alert-{name.lower()}"
    found = re.search(r"^\s+runbook:\s*(\S+)", block, re.M)
    if found and found.group(1) != want:
        problems.append(f"{name}: runbook is {found.group(1)}, expected {want}")
    if f"alert-{name.lower()}" not in anchors:
        missing.append(f"alert-{name.lower()}")
started = any(a.startswith("alert-") for a in anchors)
for m in missing:
    print(f"{'error' if started else 'warning'}: README.md has no heading for #{m}")
for p in problems:
    print(f"error: {p}")
print(f"{len(blocks)} alerts; {len(blocks) - len(missing)} runbook anchors found in README.md")
sys.exit(1 if problems or (started and missing) else 0)
PY
