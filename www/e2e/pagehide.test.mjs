// What a person writes right before closing the tab is stored: the flush that `pagehide` starts
// commits even though the page is gone before any of its callbacks could run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, shownMessages } from "./harness.mjs";

let relay;
let browser;

before(async () => {
  relay = new Relay();
  await relay.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.dispose();
});

test("a message written right before the tab closes is there when it reopens", async () => {
  const a = await device(browser, relay, "yan");
  await ask(a.page, "First question");
  let page = a.page;
  const written = [];
  // Several rounds: a flush lost at close lost it only some of the time.
  for (let round = 0; round < 6; round++) {
    const text = `written right before closing, round ${round}`;
    // Well inside the 250 ms before the store's own timer would write it.
    await page.evaluate((content) => window.chatsyncDemo.state.thread.appendMessage({ role: "user", content }), text);
    written.push(`user: ${text}`);
    await page.close();
    page = await a.context.newPage();
    await page.goto(relay.url);
    await page.waitForSelector("#app:not([hidden])");
    await page.waitForFunction((n) => document.querySelectorAll(".message.user").length >= n, written.length, { timeout: 10_000 })
      .catch(() => {});
    const shown = await shownMessages(page);
    assert.deepEqual(shown.filter((m) => m.startsWith("user: written")), written, `round ${round}`);
  }
  await a.context.close();
});
