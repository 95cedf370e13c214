// The worker benchmark (issue 17): a 5,000-message thread switched to after a reload, then a reply
// streamed into it (a delta every 20 ms), in Debian's headless chromium with the built package —
// the store in the page, then in a SharedWorker, then in a dedicated worker. Prints each mode's
// main-thread long tasks (over 50 ms: how many, the longest, their total) for both phases, the first
// view's time and the synchronous cost of appendDelta. A measurement, not a test.
//   (build and install the package as for run.mjs) node crates/web/ts/bench/worker-run.mjs [messages]
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const root = import.meta.dirname;
const [messages = "5000"] = process.argv.slice(2);
const config = {
  root,
  configFile: false,
  logLevel: "error",
  build: {
    outDir: `${root}/../../../../target/worker-bench`, emptyOutDir: true, target: "es2022",
    rollupOptions: { input: `${root}/worker.html` },
  },
};
await build(config);
const server = await preview({ ...config, preview: { host: "127.0.0.1", port: 0 } });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const base = `${server.resolvedUrls.local[0]}worker.html`;
const run = async (page, query) => {
  await page.goto(`${base}?${new URLSearchParams(query)}`);
  const result = await page.waitForFunction(() => window.__bench, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  if (result.error) throw new Error(result.error);
  return result;
};
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
  const started = Date.now();
  const { big, small } = await run(page, { phase: "build", messages });
  console.log(`corpus: ${messages} messages written in ${Math.round((Date.now() - started) / 1000)} s`);
  for (const mode of ["none", "shared", "dedicated", "none"]) {
    // A fresh page each time: the thread is not in memory (a reload), nor is a previous worker's.
    const fresh = await context.newPage();
    fresh.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
    const result = await run(fresh, { phase: "measure", mode, big, small });
    console.log(JSON.stringify(result));
    await fresh.close();
  }
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
