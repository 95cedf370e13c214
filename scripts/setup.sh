#!/usr/bin/env bash
# Installs what building and testing chatsync needs, skipping whatever is already there.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Rust components and the wasm target (rustup is the machine's toolchain manager).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

# The wasm-bindgen CLI (also the wasm test runner) must match the wasm-bindgen crate in Cargo.lock
# exactly. Not --locked: one of its locked dependencies is missing from the registry here.
wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ -n "$wanted" ] && [ "$have" != "$wanted" ]; then
  say "installing wasm-bindgen-cli $wanted (found: ${have:-none}); a few minutes the first time"
  cargo install wasm-bindgen-cli --version "$wanted" --force
fi

# cargo-fuzz builds and runs the fuzz targets (scripts/fuzz-smoke.sh, fuzz/README.md): about a
# minute and a half to compile the first time. Pinned, so CI runs what the targets were written for.
if ! cargo fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz 0.13.2'; then
  say "installing cargo-fuzz 0.13.2; a minute or two the first time"
  cargo install cargo-fuzz --version 0.13.2 --locked --force
fi

# Debian's apt, as root or through sudo.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

# Headless Chromium and its driver run the browser tests (Debian's: test tools' own browser
# downloads are refused by this network).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  say "installing chromium and chromium-driver"
  apt_install chromium chromium-driver
fi

# curl: scripts/test-package.sh asks the relay for the wasm with chosen Accept-Encoding headers and
# reads the raw body (Node's fetch would decompress it out of sight).
if ! command -v curl >/dev/null 2>&1; then
  say "installing curl"
  apt_install curl
fi

# PostgreSQL: the storage suite and the several-relays tests run against a private cluster that
# scripts/test-postgres.sh starts (Debian's package puts initdb and pg_ctl in
# /usr/lib/postgresql/<version>/bin; its own cluster is not used).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing postgresql"
  apt_install postgresql
fi

# Node runs the wasm tests outside a browser.
if ! command -v node >/dev/null 2>&1; then
  say "installing nodejs"
  apt_install nodejs npm
fi

# npm packages at the versions in their lockfiles: the JS automerge-repo peers of the interop tests,
# the package's tools (TypeScript, binaryen's wasm-opt), playwright-core for the demo's end-to-end
# tests (driving Debian's chromium: it never downloads a browser), and the example Vite app that
# scripts/test-package.sh installs the packed package into (Vite, TypeScript, publint), and the React + AI SDK
# example (React, ai, @ai-sdk/react); crates/web/ts also holds what the adapters are checked against (React,
# ai, React Testing Library, arethetypeswrong). `npm install` rather than `npm ci`: npm
# 11's ci refuses the interop lockfile over cbor-extract's optional per-platform packages, which it
# does not record.
for js in tests/js crates/web/ts www examples/vite-app examples/vite-react-ai-sdk; do
  if [ ! -f "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    say "installing npm packages in $js"
    npm install --prefix "$js" --no-audit --no-fund --loglevel=error
  fi
done
