#!/usr/bin/env bash
# Runs every test of chatsync: native (unit, integration, property, doc tests) and the same tests
# compiled to wasm32, run in Node. Installs what is missing first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "native tests (the storage suite on SQLite and on a private PostgreSQL started here)"
source scripts/test-postgres.sh
# Outside CI the PostgreSQL tests skip when no database is given; run from here they must not.
export CHATSYNC_REQUIRE_POSTGRES=1
# Lib, integration and doc tests; examples are built. (Not --all-targets: that would run the benchmark
# binaries, whose figures are for `cargo bench`.)
cargo test --workspace

step "wasm32 tests (Node)"
# Per package: a whole-workspace wasm build would pull in native-only crates later on.
cargo test -p chatsync-model --target wasm32-unknown-unknown
cargo test -p chatsync-protocol --target wasm32-unknown-unknown

step "browser tests (headless Chromium, against relays started here: one on SQLite, three on the PostgreSQL above)"
source scripts/test-relay.sh
# The runner's timeout is for the whole headless run, not per test (wasm-bindgen-cli's headless.rs):
# the suite takes ~55 s on 2 idle cores, so 600 s rather than the default 20 leaves a slow or shared
# CI machine room. A test that hangs still fails the run, at that limit.
WASM_BINDGEN_TEST_TIMEOUT=600 CHROMEDRIVER=$(command -v chromedriver) \
  cargo test -p chatsync-web --target wasm32-unknown-unknown --test browser

step "the npm package and the demo app: build, and type-check the .d.ts against an example using every method"
bash scripts/build-app.sh
crates/web/ts/node_modules/.bin/tsc -p crates/web/ts/tsconfig.json
echo "tsc --noEmit: ok"

step "the npm package as a user installs it: npm pack, publint, attw, the adapters (tsc --strict, Chromium), sizes, a Vite app (tsc, build, preview, dev) and the React + AI SDK example in Chromium; the relay's brotli"
bash scripts/test-package.sh

step "the demo app end to end (playwright-core driving Debian's chromium; screenshots in target/e2e-artifacts)"
CHATSYNC_RELAY_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chatsync-relay" \
  node --test --test-concurrency=1 www/e2e/

step "fuzz smoke (bounded, fixed seed): each cargo-fuzz target from its seeds and known crashes"
bash scripts/fuzz-smoke.sh
