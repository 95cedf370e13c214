#!/usr/bin/env bash
# The main job: builds the `chatsync` package and the demo app, then runs the relay with its embedded
# storage (SQLite in ./data), serving the app on http://127.0.0.1:8787.
# With CHATSYNC_JWT_SECRET set it checks real tokens; without it, it runs with development auth
# (the token is the user id), which it allows on loopback only. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
bash scripts/build-app.sh
cargo build --release -q -p chatsync-relay
auth=()
if [ -z "${CHATSYNC_JWT_SECRET:-}" ]; then
  auth=(--insecure-dev-auth)
fi
exec target/release/chatsync-relay serve --listen "${CHATSYNC_LISTEN:-127.0.0.1:8787}" \
  --data-dir "${CHATSYNC_DATA_DIR:-./data}" --web-dir target/www "${auth[@]}" "$@"
