#!/usr/bin/env bash
# Builds the npm package `chatsync` into pkg/ from the settings in wasm-pack.toml (nothing here repeats
# them): the browser crate compiled to wasm32 with the size profile, then wasm-bindgen once per target —
# pkg/web (ES modules with init()) and pkg/bundler (Vite, webpack). Prints the wasm's gzipped size.
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
targets=$(setting targets)
package=$(cargo metadata --no-deps --format-version 1 \
  | python3 -c "import json,sys; m=json.load(sys.stdin); p=[p for p in m['packages'] if p['manifest_path'].endswith('$crate/Cargo.toml')][0]; print(p['name'], p['version'])")
read -r crate_name version <<<"$package"

cargo build -p "$crate_name" --target wasm32-unknown-unknown --profile "$profile"
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$profile/${crate_name//-/_}.wasm"

# wasm-opt sorts the functions by their names, so wasm-bindgen keeps the name section for it and
# wasm-opt strips it; without wasm-opt, wasm-bindgen strips it.
wasm_opt=$(setting wasm-opt)
[ "$wasm_opt" = False ] && wasm_opt=""
strip_names=(--remove-name-section --remove-producers-section)
[ -n "$wasm_opt" ] && strip_names=()
rm -rf pkg
for target in $targets; do
  wasm-bindgen --target "$target" --out-dir "pkg/$target" --out-name "$name" "${strip_names[@]}" "$wasm"
done
if [ -n "$wasm_opt" ]; then
  for target in $targets; do
    file="pkg/$target/${name}_bg.wasm"
    # Names for --reorder-functions-by-name that put similar code side by side (see the script).
    python3 scripts/order-functions.py "$file"
    # shellcheck disable=SC2086 # the arguments are split on purpose
    crates/web/ts/node_modules/.bin/wasm-opt $wasm_opt "$file" -o "$file"
  done
fi

python3 - "$name" "$version" <<'PY'
import json, sys
name, version = sys.argv[1], sys.argv[2]
package = {
    "name": name,
    "version": version,
    "description": "Local-first store for AI chat conversations: Automerge documents in IndexedDB, synced through a relay.",
    "license": "MIT OR Apache-2.0",
    "type": "module",
    "main": f"./web/{name}.js",
    "types": f"./web/{name}.d.ts",
    "exports": {
        ".": {"types": f"./web/{name}.d.ts", "default": f"./web/{name}.js"},
        "./bundler": {"types": f"./bundler/{name}.d.ts", "default": f"./bundler/{name}.js"},
    },
    "files": ["web", "bundler"],
    "sideEffects": [f"./bundler/{name}.js"],
}
json.dump(package, open("pkg/package.json", "w"), indent=2)
PY

for target in $targets; do
  file="pkg/$target/${name}_bg.wasm"
  echo "$file: $(stat -c %s "$file") bytes, $(gzip -9 -c "$file" | wc -c) gzipped"
done
