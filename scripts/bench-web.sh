#!/usr/bin/env bash
# The browser store's thread-switch benchmark in headless Chromium (crates/web/benches/thread_switch.rs),
# built with the package's size profile: p50 / p95 of openThread + first view for 10, 1,000 and 5,000
# messages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# Benchmarks get more time than tests: writing the 5,000-message thread takes a while.
WASM_BINDGEN_TEST_TIMEOUT=600 CHROMEDRIVER=$(command -v chromedriver) \
  cargo test -p chatsync-web --target wasm32-unknown-unknown --profile release-wasm \
  --test thread_switch -- --nocapture
