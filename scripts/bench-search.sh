#!/usr/bin/env bash
# The store.search benchmark of issue 16 (a measurement, not a test): builds the package, installs
# its tarball where the benchmark page imports it, and runs crates/web/ts/bench in headless Chromium
# (10,000 messages across 200 threads unless told otherwise).
#   bash scripts/bench-search.sh [threads] [messagesPerThread]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-web.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack ./pkg --pack-destination "$work" --silent >/dev/null
npm install --prefix crates/web/ts --no-save --offline --no-audit --no-fund --loglevel=error "$work"/chatsync-*.tgz
node crates/web/ts/bench/run.mjs "$@"
