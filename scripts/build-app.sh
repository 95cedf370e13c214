#!/usr/bin/env bash
# Builds the demo app into target/www: the files of www/ as they are (plain ES modules, no bundler)
# and the freshly built `chatsync` package under target/www/pkg — the same files a user's app would
# import through the package's entry (pkg/index.js, with the worker, search, export and history modules
# it loads lazily). The relay serves this folder at / (`serve --web-dir target/www`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-web.sh
out=target/www
rm -rf "$out"
mkdir -p "$out/pkg"
cp www/index.html www/app.js www/stand-in-model.js www/transfer.js www/search.js www/history.js www/share.js www/styles.css www/sw.js "$out/"
# The package as published, minus what a page without a bundler or React does not load.
cp pkg/*.js "$out/pkg/"
for dir in pkg/*/; do
  case "$dir" in pkg/bundler/ | pkg/react/ | pkg/ai-sdk/) ;; *) cp -r "$dir" "$out/pkg/" ;; esac
done
# Precompressed copies: the relay sends the .br to clients that accept brotli (Chromium does, even on
# http://127.0.0.1) and the .gz to those that accept only gzip: every script, style, page and the wasm
# (1.63 MB, 0.53 MB gzipped, 0.42 MB brotli).
# The service worker's app shell: every file served, as paths relative to it.
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
files = sorted(f"./{p.relative_to(out)}" for p in out.rglob("*")
               if p.is_file() and p.suffix in {".html", ".js", ".css", ".wasm"} and p.name != "sw.js")
sw = out / "sw.js"
sw.write_text(sw.read_text().replace("[/* FILES */]", json.dumps(files)))
PY
mapfile -t compressed < <(find "$out" -type f \( -name "*.js" -o -name "*.wasm" -o -name "*.css" -o -name "*.html" \))
gzip -9 -k -f "${compressed[@]}"
node scripts/brotli.mjs "${compressed[@]}"
echo "demo app in $out"
