#!/usr/bin/env bash
# Formatting, clippy, and the rule that the core crates do no IO.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# chatsync-model must stay free of IO on every target: no async runtime, browser, database or HTTP crates
# among its normal dependencies.
io='^(tokio|mio|web-sys|js-sys|wasm-bindgen|sqlx|rusqlite|reqwest|hyper|axum)$'
found=$(cargo tree -p chatsync-model -e normal --target all --prefix none --format '{p}' \
  | awk '{print $1}' | sort -u | grep -E "$io" || true)
if [ -n "$found" ]; then
  echo "chatsync-model depends on IO crates: $found" >&2
  exit 1
fi
echo "chatsync-model: no IO crates among its normal dependencies"
