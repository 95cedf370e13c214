#!/usr/bin/env bash
# Sourced by scripts/test.sh: starts a development relay and the reference JS sync server on free
# loopback ports, with throwaway data dirs, for the browser tests; exports their URLs as
# CHATSYNC_TEST_RELAY and CHATSYNC_TEST_JS_SERVER, and a JWT relay's as CHATSYNC_TEST_JWT_RELAY with
# tokens it signed (CHATSYNC_TEST_JWT_TOKEN, and CHATSYNC_TEST_JWT_EXPIRED_TOKEN for the same user),
# a token-expiry proxy's as CHATSYNC_TEST_EXPIRING_RELAY, and several relays on one PostgreSQL
# (scripts/test-relays.sh); stops them when the test run exits.
cargo build -q -p chatsync-relay
relay_data=$(mktemp -d)
relay_log="$relay_data/relay.log"
NO_COLOR=1 "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" serve --listen 127.0.0.1:0 --data-dir "$relay_data" \
  --insecure-dev-auth >"$relay_log" 2>&1 &
relay_pid=$!
stop_test_servers() {
  # Under `set -e` a failing command in an EXIT trap becomes the script's exit status: every step
  # here may fail harmlessly (a server already gone, one with no children).
  kill "$relay_pid" ${jwt_pid:+"$jwt_pid"} ${js_pid:+"$js_pid"} ${proxy_pid:+"$proxy_pid"} 2>/dev/null || true
  wait "$relay_pid" 2>/dev/null || true
  rm -rf "$relay_data" || true
}
# Chained with any EXIT trap already set (scripts/test-postgres.sh's).
relay_previous_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "stop_test_servers; $relay_previous_trap" EXIT
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

# A second relay with real JWT auth, and a token it accepts, for the token tests.
jwt_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
jwt_log="$relay_data/jwt-relay.log"
NO_COLOR=1 CHATSYNC_JWT_SECRET="$jwt_secret" "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" serve \
  --listen 127.0.0.1:0 --data-dir "$relay_data/jwt" >"$jwt_log" 2>&1 &
jwt_pid=$!
jwt_addr=""
for _ in $(seq 100); do
  jwt_addr=$(sed -n 's/.*relay listening addr=\([0-9.:]*\).*/\1/p' "$jwt_log" | head -n 1)
  [ -n "$jwt_addr" ] && break
  sleep 0.1
done
export CHATSYNC_TEST_JWT_RELAY="ws://$jwt_addr/sync"
jwt_user="jwt-user-$RANDOM"
CHATSYNC_TEST_JWT_TOKEN=$(CHATSYNC_JWT_SECRET="$jwt_secret" "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" token --user "$jwt_user" --ttl 1h)
export CHATSYNC_TEST_JWT_TOKEN
# A token of the same user that expires a second after it is signed, so expired by the time a test
# uses it (the tests wait for its `exp` to pass to be sure): for the token-refresh tests.
CHATSYNC_TEST_JWT_EXPIRED_TOKEN=$(CHATSYNC_JWT_SECRET="$jwt_secret" "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" token --user "$jwt_user" --ttl 1s)
export CHATSYNC_TEST_JWT_EXPIRED_TOKEN

# The reference JS sync server too (automerge-repo-sync-server, no auth): the package must work
# against it. It runs until its stdin closes.
js_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
js_log="$relay_data/js-server.log"
mkdir -p "$relay_data/js"
# Its stdin is a FIFO whose write end this shell holds: when the test run ends, so does the server.
mkfifo "$relay_data/js-stdin"
node tests/js/peer.mjs server "$js_port" "$relay_data/js" <"$relay_data/js-stdin" >"$js_log" 2>&1 &
js_pid=$!
exec 7>"$relay_data/js-stdin"
for _ in $(seq 100); do
  grep -q ready "$js_log" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q ready "$js_log"; then
  echo "the JS sync server did not start:" >&2
  cat "$js_log" >&2
  exit 1
fi
export CHATSYNC_TEST_JS_SERVER="ws://127.0.0.1:$js_port"
echo "JS sync server at $CHATSYNC_TEST_JS_SERVER"

# A proxy in front of the test relay that closes a socket with 4001 ("token expired") a second after
# it connects with a token starting "expires-soon:", as a relay does when a token expires: for the
# token-refresh tests (CHATSYNC_TEST_EXPIRING_RELAY). Like the JS server, it ends with the FIFO.
proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
proxy_log="$relay_data/token-expiry-proxy.log"
node tests/js/token-expiry-proxy.mjs "$proxy_port" "$CHATSYNC_TEST_RELAY" <"$relay_data/js-stdin" >"$proxy_log" 2>&1 &
proxy_pid=$!
for _ in $(seq 100); do
  grep -q ready "$proxy_log" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q ready "$proxy_log"; then
  echo "the token-expiry proxy did not start:" >&2
  cat "$proxy_log" >&2
  exit 1
fi
export CHATSYNC_TEST_EXPIRING_RELAY="ws://127.0.0.1:$proxy_port/sync"
echo "token-expiry proxy at $CHATSYNC_TEST_EXPIRING_RELAY"

# Several relays on one PostgreSQL database, and a control endpoint to kill one: for the browser
# tests across relays (CHATSYNC_TEST_PG_RELAYS, CHATSYNC_TEST_RELAY_CONTROL).
source scripts/test-relays.sh
