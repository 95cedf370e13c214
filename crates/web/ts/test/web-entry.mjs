// The `chatsync` entry (wasm-bindgen's `web` target, no bundler) with the store in a worker: pkg/
// served as plain files under a strict CSP, a page that calls init() and opens a store with
// `worker: "shared"`, then `"dedicated"`, then no option (the default, a SharedWorker); each must
// write a message and read it back through the worker. The worker script is found by
// `new URL("./worker.js", import.meta.url)` alone. Then the same page under a CSP that allows no
// worker (`worker-src 'none'`): the store must fall back to the page and work there.
//   node crates/web/ts/test/web-entry.mjs pkg
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const pkg = process.argv[2] ?? "pkg";
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'";
// Under /no-workers/: the same files, with workers refused.
const noWorkers = csp.replace("worker-src 'self'", "worker-src 'none'");
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const page = `<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>`;
const main = `
import init, { ChatStore } from "./pkg/index.js";
await init();
const results = {};
const modes = location.pathname.startsWith("/no-workers/") ? ["default"] : ["shared", "dedicated", "default"];
for (const worker of modes) {
  try {
    const options = { dbName: "web-entry-" + worker, persist: false, ...(worker === "default" ? {} : { worker }) };
    const store = await ChatStore.open(options);
    const { id } = await store.createThread({ title: "web" });
    const thread = await store.openThread(id);
    thread.appendMessage({ role: "user", content: "through the " + worker + " worker" });
    await store.flush();
    const listed = await store.listThreads();
    results[worker] = listed.find((t) => t.id === id)?.messageCount === 1 ? "ok" : "not listed: " + JSON.stringify(listed);
    await store.close();
  } catch (error) {
    results[worker] = "failed: " + (error && error.message);
  }
}
window.__results = results;
`;
const server = createServer(async (request, response) => {
  const full = new URL(request.url, "http://x").pathname;
  const blocked = full.startsWith("/no-workers/");
  const path = blocked ? full.slice("/no-workers".length) : full;
  try {
    let body;
    if (path === "/") body = page;
    else if (path === "/main.js") body = main;
    else if (path.startsWith("/pkg/")) body = await readFile(join(pkg, normalize(path.slice(5))));
    else throw new Error("no such file");
    response.writeHead(200, { "Content-Type": types[extname(path)] ?? "text/html", "Content-Security-Policy": blocked ? noWorkers : csp });
    response.end(body);
  } catch {
    response.writeHead(404);
    response.end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
let failed = true;
const log = [];
try {
  const outcomes = [];
  for (const prefix of ["", "/no-workers"]) {
    const tab = await browser.newPage();
    const warnings = [];
    tab.on("console", (m) => {
      log.push(`console.${m.type()}: ${m.text()}`);
      if (m.type() === "warning") warnings.push(m.text());
    });
    tab.on("pageerror", (e) => log.push(`uncaught: ${e.message}`));
    await tab.goto(`http://127.0.0.1:${server.address().port}${prefix}/`);
    const results = await tab.waitForFunction(() => window.__results, null, { timeout: 60_000 }).then((h) => h.jsonValue());
    for (const [mode, result] of Object.entries(results)) {
      const where = prefix ? ", workers refused by the CSP" : "";
      console.log(`the web entry, worker: ${mode === "default" ? "the default" : `"${mode}"`}${where}: ${result}`);
      outcomes.push(result);
    }
    if (prefix) {
      const fellBack = warnings.some((w) => w.includes("the store runs in the page"));
      console.log(`the web entry, workers refused: the store said it runs in the page: ${fellBack ? "ok" : "no"}`);
      outcomes.push(fellBack ? "ok" : "no fallback warning");
    }
    await tab.close();
  }
  failed = outcomes.some((r) => r !== "ok");
} catch (error) {
  console.log(`${error.message}\n${log.join("\n")}`);
} finally {
  await browser.close();
  server.close();
}
if (failed) console.log(log.join("\n"));
process.exit(failed ? 1 : 0);
