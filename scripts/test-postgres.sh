#!/usr/bin/env bash
# Sourced by scripts/test.sh (or by hand: `source scripts/test-postgres.sh`): starts a private
# PostgreSQL cluster for the tests — `initdb` into a temporary directory (as the `postgres` user when
# running as root: PostgreSQL refuses to run as root), listening on a free loopback port only — and
# exports its URL as CHATSYNC_TEST_DATABASE_URL (a superuser, so each test creates a database of its
# own). The cluster is stopped and its directory removed when the shell exits.
pg_bin=""
for candidate in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")" \
  $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
    pg_bin=$candidate
    break
  fi
done
if [ -z "$pg_bin" ]; then
  echo "PostgreSQL's initdb and pg_ctl are not installed (scripts/setup.sh installs Debian's postgresql)" >&2
  return 1 2>/dev/null || exit 1
fi

pg_started=$(date +%s.%N)
pg_dir=$(mktemp -d)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# As root, everything runs as `postgres`, which must own the directory (and be able to reach it).
pg_as() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  chown postgres "$pg_dir"
  chmod 755 "$pg_dir"
  pg_as() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
fi
# fsync off: the cluster lives for one test run, and it is the relay's commit that the tests check,
# not the disk's.
pg_as "$pg_bin/initdb" -D "$pg_dir/db" -A trust -U postgres --no-sync >"$pg_dir/initdb.log" 2>&1 || {
  cat "$pg_dir/initdb.log" >&2
  return 1 2>/dev/null || exit 1
}
pg_as "$pg_bin/pg_ctl" -D "$pg_dir/db" -l "$pg_dir/postgres.log" -w -t 30 \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
  start >/dev/null || {
  cat "$pg_dir/postgres.log" >&2
  return 1 2>/dev/null || exit 1
}
stop_test_postgres() {
  pg_as "$pg_bin/pg_ctl" -D "$pg_dir/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir" || true
}
# Chained with any EXIT trap already set (scripts/test-relay.sh sets one too, and chains the same way).
pg_previous_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "stop_test_postgres; $pg_previous_trap" EXIT
export CHATSYNC_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
# What restarts the cluster, for the test of the database restarted under load
# (server/tests/database_restart.rs): pg_ctl, the data directory, its log, and the user to run it as.
export CHATSYNC_TEST_PG_CTL="$pg_bin/pg_ctl"
export CHATSYNC_TEST_PG_DATA="$pg_dir/db"
export CHATSYNC_TEST_PG_LOG="$pg_dir/postgres.log"
if [ "$(id -u)" = 0 ]; then export CHATSYNC_TEST_PG_USER=postgres; else unset CHATSYNC_TEST_PG_USER; fi
echo "test PostgreSQL at $CHATSYNC_TEST_DATABASE_URL (started in $(python3 -c "import time; print(f'{time.time() - $pg_started:.1f}')") s)"
