// The search benchmark (issue 16): 10,000 messages across 200 threads in a store, in Debian's headless
// chromium. Prints the index's build time, its size in IndexedDB, query latencies (p50 / p95 / max),
// a reload answering from the saved index, and the index's cost per streamed delta. A measurement,
// not a test: nothing fails on a slow machine.
//   bash scripts/build-web.sh && npm install --prefix crates/web/ts --no-save <packed tarball>
//   node crates/web/ts/bench/run.mjs [threads] [messagesPerThread]
// (scripts/bench-search.sh does both.)
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const root = import.meta.dirname;
const [threads = "200", perThread = "50"] = process.argv.slice(2);
const config = {
  root,
  configFile: false,
  logLevel: "error",
  build: { outDir: `${root}/../../../../target/search-bench`, emptyOutDir: true, target: "es2022" },
};
await build(config);
const server = await preview({ ...config, preview: { host: "127.0.0.1", port: 0 } });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--js-flags=--expose-gc", "--enable-precise-memory-info"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log(m.text()));
  page.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
  await page.goto(`${server.resolvedUrls.local[0]}?threads=${threads}&perThread=${perThread}`);
  const result = await page.waitForFunction(() => window.__bench, null, { timeout: 900_000 }).then((h) => h.jsonValue());
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
