#!/usr/bin/env bash
# Builds the npm package `chatsync` into pkg/ from the settings in wasm-pack.toml (nothing here repeats
# them): the browser crate compiled to wasm32 with the size profile, wasm-bindgen's `web` target in
# pkg/web (ES modules with init()); the package's JS layer compiled from crates/web/ts/src by tsc
# (pkg/index.js, the "chatsync" entry: pkg/web plus ChatsyncError, persistent storage and
# store.search, whose index in pkg/search loads on the first search; the adapters pkg/react and
# pkg/ai-sdk, each a subpath export with its own types; pkg/export, chatsync/export, the export and
# import that the store's exportThread / exportAll / importThreads load on first use; pkg/history, the
# history module — crates/history's own wasm and glue — that thread.history() and the rest load on
# first use); pkg/bundler, an entry for
# bundlers that initialises the wasm on import (see below); then the package's package.json, README and
# licences. Prints the gzipped and brotli sizes of the core wasm and of the history module's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

# One value of wasm-pack.toml's [package] table; a list is printed space-separated.
setting() {
  python3 - "$1" <<'PY'
import sys, tomllib
value = tomllib.load(open("wasm-pack.toml", "rb"))["package"][sys.argv[1]]
print(" ".join(value) if isinstance(value, list) else value)
PY
}
name=$(setting name)
crate=$(setting crate)
profile=$(setting profile)
package=$(cargo metadata --no-deps --format-version 1 \
  | python3 -c "import json,sys; m=json.load(sys.stdin); p=[p for p in m['packages'] if p['manifest_path'].endswith('$crate/Cargo.toml')][0]; print(p['name'], p['version'])")
read -r crate_name version <<<"$package"

