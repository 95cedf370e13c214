// What the end-to-end tests share: a relay they start and stop themselves (on a free loopback port,
// serving the built demo app), Debian's chromium driven by playwright-core, and small page helpers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
export const artifacts = process.env.CHATSYNC_E2E_ARTIFACTS ?? join(root, "target/e2e-artifacts");
mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on("error", fail);
  });
}

/** The relay binary serving target/www with development auth; `stop()` and `start()` keep its data. */
export class Relay {
  constructor() {
    this.dataDir = mkdtempSync(join(tmpdir(), "chatsync-e2e-"));
    this.binary = process.env.CHATSYNC_RELAY_BIN ?? join(root, "target/debug/chatsync-relay");
    this.webDir = process.env.CHATSYNC_WEB_DIR ?? join(root, "target/www");
  }

  async start() {
    this.port ??= await freePort();
    this.process = spawn(
      this.binary,
      ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--web-dir", this.webDir, "--insecure-dev-auth"],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    const listening = new Promise((done, fail) => {
      const read = (chunk) => {
        log += chunk;
        if (log.includes("relay listening")) done();
      };
      this.process.stdout.on("data", read);
      this.process.stderr.on("data", read);
      this.process.on("exit", (code) => fail(new Error(`relay exited (${code}):\n${log}`)));
    });
    await listening;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    const exited = new Promise((done) => this.process.once("exit", done));
    this.process.kill("SIGTERM");
    await exited;
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    ],
  });
}

/** A new device: its own browser context (its own IndexedDB), signed in as `user`. */
export async function device(browser, relay, user, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${user}] page error:`, e.message));
  await page.goto(relay.url);
  await page.waitForSelector("#dev-login:not([hidden])");
  await page.fill("#dev-user", user);
  await page.click("#dev-login button");
  await page.waitForSelector("#app:not([hidden])");
  return { context, page };
}

/** Types a message and waits for the stand-in model's reply to finish. */
export async function ask(page, text) {
  const before = await page.locator('.message.assistant[data-status="complete"]').count();
  await page.fill("#composer", text);
  await page.press("#composer", "Enter");
  await page.waitForFunction(
    (n) => document.querySelectorAll('.message.assistant[data-status="complete"]').length > n,
    before,
    { timeout: 30_000 },
  );
}

/** The thread list as shown: titles, sorted. */
export async function threadTitles(page) {
  const titles = await page.locator(".thread-item .title").allTextContents();
  return titles.sort();
}

/** Every message of the open thread as `role: content`. */
export async function shownMessages(page) {
  return page.$$eval(".message", (els) =>
    els.map((el) => `${el.dataset.role}: ${el.querySelector(".content").textContent}`),
  );
}

export async function openThreadTitled(page, title) {
  await page.locator(".thread-item", { hasText: title }).locator(".open").click();
  await page.waitForFunction((t) => document.querySelector("#thread-title")?.textContent === t, title);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

/** Calls `check` every 200 ms until it returns true; fails naming `what` and the last answer. */
export async function poll(what, check, timeout = 20_000) {
  const until = Date.now() + timeout;
  let last;
  while (Date.now() < until) {
    last = await check();
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out waiting until ${what} (last: ${JSON.stringify(last)})`);
}
