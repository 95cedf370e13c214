// Loads the example app at a URL in Debian's chromium (playwright-core: it never downloads a browser)
// and exits 0 once the page shows the message it wrote through chatsync, 1 otherwise, printing what
// the page logged and threw so a blank page explains itself.
//   node e2e/load.mjs http://127.0.0.1:PORT/
import { chromium } from "playwright-core";

const url = process.argv[2];
const expected = "Hello from a Vite app";
const log = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
  ],
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`));
  // An uncaught error is how the blank page shows itself: fail at once rather than time out.
  let failed;
  const uncaught = new Promise((resolve) => (failed = resolve));
  page.on("pageerror", (error) => {
    log.push(`uncaught: ${error.message}`);
    failed();
  });
  page.on("response", (response) => {
    if (response.status() >= 400) log.push(`HTTP ${response.status()} ${response.url()}`);
  });
  await page.goto(url);
  try {
    // 30 s: the first dev-server load pre-bundles the dependency, and CI machines are shared.
    const shown = page.waitForSelector("#message", { timeout: 30_000 }).then(() => true);
    if (!(await Promise.race([shown, uncaught.then(() => false)]))) throw new Error("the page threw");
    const text = await page.textContent("#message");
    ok = text === expected;
    if (!ok) log.push(`#message says ${JSON.stringify(text)}, not ${JSON.stringify(expected)}`);
  } catch (error) {
    log.push(`no #message: ${error.message.split("\n")[0]}; the page says ${JSON.stringify(await page.textContent("body"))}`);
  }
} finally {
  await browser.close();
}
console.log(ok ? `${url}: shows "${expected}"` : `${url}: FAILED\n  ${log.join("\n  ")}`);
process.exit(ok ? 0 : 1);
