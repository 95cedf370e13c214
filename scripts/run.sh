#!/usr/bin/env bash
# The main job. For now: builds a thread, streams an assistant reply into it, and prints the view.
# (The relay serving the demo app takes this place once it exists.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
exec cargo run --release -q -p chatsync-model --example stream_reply "$@"
