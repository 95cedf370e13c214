// The demo's composer never loses a message: one typed the moment the app appears after sign-in is
// stored and shown, and one the store refuses stays in the composer with the error shown.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, device, launchBrowser, shownMessages, threadTitles, poll } from "./harness.mjs";

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

test("a message typed and sent right after sign-in is stored and shown", async () => {
  // No service worker: requests it handled would bypass the route below.
  const context = await browser.newContext({ serviceWorkers: "block" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Sign-in asks /api/me once; ChatStore.open asks again, and this answer is slow: the store opens
  // 1.5 s after sign-in.
  let asked = 0;
  await page.route("**/api/me?*", async (route) => {
    asked += 1;
    if (asked > 1) await new Promise((r) => setTimeout(r, 1_500));
    await route.continue();
  });
  await page.goto(relay.url);
  await page.waitForSelector("#dev-login:not([hidden])");
  await page.fill("#dev-user", "judy");
  await page.click("#dev-login button");
  // At once, the way a person types: Playwright waits only until the composer takes input.
  const text = "Typed the moment I signed in";
  await page.fill("#composer", text);
  await page.press("#composer", "Enter");

  await poll("the message is shown", async () => {
    const shown = await shownMessages(page);
    return shown[0] === `user: ${text}` || shown;
  });
  assert.equal(await page.inputValue("#composer"), "");
  await poll("the thread is listed", async () => (await threadTitles(page)).includes(text) || (await threadTitles(page)));
  await page.locator('.message.assistant[data-status="complete"]').waitFor({ timeout: 30_000 });

  // Stored: a reload shows it from IndexedDB.
  await page.reload();
  await page.waitForSelector("#app:not([hidden])");
  await poll("the message is back after a reload", async () => {
    const shown = await shownMessages(page);
    return shown[0] === `user: ${text}` || shown;
  });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a message the store refuses stays in the composer, with the error shown", async () => {
  const a = await device(browser, relay, "kim");
  await a.page.evaluate(() => window.chatsyncDemo.state.store.close());
  const text = "Nowhere to store this";
  await a.page.fill("#composer", text);
  await a.page.press("#composer", "Enter");
  await a.page.waitForSelector("#composer-error:not([hidden])");
  assert.match(await a.page.textContent("#composer-error"), /not sent: the store is closed/);
  assert.equal(await a.page.inputValue("#composer"), text);
  assert.deepEqual(await shownMessages(a.page), []);
  await a.context.close();
});
