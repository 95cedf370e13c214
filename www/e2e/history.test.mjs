// The demo's history slider end to end: a conversation's versions previewed as they were, an earlier
// one restored (the reply leaves the conversation, here and on the user's other device), and undo
// bringing it back. Run by scripts/test.sh (`node --test`).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, openThreadTitled, shownMessages, poll } from "./harness.mjs";

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

const preview = (page) => page.$$eval("#history-preview li", (els) => els.map((el) => el.textContent));

test("the history slider previews a version, restores it on every device, and undo brings the reply back", async () => {
  const laptop = await device(browser, relay, "hana-history");
  await ask(laptop.page, "What should I pack for Iceland?");
  const asked = await shownMessages(laptop.page);
  assert.equal(asked.length, 2);
  const title = (await laptop.page.textContent("#thread-title")).trim();

  await laptop.page.click("#history-open");
  await laptop.page.waitForSelector("#history-panel:not([hidden])");
  // The last version is the conversation now.
  await poll("the preview shows both messages", async () => (await preview(laptop.page)).length === 2 || (await preview(laptop.page)));
  // Back to the version where the question was sent.
  await laptop.page.$eval("#history-slider", (el) => {
    el.value = "1";
    el.dispatchEvent(new Event("input"));
  });
  await poll("the preview shows the question alone", async () => {
    const shown = await preview(laptop.page);
    return (shown.length === 1 && shown[0] === "user: What should I pack for Iceland?") || shown;
  });
  assert.match(await laptop.page.textContent("#history-summary"), /Message sent/);

  await laptop.page.click("#history-restore");
  await poll("the conversation is as it was", async () => {
    const shown = await shownMessages(laptop.page);
    return shown.length === 1 || shown;
  });

  // The restore is an edit like any other: the user's phone sees it.
  const phone = await device(browser, relay, "hana-history");
  await openThreadTitled(phone.page, title);
  await poll("the phone shows the restored conversation", async () => {
    const shown = await shownMessages(phone.page);
    return shown.length === 1 || shown;
  });

  // Undo sets the restore back.
  await laptop.page.click("#history-undo");
  await poll("the reply is back", async () => {
    const shown = await shownMessages(laptop.page);
    return JSON.stringify(shown) === JSON.stringify(asked) || shown;
  });
  assert.equal(await laptop.page.textContent("#history-report"), "Undone.");
  await laptop.context.close();
  await phone.context.close();
});
