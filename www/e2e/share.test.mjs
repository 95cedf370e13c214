// The demo's share dialog end to end: alice shares a conversation with bob (can edit), bob finds it
// in his list marked shared, opens it and replies, and alice sees his message live; shared read-only,
// bob's composer is disabled; once revoked, nothing new reaches bob; a read-only link reads the
// thread until it is revoked. Run by scripts/test.sh (`node --test`).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, screenshot, shownMessages, poll } from "./harness.mjs";

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

/** Opens the share dialog of the open thread and shares it with `user`. */
async function share(page, user, access) {
  await page.click("#share-thread");
  await page.waitForSelector("#share-dialog[open]");
  await page.fill("#share-user", user);
  await page.selectOption("#share-access", access);
  await page.click("#share-form button[type=submit]");
  await page.waitForSelector(`.share-grant[data-user-id="${user}"]`);
}

const threadId = (page) => page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get("thread"));

test("a conversation shared with another user: listed as shared, edited by both live, read-only, revoked, and a link", async () => {
  const alice = await device(browser, relay, "alice-share");
  const bob = await device(browser, relay, "bob-share");
  await ask(alice.page, "Plan a picnic");
  const id = await threadId(alice.page);
  assert.ok(id, "alice has a thread open");
  await share(alice.page, "bob-share", "write");

  // Bob's list shows it, with its owner; he opens it and replies.
  const item = bob.page.locator(`.thread-item[data-thread-id="${id}"]`);
  await poll("bob's list shows the shared thread", async () => (await item.count()) === 1);
  assert.equal(await item.getAttribute("data-shared-by"), "alice-share");
  assert.match(await item.locator(".meta").textContent(), /shared by alice-share/);
  await item.locator(".open").click();
  await poll("bob sees alice's messages", async () =>
    (await shownMessages(bob.page)).some((m) => m === "user: Plan a picnic"));
  assert.match(await bob.page.textContent("#shared-badge"), /shared by alice-share/);
  await bob.page.fill("#composer", "Bring lemonade");
  await bob.page.press("#composer", "Enter");
  await poll("alice sees bob's message live", async () =>
    (await shownMessages(alice.page)).some((m) => m === "user: Bring lemonade"));
  await screenshot(bob.page, "share-grantee");

  // Read-only: bob's composer is disabled once he opens it again.
  await alice.page.click("#share-close");
  await share(alice.page, "bob-share", "read");
  await alice.page.click("#share-close");
  await poll("bob's list says read-only", async () => /read-only/.test(await item.locator(".meta").textContent()));
  await bob.page.click("#new-thread");
  await item.locator(".open").click();
  await poll("bob's composer is disabled", async () => bob.page.isDisabled("#composer"));

  // Revoked: alice's next message does not reach bob, and his list no longer marks it shared.
  await alice.page.click("#share-thread");
  await alice.page.locator('.share-grant[data-user-id="bob-share"] .revoke').click();
  await alice.page.waitForSelector('.share-grant[data-user-id="bob-share"]', { state: "detached" });
  await alice.page.click("#share-close");
  await ask(alice.page, "Only for me now");
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(!(await shownMessages(bob.page)).some((m) => m === "user: Only for me now"), "a revoked user heard a change");

  // A read-only link: its token reads the thread over HTTP until revoked.
  await alice.page.click("#share-thread");
  await alice.page.fill("#share-link-days", "1");
  await alice.page.click("#share-make-link");
  await poll("the link is shown", async () => (await alice.page.inputValue("#share-link")).startsWith("csl_"));
  const token = await alice.page.inputValue("#share-link");
  const read = (t) => fetch(`${relay.url}/api/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
    body: JSON.stringify({ path: "threads:get", args: { threadId: id } }),
  });
  const view = await (await read(token)).json();
  assert.ok(view.value.messages.some((m) => m.content === "Plan a picnic"), "the link reads the thread");
  await alice.page.click("#share-revoke-link");
  await poll("the link is revoked", async () => (await read(token)).status === 403);
  await screenshot(alice.page, "share-dialog");
  await alice.context.close();
  await bob.context.close();
});
