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
cp www/index.html www/app.js www/stand-in-model.js www/transfer.js www/share.js www/styles.css www/sw.js "$out/"
cp pkg/web/chatsync.js pkg/web/chatsync_bg.wasm pkg/web/chatsync.d.ts "$out/pkg/"
# chatsync/export, which the demo's export and import load on demand (it needs only errors.js beside it).
cp -r pkg/export pkg/errors.js "$out/pkg/"
# chatsync/share's client, which the demo's share dialog calls (it needs only errors.js beside it).
mkdir -p "$out/pkg/share" && cp pkg/share/client.js "$out/pkg/share/"
# Precompressed copies: the relay sends the .br to clients that accept brotli (Chromium does, even on
# http://127.0.0.1) and the .gz to those that accept only gzip. The wasm: 1.54 MB, 0.50 MB gzipped,
# 0.40 MB brotli.
compressed=("$out/pkg/chatsync_bg.wasm" "$out/pkg/chatsync.js" "$out/app.js" "$out/styles.css")
gzip -9 -k -f "${compressed[@]}"
node scripts/brotli.mjs "${compressed[@]}"
echo "demo app in $out"
