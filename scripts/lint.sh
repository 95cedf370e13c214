#!/usr/bin/env bash
# Formatting, clippy, and the rule that the core crates do no IO.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The crates that also build for the browser, checked as wasm32 (their tests run there too).
cargo clippy -p chatsync-model -p chatsync-protocol -p chatsync-web -p chatsync-history --all-targets --target wasm32-unknown-unknown -- -D warnings

# The core crates must stay free of IO on every target: no async runtime, browser, database or HTTP
# crates among their normal dependencies.
io='^(tokio|mio|web-sys|js-sys|wasm-bindgen|sqlx|rusqlite|reqwest|hyper|axum)$'
for crate in chatsync-model chatsync-protocol; do
  found=$(cargo tree -p "$crate" -e normal --target all --prefix none --format '{p}' \
    | awk '{print $1}' | sort -u | grep -E "$io" || true)
  if [ -n "$found" ]; then
    echo "$crate depends on IO crates: $found" >&2
    exit 1
  fi
  echo "$crate: no IO crates among its normal dependencies"
done
