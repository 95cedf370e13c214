// The demo app end to end, in Debian's chromium: two devices of one user, streaming, reloads without
// the relay, a tab closed mid-stream, and a second user. Run by scripts/test.sh (`node --test`).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  Relay, ask, device, launchBrowser, openThreadTitled, poll, screenshot, shownMessages, threadTitles,
} from "./harness.mjs";

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

test("two devices of one user, both offline, converge when back online", async () => {
  const a = await device(browser, relay, "alice");
  const b = await device(browser, relay, "alice");
  // A goes offline with the app's switch; B the way a phone does, by losing the network: the
  // browser's `offline` event alone must stop its sync.
  await a.page.check("#offline-toggle");
  await b.context.setOffline(true);
  for (const { page } of [a, b]) {
    await poll("the device shows it is offline", async () =>
      (await page.getAttribute("#sync-status", "data-state")) !== "online" || "still online");
  }
  await ask(a.page, "Offline question from the laptop");
  await ask(b.page, "Offline question from the phone");
  await screenshot(a.page, "offline-device-a");

  await a.page.uncheck("#offline-toggle");
  await b.context.setOffline(false);
  const expected = ["Offline question from the laptop", "Offline question from the phone"];
  await poll("both devices list both threads", async () => {
    const [ta, tb] = [await threadTitles(a.page), await threadTitles(b.page)];
    return (JSON.stringify(ta) === JSON.stringify(expected) && JSON.stringify(tb) === JSON.stringify(expected)) || [ta, tb];
  });
  for (const title of expected) {
    await openThreadTitled(a.page, title);
    await openThreadTitled(b.page, title);
    await poll(`“${title}” shows the same messages on both`, async () => {
      const [ma, mb] = [await shownMessages(a.page), await shownMessages(b.page)];
      return (ma.length === 2 && JSON.stringify(ma) === JSON.stringify(mb)) || [ma, mb];
    });
  }
  await poll("the status shows synced", async () =>
    (await a.page.getAttribute("#sync-status", "data-state")) === "online" || "not yet");
  await screenshot(a.page, "synced-device-a");
  await a.context.close();
  await b.context.close();
});

test("a reply streamed on device A shows complete and identical on device B", async () => {
  const a = await device(browser, relay, "carol");
  const b = await device(browser, relay, "carol");
  await ask(a.page, "Stream me something");
  const [, streamed] = await shownMessages(a.page);
  await poll("B lists the thread", async () => (await threadTitles(b.page)).includes("Stream me something") || "no");
  await openThreadTitled(b.page, "Stream me something");
  await poll("B shows the complete reply", async () => {
    const complete = await b.page.locator('.message.assistant[data-status="complete"]').count();
    return (complete === 1 && (await shownMessages(b.page))[1] === streamed) || (await shownMessages(b.page));
  });
  await screenshot(b.page, "device-b-after-stream");
  // The plan artifact and the tool call came along too.
  assert.match(await b.page.textContent("#artifact-content"), /Check it and reply/);
  assert.match(await b.page.textContent(".tool-call"), /search — completed · \d+ ms/);
  await a.context.close();
  await b.context.close();
});

test("reloading with the relay stopped shows the whole history from IndexedDB", async () => {
  const a = await device(browser, relay, "dave");
  await ask(a.page, "First question");
  await ask(a.page, "Second question");
  const shown = await shownMessages(a.page);
  // Wait until the service worker controls the page: it serves the app shell without the relay.
  await a.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10_000 }).catch(async () => {
    await a.page.reload();
    await a.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  });
  await relay.stop();
  try {
    await a.page.reload();
    await a.page.waitForSelector("#app:not([hidden])");
    await poll("the history is back", async () => {
      const now = await shownMessages(a.page);
      return JSON.stringify(now) === JSON.stringify(shown) || now;
    });
    assert.deepEqual(await threadTitles(a.page), ["First question"]);
    assert.notEqual(await a.page.getAttribute("#sync-status", "data-state"), "online");
    await screenshot(a.page, "reloaded-without-relay");
  } finally {
    await relay.start();
  }
  await a.context.close();
});

test("closing the page mid-stream and reopening shows the reply as interrupted, with what had streamed", async () => {
  const a = await device(browser, relay, "erin");
  await a.page.fill("#composer", "Start a long answer");
  await a.page.press("#composer", "Enter");
  const streaming = a.page.locator('.message.assistant[data-status="streaming"] .content');
  await streaming.waitFor();
  await poll("some words have streamed", async () => ((await streaming.textContent()).split(" ").length > 12) || "not yet");
  await a.page.waitForTimeout(400); // past the 250 ms write interval
  const before = (await streaming.textContent()).trim();
  await a.page.close();

  const page = await a.context.newPage();
  await page.goto(relay.url);
  await page.waitForSelector("#app:not([hidden])");
  await openThreadTitled(page, "Start a long answer").catch(() => {});
  const reply = page.locator(".message.assistant");
  await poll("the reply shows as interrupted", async () =>
    (await reply.getAttribute("data-status")) === "interrupted" || (await reply.getAttribute("data-status")));
  const after = (await reply.locator(".content").textContent()).trim();
  assert.ok(after.length > 0, "what had streamed is kept");
  assert.ok(after.startsWith(before.slice(0, Math.max(0, before.length - 40))), `kept: ${after}\nseen: ${before}`);
  assert.match(await page.textContent(".message.assistant .badge"), /interrupted/);
  await screenshot(page, "interrupted-after-reopen");
  await a.context.close();
});

