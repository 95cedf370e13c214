// Brotli-compresses files at the highest quality, with Node's own zlib: no package to install.
//   node scripts/brotli.mjs FILE...         writes FILE.br beside each (what the relay serves to browsers)
//   node scripts/brotli.mjs --size FILE     prints the compressed size in bytes, writes nothing
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants } from "node:zlib";

const args = process.argv.slice(2);
const sizeOnly = args[0] === "--size";
const files = sizeOnly ? args.slice(1) : args;
if (files.length === 0) {
  console.error("usage: node scripts/brotli.mjs [--size] FILE...");
  process.exit(2);
}
for (const file of files) {
  const input = readFileSync(file);
  const output = brotliCompressSync(input, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: input.length,
      // The wasm is binary; the rest are text. The mode only tunes the encoder's guesses.
      [constants.BROTLI_PARAM_MODE]: file.endsWith(".wasm") ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  });
  if (sizeOnly) console.log(output.length);
  else writeFileSync(`${file}.br`, output);
}
