// Prints what each entry of the packed package costs an app: the entry's own JS bundled and minified
// (the frameworks it needs, react / ai, and the core module left out, as an app has them anyway),
// gzipped and brotli'd; and the core wasm, which must stay within its budget.
//   node crates/web/ts/sizes.mjs <unpacked package dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "vite";

const dir = process.argv[2];
const WASM_BUDGET = 420_000; // bytes, brotli (README, issue 15)
const packageJson = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const brotli = (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

const rows = [];
for (const [subpath, target] of Object.entries(packageJson.exports)) {
  if (typeof target === "string") continue; // ./package.json
  const entry = join(dir, target.default);
  const adapter = subpath === "./react" || subpath === "./ai-sdk";
  const result = await build({
    configFile: false,
    logLevel: "silent",
    // The wasm is counted on its own (last row): a library build would inline it as base64.
    plugins: [{
      name: "wasm-apart",
      transform: (code) => code.replace(/new URL\(\s*(["'][^"']+\.wasm["'])\s*,\s*import\.meta\.url\s*\)/g, "$1"),
    }],
    build: {
      write: false,
      minify: true,
      target: "es2022",
      lib: { entry, formats: ["es"], fileName: "entry" },
      rollupOptions: {
        external: (id) =>
          /^(react|react-dom|ai|@ai-sdk\/.*)(\/|$)/.test(id) ||
          // An adapter's share is its own code: the core (chatsync, its glue and wasm) is counted once, below.
          (adapter && /(^|\/)(index|errors)\.js$|\/(web|bundler)\//.test(id) && !id.includes(`/${subpath.slice(2)}/`)),
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const code = Buffer.concat(outputs.filter((o) => o.type === "chunk").map((o) => Buffer.from(o.code)));
  rows.push([subpath, code.length, gzip(code), brotli(code)]);
}
const wasm = readFileSync(join(dir, "web/chatsync_bg.wasm"));
rows.push(["core wasm", wasm.length, gzip(wasm), brotli(wasm)]);
console.log("entry            minified      gzip    brotli");
for (const [name, raw, gz, br] of rows) {
  console.log(`${name.padEnd(14)} ${kb(raw).padStart(10)} ${kb(gz).padStart(9)} ${kb(br).padStart(9)}`);
}
const wasmBrotli = rows.at(-1)[3];
if (wasmBrotli > WASM_BUDGET) {
  console.error(`the core wasm is ${wasmBrotli} bytes brotli, over its budget of ${WASM_BUDGET}`);
  process.exit(1);
}
