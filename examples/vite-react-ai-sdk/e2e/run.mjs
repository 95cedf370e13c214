// Drives the built example in Debian's headless chromium (playwright-core): a relay started here on a
// free port, `vite preview` serving the build with the stand-in model's route, and three checks:
//   - a conversation through useChat is persisted: a second tab and a second device (another browser
//     profile, synced through the relay) show it;
//   - a reply survives a reload in the middle of its stream (useChat resume through chatsync's
//     transport) and is stored whole, on both devices;
//   - with the relay gone, the history still shows after a reload (IndexedDB);
//   - the same app from Vite's dev server (its dependency pre-bundling), local only: a reply shows.
//   CHATSYNC_RELAY_BIN=target/debug/chatsync-relay node e2e/run.mjs   (after vite build)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { createServer, preview } from "vite";

const root = join(import.meta.dirname, "..");
const relayBin = process.env.CHATSYNC_RELAY_BIN ?? join(root, "../../target/debug/chatsync-relay");
const dataDir = mkdtempSync(join(tmpdir(), "chatsync-example-"));
const log = [];
const step = (text) => console.log(`-- ${text}`);

function startRelay() {
  const relay = spawn(relayBin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--insecure-dev-auth"], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the relay did not start in 30 s")), 30_000);
    const read = (data) => {
      const text = data.toString();
      log.push(text);
      const found = text.match(/relay listening addr=([0-9.:]+)/);
      if (found) {
        clearTimeout(timer);
        resolve({ relay, addr: found[1] });
      }
    };
    relay.stdout.on("data", read);
    relay.stderr.on("data", read);
    relay.on("exit", (code) => reject(new Error(`the relay exited (${code}): ${log.join("")}`)));
  });
}

const { relay, addr } = await startRelay();
const server = await preview({ root, logLevel: "warn", preview: { host: "127.0.0.1", port: 0, strictPort: false } });
const base = `${server.resolvedUrls.local[0]}?user=alice&relay=${encodeURIComponent(`ws://${addr}/sync`)}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});

async function page(context, url) {
  const tab = await context.newPage();
  tab.on("pageerror", (error) => log.push(`uncaught: ${error.message}`));
  tab.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`));
  await tab.goto(url);
  return tab;
}
const texts = (tab) => tab.$$eval("[data-testid=message]", (items) => items.map((item) => item.textContent));
async function until(what, check, ms = 20_000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await check()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let ok = false;
let shown = async () => "";
try {
  step("device 1: a conversation through useChat");
  const device1 = await browser.newContext();
  const tab = await page(device1, base);
  shown = async () => JSON.stringify({ messages: await texts(tab), chat: await tab.textContent("[data-testid=chat-status]").catch(() => "?") });
  await tab.click("[data-testid=new-thread]");
  await tab.fill("[data-testid=input]", "hello");
  await tab.click("[data-testid=send]");
  await until("the stand-in reply", async () => (await texts(tab)).at(-1)?.endsWith("Nothing here is generated."));
  const threadUrl = tab.url();
  await until("the reply stored", async () => (await tab.textContent("[data-testid=chat-status]")) === "ready");

  step("a second tab of device 1 shows it");
  const tab2 = await page(device1, threadUrl);
  await until("the history in tab 2", async () => (await texts(tab2)).length === 2);

  step("device 2 (another profile) gets it through the relay");
  const device2 = await browser.newContext();
  const other = await page(device2, base);
  await until("the thread in device 2's list", async () => (await other.$$("[data-testid=thread-link]")).length === 1);
  await other.click("[data-testid=thread-link]");
  await until("the history on device 2", async () => (await texts(other)).join("|") === (await texts(tab)).join("|"));

  step("a reply survives a reload in the middle of its stream");
  await tab.fill("[data-testid=input]", "tell me a long story");
  await tab.click("[data-testid=send]");
  await until("the reply under way", async () => (await texts(tab)).at(-1)?.includes("word3"));
  await tab.reload();
  await until("the resumed reply, whole", async () => (await texts(tab)).at(-1)?.endsWith("word30 The end."), 30_000);
  await until("the chat ready", async () => (await tab.textContent("[data-testid=chat-status]")) === "ready");
  const afterResume = await texts(tab);
  if (afterResume.length !== 4 || !afterResume[3].endsWith("word30 The end.")) {
    throw new Error(`after the resume: ${JSON.stringify(afterResume)}`);
  }
  await tab.reload();
  const seen = [];
  await until("the whole reply from storage", async () => {
    const now = await texts(tab);
    if (seen.at(-1) !== JSON.stringify(now)) seen.push(JSON.stringify(now));
    return now.join("|") === afterResume.join("|");
  }).catch((error) => {
    throw new Error(`${error.message}; wanted ${JSON.stringify(afterResume)}, saw ${seen.join(" then ")}`);
  });
  await until("device 2 has it too", async () => (await texts(other)).at(-1)?.endsWith("The end."));

  step("the relay gone: the history still shows after a reload");
  relay.kill();
  await tab.reload();
  await until("the history offline", async () => (await texts(tab)).join("|") === afterResume.join("|"));
  const state = await tab.textContent("[data-testid=status]");
  if (state === "online") throw new Error("status says online with no relay");
  console.log(`   status with the relay gone: ${state}`);

  step("from the dev server (pre-bundled dependencies), local only");
  const dev = await createServer({ root, logLevel: "warn", server: { host: "127.0.0.1", port: 0 } });
  await dev.listen();
  try {
    const local = await page(await browser.newContext(), `${dev.resolvedUrls.local[0]}?user=bob`);
    await local.click("[data-testid=new-thread]", { timeout: 60_000 });
    await local.fill("[data-testid=input]", "hello");
    await local.click("[data-testid=send]");
    await until("the reply from the dev server", async () => (await texts(local)).at(-1)?.endsWith("Nothing here is generated."), 60_000);
  } finally {
    await dev.close();
  }
  ok = true;
} catch (error) {
  console.log(`FAILED: ${error.message}\n  device 1 shows ${await shown().catch(() => "?")}\n  ${log.slice(-30).join("\n  ")}`);
} finally {
  await browser.close();
  relay.kill();
  await new Promise((resolve) => server.httpServer.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(ok ? "examples/vite-react-ai-sdk: ok" : "examples/vite-react-ai-sdk: FAILED");
process.exit(ok ? 0 : 1);
