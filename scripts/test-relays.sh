#!/usr/bin/env bash
# Sourced by scripts/test-relay.sh (so by scripts/test.sh too): several relays on one PostgreSQL
# database, for the browser tests across relays (crates/web/tests/browser/relays.rs). Uses the test
# cluster of scripts/test-postgres.sh (started here when CHATSYNC_TEST_DATABASE_URL is not set), gives
# the relays a database of their own, and starts tests/js/relays-on-postgres.mjs: three relays, and a
# control endpoint through which a test starts more or `kill -9`s one. Exports
# CHATSYNC_TEST_PG_RELAYS (the three sync URLs, space-separated) and CHATSYNC_TEST_RELAY_CONTROL (the
# control endpoint's URL). Everything stops when the test run exits.
if [ -z "${CHATSYNC_TEST_DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/test-postgres.sh
  source "$(dirname "${BASH_SOURCE[0]}")/test-postgres.sh" || {
    echo "no PostgreSQL for the browser tests across relays (scripts/setup.sh installs it)" >&2
    return 1 2>/dev/null || exit 1
  }
fi
pg_relays_dir=$(mktemp -d)
pg_relays_db="chatsync_browser_$RANDOM$RANDOM"
# Beside pg_ctl (which may be a symlink into Debian's /usr/lib/postgresql/<version>/bin), or on PATH.
pg_createdb=$(dirname "$(readlink -f "${CHATSYNC_TEST_PG_CTL:-/nonexistent/pg_ctl}")")/createdb
[ -x "$pg_createdb" ] || pg_createdb=$(command -v createdb || echo createdb)
"$pg_createdb" --maintenance-db="$CHATSYNC_TEST_DATABASE_URL" "$pg_relays_db" || {
  echo "could not create the database of the browser tests' relays" >&2
  return 1 2>/dev/null || exit 1
}
pg_relays_control_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_relays_log="$pg_relays_dir/relays.log"
# Like the JS server of scripts/test-relay.sh, it ends with the FIFO this shell holds open.
mkfifo "$pg_relays_dir/stdin"
node tests/js/relays-on-postgres.mjs "$pg_relays_control_port" \
  "${CARGO_TARGET_DIR:-target}/debug/chatsync-relay" \
  "${CHATSYNC_TEST_DATABASE_URL%/*}/$pg_relays_db" 3 \
  <"$pg_relays_dir/stdin" >"$pg_relays_log" 2>&1 &
pg_relays_pid=$!
exec 8>"$pg_relays_dir/stdin"
stop_test_pg_relays() {
  kill "$pg_relays_pid" 2>/dev/null || true
  wait "$pg_relays_pid" 2>/dev/null || true
  rm -rf "$pg_relays_dir" || true
}
pg_relays_previous_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "stop_test_pg_relays; $pg_relays_previous_trap" EXIT
for _ in $(seq 300); do
  grep -q '^ready' "$pg_relays_log" 2>/dev/null && break
  kill -0 "$pg_relays_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '^ready' "$pg_relays_log"; then
  echo "the relays on PostgreSQL did not start:" >&2
  cat "$pg_relays_log" >&2
  return 1 2>/dev/null || exit 1
fi
CHATSYNC_TEST_PG_RELAYS=$(sed -n 's/^ready //p' "$pg_relays_log" | head -n 1 | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')
export CHATSYNC_TEST_PG_RELAYS
export CHATSYNC_TEST_RELAY_CONTROL="http://127.0.0.1:$pg_relays_control_port"
echo "test relays on PostgreSQL at $CHATSYNC_TEST_PG_RELAYS (control: $CHATSYNC_TEST_RELAY_CONTROL)"
