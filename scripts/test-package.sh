#!/usr/bin/env bash
# Tests the npm package as a user gets it, and the demo's compressed files as the relay serves them.
# Run after scripts/build-app.sh (scripts/test.sh does), which builds pkg/ and target/www:
#   - the package's metadata: README and licences in the tarball, no placeholder repository anywhere;
#   - publint on the tarball `npm pack` makes, and arethetypeswrong (esm-only profile: the package is
#     ES modules only, so CommonJS `require` resolutions are not checked);
#   - the adapters (chatsync/react, chatsync/ai-sdk), store.search, chatsync/export and thread.history from the
#     tarball: their tests type-checked with tsc under strict (skipLibCheck off, every subpath), then
#     run in headless Chromium with the stores in a SharedWorker, a dedicated Worker and the page (React Testing Library, the ai package's Chat and streams, a relay
#     started by run.mjs; crates/web/ts/test); the size of each entry (and of what the core entry
#     loads on demand, and the history module's wasm), gzip and brotli, and the core wasm's budget
#     (crates/web/ts/sizes.mjs);
#   - the `web` entry from the tarball, served as plain files under a strict CSP, with the store in
#     a SharedWorker and in a dedicated Worker (crates/web/ts/test/web-entry.mjs);
#   - the tarball installed into examples/vite-app, type-checked with skipLibCheck off under
#     lib ["ES2023", "DOM"] (and again under ESNext), built with `vite build`, and loaded in headless
#     Chromium from `vite preview` and from `vite dev` (whose pre-bundling used to give a blank page):
#     the page writes a message through chatsync and must show it, with the store in the page, in a
#     SharedWorker and in a dedicated Worker (no Vite configuration for the worker script);
#   - examples/vite-react-ai-sdk (React, useChat, chatsync/react and chatsync/ai-sdk) with the tarball:
#     tsc, vite build, then driven in Chromium against a relay started here (a second tab and device,
#     a reply that survives a reload mid-stream, the history with the relay gone);
#   - the relay sending chatsync_bg.wasm brotli-encoded to a client that accepts br, gzip otherwise.
# Needs no network: setup.sh installed the example's npm packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n\033[1m-- %s\033[0m\n' "$*"; }
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

[ -f pkg/package.json ] && [ -f target/www/pkg/web/chatsync_bg.wasm ] ||
  fail "pkg/ or target/www is missing: run scripts/build-app.sh first"