test("a second user sees none of the first user's threads", async () => {
  const alice = await device(browser, relay, "frank");
  await ask(alice.page, "Frank's private thread");
  const threadId = await alice.page.getAttribute(".thread-item", "data-thread-id");
  const bob = await device(browser, relay, "grace");
  await bob.page.waitForTimeout(1_000);
  assert.deepEqual(await threadTitles(bob.page), []);
  // Not even with the thread's id in the address.
  await bob.page.goto(`${relay.url}/#thread=${threadId}`);
  await bob.page.waitForSelector("#app:not([hidden])");
  await bob.page.waitForTimeout(1_000);
  assert.deepEqual(await shownMessages(bob.page), []);
  assert.deepEqual(await threadTitles(bob.page), []);
  await alice.context.close();
  await bob.context.close();
});

test("stop, regenerate with branch navigation, feedback and an approval", async () => {
  const a = await device(browser, relay, "ivan");
  // Stop: the reply ends as cancelled with what had streamed.
  await a.page.fill("#composer", "Tell me a long story");
  await a.page.press("#composer", "Enter");
  await a.page.locator('.message.assistant[data-status="streaming"]').waitFor();
  await a.page.waitForTimeout(300);
  await a.page.click("#send"); // the Stop button while streaming
  await a.page.locator('.message.assistant[data-status="cancelled"]').waitFor();
  assert.match(await a.page.textContent(".message.assistant .badge"), /stopped/);
  assert.ok((await a.page.textContent(".message.assistant .content")).trim().length > 0);

  // Regenerate: a second version, with ‹ 2 / 2 › to go back to the first.
  await a.page.click(".message.assistant .regenerate");
  await a.page.waitForFunction(() => document.querySelector(".message.assistant .branches .pos")?.textContent === "2 / 2");
  await a.page.locator('.message.assistant[data-status="complete"]').waitFor({ timeout: 30_000 });
  await a.page.click(".message.assistant .branches .prev");
  await a.page.waitForFunction(() => document.querySelector(".message.assistant .branches .pos")?.textContent === "1 / 2");
  assert.equal(await a.page.getAttribute(".message.assistant", "data-status"), "cancelled");
  await a.page.click(".message.assistant .branches .next");
  await a.page.waitForFunction(() => document.querySelector(".message.assistant")?.dataset.status === "complete");

  // Feedback, and an approval the stand-in model asks for.
  await a.page.click(".message.assistant .thumb-up");
  await a.page.waitForSelector(".message.assistant .thumb-up.chosen");
  await ask(a.page, "Please book the table");
  await a.page.locator(".approval").waitFor();
  await a.page.click(".approval .approve");
  await a.page.locator(".approval").waitFor({ state: "detached" });
  await a.context.close();
});

test("screenshots of the main screens, desktop and phone", async () => {
  const a = await device(browser, relay, "heidi");
  await ask(a.page, "Plan a weekend in Lisbon and book the flights");
  await ask(a.page, "Which neighbourhood should we stay in?");
  await a.page.locator(".message.user .edit").first().click();
  await a.page.fill(".edit-box", "Plan a weekend in Porto and book the flights");
  await a.page.click(".edit-box ~ .row .save");
  await a.page.waitForFunction(() => document.querySelectorAll('.message.assistant[data-status="complete"]').length >= 1
    && document.querySelector(".branches .pos")?.textContent === "2 / 2", null, { timeout: 30_000 });
  await a.page.waitForSelector('.message.assistant[data-status="complete"]');
  await a.page.waitForFunction(() => !document.querySelector('.message.assistant[data-status="streaming"]'), null, { timeout: 30_000 });
  assert.equal(await a.page.textContent(".branches .pos"), "2 / 2");
  await poll("the relay has every change", async () =>
    (await a.page.getAttribute("#sync-status", "data-state")) === "online" || "pending");
  await screenshot(a.page, "desktop");
  const phone = await device(browser, relay, "heidi", { width: 390, height: 844 });
  await poll("the phone lists the thread", async () => (await threadTitles(phone.page)).length === 1 || "no");
  await phone.page.locator(".thread-item .open").first().click().catch(async () => {
    await phone.page.click("#open-sidebar");
    await phone.page.locator(".thread-item .open").first().click();
  });
  await phone.page.waitForTimeout(500);
  await screenshot(phone.page, "phone");
  await a.context.close();
  await phone.context.close();
});
