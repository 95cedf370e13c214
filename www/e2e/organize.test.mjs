// The demo's settings panel, project sidebar and trash view, end to end: preferences saved on one
// device show on another, threads are filed into projects and moved out, and a deleted thread goes
// to the trash, comes back, and is erased for good.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, screenshot, threadTitles, poll } from "./harness.mjs";

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

/** Starts a new chat and waits until it is the one shown. */
async function newChat(page) {
  const before = await page.evaluate(() => window.chatsyncDemo.state.threadId);
  await page.click("#new-thread");
  await page.waitForFunction((old) => {
    const { threadId } = window.chatsyncDemo.state;
    return threadId && threadId !== old && document.querySelectorAll(".message").length === 0;
  }, before);
}

/** Clicks an action of a thread in the list (actions show on hover). */
async function threadAction(page, title, action) {
  const item = page.locator(".thread-item", { hasText: title });
  await item.hover();
  await item.locator(action).click();
}

test("settings saved on one device show on the other, and new chats take the preferred model", async () => {
  const a = await device(browser, relay, "settings-user");
  const b = await device(browser, relay, "settings-user");
  await a.page.click("#open-settings");
  await a.page.fill('#settings-form [name="preferredModel"]', "scripted-2");
  await a.page.fill('#settings-form [name="defaultSystemPrompt"]', "Answer in one line.");
  await a.page.fill('#settings-form [name="dailyMessageLimit"]', "25");
  await a.page.click("#settings-form button[type=submit]");
  await poll("A says saved", async () => (await a.page.textContent("#settings-saved")) === "Saved" || "no");
  await screenshot(a.page, "settings-panel");

  // B's panel follows the merged preferences (the `preferences` event), without a reload.
  await b.page.click("#open-settings");
  await poll("B shows A's preferred model", async () =>
    (await b.page.inputValue('#settings-form [name="preferredModel"]')) === "scripted-2" || "not yet");
  assert.equal(await b.page.inputValue('#settings-form [name="dailyMessageLimit"]'), "25");
  assert.match(await b.page.textContent("#usage"), /of 25 messages/);

  await newChat(b.page);
  const settings = await b.page.evaluate(() => window.chatsyncDemo.state.thread.view().settings);
  assert.equal(settings.model, "scripted-2");
  assert.equal(settings.systemPrompt, "Answer in one line.");
  await a.context.close();
  await b.context.close();
});

test("threads are filed into projects from the sidebar, listed by project and moved out", async () => {
  const { page, context } = await device(browser, relay, "projects-user");
  await ask(page, "A loose question");
  await page.fill("#project-name", "Garden");
  await page.click("#new-project button");
  await poll("the project is chosen", async () =>
    (await page.locator(".project-list .chosen").textContent()).startsWith("Garden") || "no");
  assert.deepEqual(await threadTitles(page), [], "a new project lists no threads");
  // A chat started in a project is filed there.
  await newChat(page);
  await ask(page, "When do tomatoes go out");
  await poll("the project lists its thread", async () =>
    JSON.stringify(await threadTitles(page)) === JSON.stringify(["When do tomatoes go out"]) || await threadTitles(page));
  await poll("the sidebar counts it", async () =>
    (await page.locator(".project-list .chosen").textContent()) === "Garden (1)" || "no");
  await screenshot(page, "project-sidebar");

  await page.click('.project-list [data-view="all"] button');
  await poll("all chats are listed", async () => (await threadTitles(page)).length === 2 || await threadTitles(page));
  const item = page.locator(".thread-item", { hasText: "When do tomatoes go out" });
  await item.hover();
  await item.locator(".move").selectOption({ label: "No project" });
  await poll("the project has no thread left", async () =>
    (await page.locator('.project-list [data-view="project"]').textContent()) === "Garden (0)" || "no");
  await context.close();
});

test("a deleted thread waits in the trash, is restored, and is erased for good", async () => {
  const { page, context } = await device(browser, relay, "trash-user");
  await ask(page, "Keep me around");
  await newChat(page);
  await ask(page, "Throw me away");
  assert.deepEqual(await threadTitles(page), ["Keep me around", "Throw me away"].sort());

  await threadAction(page, "Throw me away", ".delete");
  await poll("the thread left the list", async () =>
    JSON.stringify(await threadTitles(page)) === JSON.stringify(["Keep me around"]) || await threadTitles(page));
  await page.click('.project-list [data-view="trash"] button');
  await poll("the trash lists it", async () =>
    JSON.stringify(await threadTitles(page)) === JSON.stringify(["Throw me away"]) || await threadTitles(page));
  await screenshot(page, "trash-view");

  await threadAction(page, "Throw me away", ".restore");
  await poll("the trash is empty", async () => (await threadTitles(page)).length === 0 || await threadTitles(page));
  await page.click('.project-list [data-view="all"] button');
  await poll("it is back", async () => (await threadTitles(page)).length === 2 || await threadTitles(page));

  await threadAction(page, "Keep me around", ".delete");
  await page.click('.project-list [data-view="trash"] button');
  await poll("the trash lists the second", async () =>
    JSON.stringify(await threadTitles(page)) === JSON.stringify(["Keep me around"]) || await threadTitles(page));
  await threadAction(page, "Keep me around", ".purge");
  await poll("erased from the trash", async () => (await threadTitles(page)).length === 0 || await threadTitles(page));
  // Erased for good: not listed anywhere after a reload either.
  await page.reload();
  await page.waitForSelector("#app:not([hidden])");
  await poll("one thread after the reload", async () =>
    JSON.stringify(await threadTitles(page)) === JSON.stringify(["Throw me away"]) || await threadTitles(page));
  await context.close();
});
