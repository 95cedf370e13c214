// Builds the adapters' browser tests with Vite, serves them with `vite preview`, runs them in
// Debian's headless chromium (playwright-core) and prints one line per test; exits 1 if any failed.
// A relay is started here for the tests that sync two stores (CHATSYNC_RELAY_BIN, default
// target/debug/chatsync-relay); the page gets its URL as ?relay=.
//   CHATSYNC_RELAY_BIN=target/debug/chatsync-relay node crates/web/ts/test/run.mjs [filter]
// CHATSYNC_TEST_WORKER=none (or shared, or dedicated) runs every test with its stores in the page (in that worker)
// (`ChatStore.open`'s default `worker` option, see main.ts).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const root = import.meta.dirname;
const filter = process.argv[2] ?? "";
const relayBin = process.env.CHATSYNC_RELAY_BIN ?? join(root, "../../../../target/debug/chatsync-relay");
if (!existsSync(relayBin)) throw new Error(`no relay at ${relayBin}: build it or set CHATSYNC_RELAY_BIN`);
await build({ configFile: `${root}/vite.config.ts` });
const dataDir = mkdtempSync(join(tmpdir(), "chatsync-ts-tests-"));
const relayLog = [];
const relay = spawn(relayBin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--insecure-dev-auth"], {
  env: { ...process.env, NO_COLOR: "1" },
  stdio: ["ignore", "pipe", "pipe"],
});
// However this script ends (a failed build of the page, a timeout), the relay ends with it.
process.on("exit", () => relay.kill());
const relayAddr = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`the relay did not start in 30 s: ${relayLog.join("")}`)), 30_000);
  const read = (data) => {
    relayLog.push(data.toString());
    const found = relayLog.join("").match(/relay listening addr=([0-9.:]+)/);
    if (found) {
      clearTimeout(timer);
      resolve(found[1]);
    }
  };
  relay.stdout.on("data", read);
  relay.stderr.on("data", read);
  relay.on("exit", (code) => reject(new Error(`the relay exited (${code}): ${relayLog.join("")}`)));
});
const stopRelay = () => {
  relay.kill();
  rmSync(dataDir, { recursive: true, force: true });
};
const server = await preview({ configFile: `${root}/vite.config.ts`, preview: { host: "127.0.0.1", port: 0 } });
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // --expose-gc: worker.test.ts drops a Thread and collects it.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--js-flags=--expose-gc"],
});
let failed = 0;
try {
  const page = await browser.newPage();
  const log = [];
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`uncaught: ${e.message}`));
  const relayUrl = `ws://${relayAddr}/sync`;
  const worker = process.env.CHATSYNC_TEST_WORKER ? `&worker=${encodeURIComponent(process.env.CHATSYNC_TEST_WORKER)}` : "";
  await page.goto(`${url}?filter=${encodeURIComponent(filter)}&relay=${encodeURIComponent(relayUrl)}${worker}`);
  const results = await page.waitForFunction(() => window.__results, null, { timeout: 240_000 }).then((h) => h.jsonValue())
    .catch((error) => {
      console.log(log.join("\n"));
      throw error;
    });
  for (const r of results) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.ms} ms)${r.ok ? "" : `\n     ${r.error.replaceAll("\n", "\n     ")}`}`);
    if (!r.ok) failed += 1;
  }
  // A failure's console (and its frames'): what the page said around it.
  if (failed > 0) console.log(log.join("\n"));
  if (results.length === 0) {
    console.log("no test matched", log.join("\n"));
    failed = 1;
  }
  console.log(`${results.length - failed} passed, ${failed} failed`);
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
  stopRelay();
}
process.exit(failed ? 1 : 0);