# Panic locations name their source files: shorter prefixes for crates.io's, the standard library's and this repository's
# (-0.2 KB brotli); a registry's crate is named from its own directory (`automerge-0.12.0/src/…`, not
# `index.crates.io-…/automerge-0.12.0/src/…`, the last matching prefix applying: -0.4 KB). SHA-256
# (Automerge's change hashes, sha2 0.11) with its round loop rolled up rather than unrolled: one small
# function instead of 8 KB of code, for hashing that is a sliver of a load or a commit (-0.7 KB).
# Only this build gets the flags, so the tests' wasm builds are unaffected.
rustc_commit=$(rustc -vV | sed -n 's/^commit-hash: //p')
# The history module (crates/history), which thread.history() and the rest load on first use, is
# built in the same run: the same profile and flags, and Automerge's compiled code shared.
history_crate=chatsync-history
registry_flags=""
for registry in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  [ -d "$registry" ] && registry_flags+=" --remap-path-prefix=$registry="
done
RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$HOME/.cargo/registry/src/=$registry_flags --remap-path-prefix=$PWD/= --remap-path-prefix=/rustc/$rustc_commit/= --cfg sha2_backend_soft=\"compact\"" \
  cargo build -p "$crate_name" -p "$history_crate" --target wasm32-unknown-unknown --profile "$profile"
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$profile/${crate_name//-/_}.wasm"
history_wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$profile/${history_crate//-/_}.wasm"

# wasm-opt sorts the functions by their names, so wasm-bindgen keeps the name section for it and
# wasm-opt strips it; without wasm-opt, wasm-bindgen strips it.
wasm_opt=$(setting wasm-opt)
[ "$wasm_opt" = False ] && wasm_opt=""
strip_names=(--remove-name-section --remove-producers-section)
[ -n "$wasm_opt" ] && strip_names=()
rm -rf pkg
# wasm-bindgen's `web` glue for a wasm ($1) into $2/$3.js and $2/$3_bg.wasm, then the wasm shrunk.
bindgen() {
  wasm-bindgen --target web --out-dir "$2" --out-name "$3" "${strip_names[@]}" "$1"
  local out="$2/$3_bg.wasm"
  # Short names for the functions the wasm imports from its glue (wasm-bindgen's end in a hash).
  python3 scripts/short-imports.py "$out" "$2/$3.js"
  if [ -n "$wasm_opt" ]; then
    # Names for --reorder-functions-by-name that put similar code side by side (see the script).
    python3 scripts/order-functions.py "$out"
    # shellcheck disable=SC2086 # the arguments are split on purpose
    crates/web/ts/node_modules/.bin/wasm-opt $wasm_opt "$out" -o "$out"
  fi
}
bindgen "$wasm" pkg/web "$name"
file="pkg/web/${name}_bg.wasm"
# pkg/history: the history module's wasm and glue, beside its JS layer (history/engine.js, by tsc).
bindgen "$history_wasm" pkg/history chatsync_history
history_file=pkg/history/chatsync_history_bg.wasm

# chatsync/bundler is not wasm-bindgen's `bundler` target: that one imports the .wasm as an ES module
# from a second JS file, and Vite's dev server pre-bundles the JS but serves the .wasm on its own, whose
# imports then load a second, never-initialised copy of the glue (a blank page: "Cannot read properties
# of undefined"). This entry is the `web` glue, initialised at the top level with the wasm's URL written
# as `new URL(…, import.meta.url)`, the form bundlers resolve and rewrite (Vite 8 in dev and build; Vite
# 7's esbuild pre-bundling does not, so there it needs optimizeDeps.exclude; webpack 5 as an asset). It
# re-exports pkg/web, so both entries share one module and one wasm instance, and the package ships
# the wasm once.
mkdir -p pkg/bundler
cat >"pkg/bundler/$name.js" <<JS
// The same API as "$name", initialised on import: no init() to call.
import init from "../index.js";
await init({ module_or_path: new URL("../web/${name}_bg.wasm", import.meta.url) });
export * from "../index.js";
JS
cat >"pkg/bundler/$name.d.ts" <<TS
// The same API as "$name", initialised on import: no init() to call.
export * from "../index.js";
TS
# The JS layer: plain TypeScript beside the wasm-bindgen glue (its tsconfig explains the layout; it
# imports pkg/bundler, written above).
crates/web/ts/node_modules/.bin/tsc -p crates/web/ts/tsconfig.build.json
# MiniSearch (store.search's index, see src/search/minisearch.d.ts), from the npm package the tests
# run against, with its licence.
cp crates/web/ts/node_modules/minisearch/dist/es/index.js pkg/search/minisearch.js
cp crates/web/ts/node_modules/minisearch/LICENSE.txt pkg/search/minisearch.LICENSE.txt
cp crates/web/README.md LICENSE-MIT LICENSE-APACHE pkg/

python3 - "$name" "$version" <<'PY'
import json, sys
name, version = sys.argv[1], sys.argv[2]
package = {
    "name": name,
    "version": version,
    "description": "Local-first store for AI chat conversations: Automerge documents in IndexedDB, synced through a relay.",
    "license": "MIT OR Apache-2.0",
    "type": "module",
    "main": "./index.js",
    "types": "./index.d.ts",
    # ES modules only (the wasm glue is ESM, with top-level await in ./bundler): no "require"
    # condition, which is why arethetypeswrong runs with its esm-only profile.
    "exports": {
        ".": {"types": "./index.d.ts", "default": "./index.js"},
        "./bundler": {"types": f"./bundler/{name}.d.ts", "default": f"./bundler/{name}.js"},
        "./react": {"types": "./react/index.d.ts", "default": "./react/index.js"},
        "./ai-sdk": {"types": "./ai-sdk/index.d.ts", "default": "./ai-sdk/index.js"},
        "./export": {"types": "./export/index.d.ts", "default": "./export/index.js"},
        "./package.json": "./package.json",
    },
    # npm adds README.md by itself, but not licence files named LICENSE-*.
    "files": ["index.js", "index.d.ts", "errors.js", "errors.d.ts", "metadata.js", "metadata.d.ts",
              "threads.js", "threads.d.ts", "views.js", "views.d.ts", "abort.js", "abort.d.ts",
              "reuse.js", "reuse.d.ts", "signals.js", "signals.d.ts", "thread-list.js", "thread-list.d.ts", "internal.js", "internal.d.ts", "idb.js", "idb.d.ts", "web", "bundler", "react", "ai-sdk", "search", "export", "history", "worker", "share",
              "README.md", "LICENSE-MIT", "LICENSE-APACHE"],
    # index.js patches the store class (persistent storage) when imported, and so do
    # search/install.js (store.search), export/store.js (the export methods), history/install.js
    # (thread.history and the rest), metadata.js, threads.js (store.threads()), views.js (messages
    # kept between views), abort.js (signals) and share/store.js (sharing); worker/worker.js is a worker's entry (it opens the
    # store); bundler/ loads the wasm.
    "sideEffects": ["./index.js", "./search/install.js", "./export/store.js", "./history/install.js", "./metadata.js",
                    "./threads.js", "./views.js", "./abort.js", "./share/store.js", "./worker/worker.js", f"./bundler/{name}.js"],
    # No dependencies: MiniSearch, store.search's index, ships inside (search/minisearch.js).
    # The adapters' frameworks, each needed only by its subpath: chatsync/react needs react,
    # chatsync/ai-sdk needs ai (the versions the tests run against: crates/web/ts/package.json).
    "peerDependencies": {"react": ">=18.0.0", "ai": ">=7.0.0 <8"},
    "peerDependenciesMeta": {"react": {"optional": True}, "ai": {"optional": True}},
}
json.dump(package, open("pkg/package.json", "w"), indent=2)
PY

for f in "$file" "$history_file"; do
  echo "$f: $(stat -c %s "$f") bytes, $(gzip -9 -c "$f" | wc -c) gzipped, $(node scripts/brotli.mjs --size "$f") brotli"
done
