// Builds the adapters' browser tests with Vite, serves them with `vite preview`, runs them in
// Debian's headless chromium (playwright-core) and prints one line per test; exits 1 if any failed.
//   node crates/web/ts/test/run.mjs [filter]
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const root = import.meta.dirname;
const filter = process.argv[2] ?? "";
await build({ configFile: `${root}/vite.config.ts` });
const server = await preview({ configFile: `${root}/vite.config.ts`, preview: { host: "127.0.0.1", port: 0 } });
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
let failed = 0;
try {
  const page = await browser.newPage();
  const log = [];
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`uncaught: ${e.message}`));
  await page.goto(`${url}?filter=${encodeURIComponent(filter)}`);
  const results = await page.waitForFunction(() => window.__results, null, { timeout: 240_000 }).then((h) => h.jsonValue())
    .catch((error) => {
      console.log(log.join("\n"));
      throw error;
    });
  for (const r of results) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.ms} ms)${r.ok ? "" : `\n     ${r.error.replaceAll("\n", "\n     ")}`}`);
    if (!r.ok) failed += 1;
  }
  if (results.length === 0) {
    console.log("no test matched", log.join("\n"));
    failed = 1;
  }
  console.log(`${results.length - failed} passed, ${failed} failed`);
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
process.exit(failed ? 1 : 0);
