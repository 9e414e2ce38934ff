#!/usr/bin/env bash
# Refreshes the third-party files the web UI serves as they are (no build step, no CDN): each is one
# file of an npm package, copied byte for byte with its licence into
# services/gateway/src/crm_gateway/ui/static/vendor/<package>/. The files are committed, so CI and
# `crm up` never need npm; run this only to move to another version, then run the browser tests
# (tests/browser/test_analytics_ui.py draws a chart under the strict CSP) and update the version in
# the README's dependency table.
#
#   scripts/vendor-ui.sh            # the versions pinned below
#   CHART_JS=4.6.2 scripts/vendor-ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CHART_JS="${CHART_JS:-4.6.2}"
VENDOR=services/gateway/src/crm_gateway/ui/static/vendor

command -v npm >/dev/null 2>&1 || { echo "vendor-ui: npm is needed (apt-get install -y npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm pack fetches the package's tarball as published (checked against the registry's integrity hash)
# without running any of its scripts.
(cd "$work" && npm pack --silent "chart.js@${CHART_JS}" >/dev/null && tar xzf chart.js-*.tgz)
mkdir -p "$VENDOR/chart.js"
cp "$work/package/dist/chart.umd.min.js" "$VENDOR/chart.js/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$VENDOR/chart.js/LICENSE.md"
echo "vendor-ui: chart.js ${CHART_JS} -> $VENDOR/chart.js ($(sha256sum "$VENDOR/chart.js/chart.umd.min.js" | cut -c1-16)…)" >&2