app=examples/vite-app
work=$(mktemp -d)
pids=()
cleanup() {
  # Every step may fail harmlessly here (a server already gone): `|| true`, or the EXIT trap's
  # failure would become the script's status.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work" || true
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until a server answers at $1, or fails with its log ($2) when it exits or 30 s pass.
wait_for() {
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$2" >&2
  fail "no server at $1"
}

step "package metadata"
# `repository` must be a true URL or absent: there is no public one, so absent everywhere.
cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
bad = [(p["name"], p["repository"]) for p in json.load(sys.stdin)["packages"] if p["repository"]]
sys.exit(f"Cargo packages with a repository URL, but chatsync has none: {bad}" if bad else 0)'
python3 - <<'PY'
import json, sys
package = json.load(open("pkg/package.json"))
if "repository" in package:
    sys.exit(f"pkg/package.json has a repository ({package['repository']}), but chatsync has none")
if package.get("license") != "MIT OR Apache-2.0":
    sys.exit(f"pkg/package.json's license is {package.get('license')!r}")
PY
npm pack ./pkg --pack-destination "$work" --silent >/dev/null
tarball=$(echo "$work"/chatsync-*.tgz)
listing=$(tar -tzf "$tarball")
for file in README.md LICENSE-MIT LICENSE-APACHE package.json index.js index.d.ts web/chatsync.js \
  web/chatsync_bg.wasm web/chatsync.d.ts worker/worker.js bundler/chatsync.js bundler/chatsync.d.ts threads.js views.js abort.js \
  reuse.js signals.js thread-list.js react/index.js \
  react/index.d.ts ai-sdk/index.js ai-sdk/index.d.ts export/index.js export/index.d.ts \
  history/install.js history/engine.js history/chatsync_history.js history/chatsync_history_bg.wasm; do
  grep -qx "package/$file" <<<"$listing" || fail "the tarball has no $file"
done
echo "$(basename "$tarball"): $(stat -c %s "$tarball") bytes, README and both licences in it"

step "publint"
"$app/node_modules/.bin/publint" run "$tarball" --strict

step "arethetypeswrong (esm-only profile)"
crates/web/ts/node_modules/.bin/attw "$tarball" --profile esm-only --format table-flipped

# The relay of the tests that sync (the adapters' and store.search's, the React + AI SDK example, the
# precompressed wasm).
relay=${CHATSYNC_RELAY_BIN:-${CARGO_TARGET_DIR:-target}/debug/chatsync-relay}
[ -x "$relay" ] || cargo build -q -p chatsync-relay

step "the adapters and store.search from the tarball: tsc --strict on every subpath, then their tests in Chromium"
npm install --prefix crates/web/ts --no-save --offline --no-audit --no-fund --loglevel=error "$tarball"
crates/web/ts/node_modules/.bin/tsc -p crates/web/ts/tsconfig.test.json
echo "tsc --noEmit (strict, skipLibCheck false; chatsync, chatsync/bundler, chatsync/react, chatsync/ai-sdk, chatsync/export): ok"
# The whole suite with the stores where ChatStore.open puts them by default (a SharedWorker), in
# a dedicated Worker, and in the page.
for mode in ${CHATSYNC_TEST_WORKER:-shared dedicated none}; do
  echo "the stores' worker option: $mode"
  CHATSYNC_TEST_WORKER=$mode CHATSYNC_RELAY_BIN=$(realpath "$relay") node crates/web/ts/test/run.mjs
done

step "the web entry (no bundler) with the store in a SharedWorker, a dedicated Worker and by default, under a strict CSP; then with workers refused (the store falls back to the page)"
mkdir -p "$work/unpacked-web"
tar -xzf "$tarball" -C "$work/unpacked-web"
node crates/web/ts/test/web-entry.mjs "$work/unpacked-web/package"

step "size per entry"
mkdir -p "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
node crates/web/ts/sizes.mjs "$work/unpacked/package"

step "the tarball in a Vite app: tsc, vite build"
# --no-save: the app's package.json and lockfile name only its tools; the package comes from this
# build's tarball. --offline: everything else is installed already (setup.sh).
npm install --prefix "$app" --no-save --offline --no-audit --no-fund --loglevel=error "$tarball"
(cd "$app" && node_modules/.bin/tsc -p tsconfig.json && node_modules/.bin/tsc -p tsconfig.esnext.json)
echo "tsc --noEmit (skipLibCheck false; lib ES2023 + DOM, and ESNext + DOM): ok"
# Vite's cache of pre-bundled dependencies would otherwise keep the previous build's chatsync.
rm -rf "$app/node_modules/.vite" "$app/dist"
(cd "$app" && node_modules/.bin/vite build --logLevel warn)

step "the built app in Chromium (vite preview)"
port=$(free_port)
(cd "$app" && exec node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort) \
  >"$work/preview.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/" "$work/preview.log"
node "$app/e2e/load.mjs" "http://127.0.0.1:$port/"
# The store in a SharedWorker, then in a dedicated one: Vite found and built the worker script.
for mode in shared dedicated; do node "$app/e2e/load.mjs" "http://127.0.0.1:$port/?worker=$mode"; done

step "the app in Chromium from the dev server (vite dev, no config)"
port=$(free_port)
(cd "$app" && exec node_modules/.bin/vite --host 127.0.0.1 --port "$port" --strictPort) \
  >"$work/dev.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/" "$work/dev.log"
node "$app/e2e/load.mjs" "http://127.0.0.1:$port/" || { cat "$work/dev.log" >&2; exit 1; }
for mode in shared dedicated; do
  node "$app/e2e/load.mjs" "http://127.0.0.1:$port/?worker=$mode" || { cat "$work/dev.log" >&2; exit 1; }
done
# The regression needs the dependency pre-bundled: if Vite stopped doing that, this test would pass
# without testing anything.
grep -q '"chatsync/bundler"' "$app/node_modules/.vite/deps/_metadata.json" ||
  fail "vite dev did not pre-bundle chatsync/bundler"

step "examples/vite-react-ai-sdk: tsc, vite build, and in Chromium with a relay (second device, reload mid-reply, offline)"
ai_app=examples/vite-react-ai-sdk
npm install --prefix "$ai_app" --no-save --offline --no-audit --no-fund --loglevel=error "$tarball"
rm -rf "$ai_app/node_modules/.vite" "$ai_app/dist"
(cd "$ai_app" && node_modules/.bin/tsc -p tsconfig.json && node_modules/.bin/vite build --logLevel error)
CHATSYNC_RELAY_BIN=$(realpath "$relay") node "$ai_app/e2e/run.mjs"

step "the relay serves the demo's wasm precompressed"
NO_COLOR=1 "$relay" serve --listen 127.0.0.1:0 --data-dir "$work/relay" --web-dir target/www \
  --insecure-dev-auth >"$work/relay.log" 2>&1 &
pids+=($!)
addr=""
for _ in $(seq 300); do
  addr=$(sed -n 's/.*relay listening addr=\([0-9.:]*\).*/\1/p' "$work/relay.log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/relay.log" >&2; fail "the relay did not start"; }
wasm_url="http://$addr/pkg/web/chatsync_bg.wasm"
unbrotli() { node -e 'process.stdin.pipe(require("zlib").createBrotliDecompress()).pipe(process.stdout)'; }
# Fetches the wasm accepting $1; checks that it came as $2 and that decoding it ($3) gives the file.
check_encoding() {
  local accept=$1 want=$2 decode=$3
  local got
  got=$(curl -fsS -H "Accept-Encoding: $accept" -D "$work/headers" -o "$work/body" "$wasm_url" &&
    tr -d '\r' <"$work/headers" | sed -n 's/^content-encoding: //Ip')
  [ "$got" = "$want" ] || fail "Accept-Encoding: $accept got Content-Encoding '${got}', not '$want'"
  # shellcheck disable=SC2086 # "gzip -dc" is a command and its argument
  $decode <"$work/body" | cmp -s - target/www/pkg/web/chatsync_bg.wasm ||
    fail "the $want body is not chatsync_bg.wasm"
  echo "Accept-Encoding: $accept -> Content-Encoding: $want, $(stat -c %s "$work/body") bytes"
}
check_encoding "br, gzip" br unbrotli
check_encoding "gzip" gzip "gzip -dc"
