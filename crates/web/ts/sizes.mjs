// Prints what each entry of the packed package costs an app: the entry's own JS bundled and minified
// (the frameworks it needs, react / ai, and the core module left out, as an app has them anyway),
// gzipped and brotli'd; what the main entry imports only on demand (the search index, the export
// module, the history module's glue) on its own row; the history module's wasm, which the first
// thread.history() (or viewAt, restore, undo) loads; and the core wasm, which must stay within its budget.
//   node crates/web/ts/sizes.mjs <unpacked package dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "vite";

const dir = process.argv[2];
const WASM_BUDGET = 420_000; // bytes, brotli (README, issue 15)
const packageJson = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const brotli = (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

const rows = [];
const lazyRows = [];
// The unpacked package has no node_modules: its dependencies (minisearch) are bundled from the
// tooling's copy here, the version the tests run against.
const alias = Object.keys(packageJson.dependencies ?? {}).map((name) => ({
  find: new RegExp(`^${name}$`),
  replacement: fileURLToPath(import.meta.resolve(name)),
}));
for (const [subpath, target] of Object.entries(packageJson.exports)) {
  if (typeof target === "string") continue; // ./package.json
  const entry = join(dir, target.default);
  const adapter = subpath === "./react" || subpath === "./ai-sdk" || subpath === "./export";
  const result = await build({
    configFile: false,
    logLevel: "silent",
    resolve: { alias },
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
  const chunks = outputs.filter((o) => o.type === "chunk");
  // What loading an entry costs: not the chunks it loads only later, by import() — store.search's
  // index with MiniSearch, and chatsync/export (which has its own row too) for the export methods.
  // Those are the "." entry's "on demand" row: an app pays for them on first use.
  const eager = Buffer.concat(chunks.filter((o) => o.isEntry || !o.isDynamicEntry).map((o) => Buffer.from(o.code)));
  rows.push([subpath, eager.length, gzip(eager), brotli(eager)]);
  if (subpath === ".") {
    const lazy = Buffer.concat(chunks.filter((o) => !o.isEntry && o.isDynamicEntry).map((o) => Buffer.from(o.code)));
    if (lazy.length) lazyRows.push([". on demand", lazy.length, gzip(lazy), brotli(lazy)]);
  }
}
rows.push(...lazyRows);
const historyWasm = readFileSync(join(dir, "history/chatsync_history_bg.wasm"));
rows.push(["history wasm", historyWasm.length, gzip(historyWasm), brotli(historyWasm)]);
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
