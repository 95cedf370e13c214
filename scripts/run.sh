#!/usr/bin/env bash
# The main job: the relay with its embedded storage (SQLite in ./data), on http://127.0.0.1:8787.
# With CHATSYNC_JWT_SECRET set it checks real tokens; without it, it runs with development auth
# (the token is the user id), which it allows on loopback only. Extra arguments go to `serve`.
# The demo app it will serve comes with a later issue.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo build --release -q -p chatsync-relay
auth=()
if [ -z "${CHATSYNC_JWT_SECRET:-}" ]; then
  auth=(--insecure-dev-auth)
fi
exec target/release/chatsync-relay serve --listen "${CHATSYNC_LISTEN:-127.0.0.1:8787}" \
  --data-dir "${CHATSYNC_DATA_DIR:-./data}" "${auth[@]}" "$@"
