#!/usr/bin/env bash
# Builds the demo app into target/www: the files of www/ as they are (plain ES modules, no bundler)
# and the freshly built `chatsync` package (pkg/web) under target/www/pkg — the same files a user's
# app would import. The relay serves this folder at / (`serve --web-dir target/www`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-web.sh
out=target/www
rm -rf "$out"
mkdir -p "$out/pkg"
cp www/index.html www/app.js www/stand-in-model.js www/transfer.js www/history.js www/styles.css www/sw.js "$out/"
cp pkg/web/chatsync.js pkg/web/chatsync_bg.wasm pkg/web/chatsync.d.ts "$out/pkg/"
# chatsync/export, which the demo's export and import load on demand, and the history module, which
# its history slider loads on demand (each needs only errors.js beside it).
cp -r pkg/export pkg/history pkg/errors.js "$out/pkg/"
# Precompressed copies: the relay sends the .br to clients that accept brotli (Chromium does, even on
# http://127.0.0.1) and the .gz to those that accept only gzip. The wasm: 1.54 MB, 0.50 MB gzipped,
# 0.40 MB brotli.
compressed=("$out/pkg/chatsync_bg.wasm" "$out/pkg/chatsync.js" "$out/pkg/history/chatsync_history_bg.wasm" "$out/app.js" "$out/styles.css")
gzip -9 -k -f "${compressed[@]}"
node scripts/brotli.mjs "${compressed[@]}"
echo "demo app in $out"
