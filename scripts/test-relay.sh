#!/usr/bin/env bash
# Sourced by scripts/test.sh: starts a development relay on a free loopback port, with a throwaway data
# dir, for the browser tests; exports its sync URL as CHATSYNC_TEST_RELAY; stops it when the test run
# exits.
cargo build -q -p chatsync-relay
relay_data=$(mktemp -d)
relay_log="$relay_data/relay.log"
NO_COLOR=1 "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" serve --listen 127.0.0.1:0 --data-dir "$relay_data" \
  --insecure-dev-auth >"$relay_log" 2>&1 &
relay_pid=$!
trap 'kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null; rm -rf "$relay_data"' EXIT
relay_addr=""
for _ in $(seq 100); do
  relay_addr=$(sed -n 's/.*relay listening addr=\([0-9.:]*\).*/\1/p' "$relay_log" | head -n 1)
  [ -n "$relay_addr" ] && break
  kill -0 "$relay_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$relay_addr" ]; then
  echo "the test relay did not start:" >&2
  cat "$relay_log" >&2
  exit 1
fi
export CHATSYNC_TEST_RELAY="ws://$relay_addr/sync"
echo "test relay at $CHATSYNC_TEST_RELAY"
