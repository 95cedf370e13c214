// The demo's search box end to end: results across threads with the match highlighted, a result
// opening its thread at the message, accents folded and prefixes matched, offline, and a thread that
// arrives from another device found once it syncs. Run by scripts/test.sh (`node --test`).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, screenshot, poll } from "./harness.mjs";

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

/** Types `query` into the search box and returns the results once shown: title, snippet, marked text. */
async function search(page, query) {
  await page.fill("#search", query);
  await page.waitForFunction(
    (q) => document.querySelector("#search")?.value === q && document.querySelector("#search-results")?.dataset.state === "done",
    query,
  );
  return page.$$eval("#search-results .search-result", (els) =>
    els.map((el) => ({
      threadId: el.dataset.threadId,
      messageId: el.dataset.messageId,
      title: el.querySelector(".title").textContent,
      snippet: el.querySelector(".snippet").textContent,
      marked: [...el.querySelectorAll("mark")].map((m) => m.textContent),
    })),
  );
}

test("the search box finds messages across threads, offline too, and opens the one chosen", async () => {
  const a = await device(browser, relay, "sam-search");
  await ask(a.page, "Which café in Lisbon has the best pastéis?");
  await a.page.click("#new-thread");
  await a.page.waitForFunction(() => document.querySelectorAll(".message").length === 0);
  await ask(a.page, "Plan a hike across the Dolomites in September");

  // The stand-in model's reply and plan repeat the question: the title, the question and the reply match.
  const cafe = await search(a.page, "cafe");
  assert.ok(cafe.length >= 2, JSON.stringify(cafe));
  assert.equal(new Set(cafe.map((r) => r.threadId)).size, 1, "only the Lisbon thread matches");
  assert.ok(cafe.some((r) => r.messageId && /café in Lisbon/.test(r.snippet)), JSON.stringify(cafe));
  for (const r of cafe) assert.deepEqual(r.marked, ["café"], "the accent-folded match is highlighted");
  assert.equal(await a.page.isHidden("#threads"), true, "results replace the thread list");
  await screenshot(a.page, "search-results");

  // A prefix, and choosing the result: its thread opens with the matched message marked.
  const dolo = await search(a.page, "dolom");
  const hit = dolo.find((r) => r.messageId);
  assert.ok(hit, JSON.stringify(dolo));
  assert.ok(dolo.every((r) => r.threadId === hit.threadId && r.marked.includes("Dolomites")), JSON.stringify(dolo));
  await a.page.click(`#search-results .search-result[data-message-id="${hit.messageId}"] button`);
  await a.page.waitForFunction((id) => document.querySelector(`.message[data-message-id="${id}"]`)?.classList.contains("found"), hit.messageId);
  assert.match(await a.page.textContent("#thread-title"), /Dolomites/);

  const none = await search(a.page, "zeppelin");
  assert.equal(none.length, 0);
  assert.match(await a.page.textContent("#search-results"), /No chat mentions “zeppelin”/);

  // Offline: the index is on the device.
  await a.context.setOffline(true);
  await a.page.check("#offline-toggle");
  const offline = await search(a.page, "lisbon");
  assert.ok(offline.length >= 1 && offline.every((r) => r.threadId === cafe[0].threadId), "found offline");
  await a.page.uncheck("#offline-toggle");
  await a.context.setOffline(false);

  // Escape clears the query and brings the thread list back.
  await a.page.press("#search", "Escape");
  await a.page.waitForSelector("#threads:not([hidden])");
  assert.equal(await a.page.isHidden("#search-results"), true);

  // A thread written on another device is found once it has synced here.
  const b = await device(browser, relay, "sam-search");
  await ask(b.page, "Recommend a telescope for watching Saturn");
  await poll("the other device's thread is searchable", async () => {
    const hits = await search(a.page, "telescope");
    return hits.some((r) => r.messageId && r.marked.includes("telescope")) || hits;
  });
  await a.context.close();
  await b.context.close();
});
