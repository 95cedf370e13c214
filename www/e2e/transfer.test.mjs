// The demo's export and import end to end: a conversation downloaded as Markdown and as JSON, every
// thread exported and imported by another user (the same messages, a new thread), and ChatGPT's
// conversations.json imported with its report of what could not be carried over. Run by
// scripts/test.sh (`node --test`).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";

import { Relay, ask, device, launchBrowser, openThreadTitled, screenshot, shownMessages, threadTitles, poll } from "./harness.mjs";

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

/** Clicks `selector` and returns the file it downloads, as text. */
async function downloaded(page, selector) {
  const [file] = await Promise.all([page.waitForEvent("download", { timeout: 20_000 }), page.click(selector)]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), "utf8") };
}

async function importFile(page, name, text) {
  await page.setInputFiles("#import-file", { name, mimeType: "application/json", buffer: Buffer.from(text) });
  // The report reads "Importing <name>…" until the import resolves or fails.
  await page.waitForFunction(
    (importing) => {
      const report = document.querySelector("#transfer-report")?.textContent ?? "";
      return report !== "" && report !== importing;
    },
    `Importing ${name}…`,
    { timeout: 20_000 },
  );
  return page.textContent("#transfer-report");
}

test("a conversation exported as Markdown and JSON, everything imported by another user", async () => {
  const alice = await device(browser, relay, "alice-export");
  await ask(alice.page, "What should I pack for Iceland?");
  const messages = await shownMessages(alice.page);
  const title = (await alice.page.textContent("#thread-title")).trim();

  const markdown = await downloaded(alice.page, "#export-markdown");
  assert.match(markdown.name, /\.md$/);
  assert.ok(markdown.text.startsWith(`# ${title}\n`), markdown.text.slice(0, 80));
  assert.ok(markdown.text.includes("What should I pack for Iceland?"), "the question is in the Markdown");
  assert.ok(markdown.text.includes("### Assistant"), "so is the reply");

  const json = JSON.parse((await downloaded(alice.page, "#export-json")).text);
  assert.equal(json.format, "chatsync");
  assert.equal(json.threads.length, 1);
  const all = await downloaded(alice.page, "#export-all");
  assert.equal(JSON.parse(all.text).threads.length, 1, "every thread (one)");

  const bob = await device(browser, relay, "bob-import");
  const report = await importFile(bob.page, all.name, all.text);
  assert.match(report, /^Imported 1 conversation/);
  await bob.page.waitForFunction((t) => document.querySelector("#thread-title")?.textContent === t, title);
  assert.deepEqual(await shownMessages(bob.page), messages, "the imported thread shows the same messages");
  assert.deepEqual(await threadTitles(bob.page), [title]);
  await screenshot(bob.page, "imported-export");
  // The copy syncs like any thread: bob's second device gets it through the relay.
  const phone = await device(browser, relay, "bob-import");
  await poll("bob's second device lists the imported thread", async () =>
    JSON.stringify(await threadTitles(phone.page)) === JSON.stringify([title]) || (await threadTitles(phone.page)));
  await openThreadTitled(phone.page, title);
  await poll("it shows the same messages there", async () =>
    JSON.stringify(await shownMessages(phone.page)) === JSON.stringify(messages) || (await shownMessages(phone.page)));
  await alice.context.close();
  await bob.context.close();
  await phone.context.close();
});

test("ChatGPT's conversations.json imported: its branches, and what could not be carried over", async () => {
  const carol = await device(browser, relay, "carol-chatgpt");
  const at = 1_760_000_000;
  const message = (id, role, parts, extra = {}) => ({
    id, author: { role }, create_time: at, content: { content_type: "text", parts }, status: "finished_successfully", metadata: {}, ...extra,
  });
  const conversations = [{
    title: "Tea or coffee",
    create_time: at,
    current_node: "a2",
    mapping: {
      root: { id: "root", parent: null, children: ["q"], message: null },
      q: { id: "q", parent: "root", children: ["a1", "a2"], message: message("q", "user", ["Tea or coffee?"]) },
      a1: { id: "a1", parent: "q", children: [], message: message("a1", "assistant", ["Coffee."]) },
      a2: { id: "a2", parent: "q", children: [], message: {
        ...message("a2", "assistant", []),
        content: { content_type: "multimodal_text", parts: ["Tea, with this cup:", { content_type: "image_asset_pointer", asset_pointer: "file-service://x" }] },
      } },
    },
  }];
  const report = await importFile(carol.page, "conversations.json", JSON.stringify(conversations));
  assert.match(report, /^Imported 1 conversation/);
  assert.match(report, /not carried over: images \(image_asset_pointer\)/);
  await openThreadTitled(carol.page, "Tea or coffee");
  assert.deepEqual(await shownMessages(carol.page), ["user: Tea or coffee?", "assistant: Tea, with this cup:"]);
  assert.equal(await carol.page.textContent(".message.assistant .branches .pos"), "2 / 2", "the answer has a sibling to switch to");

  const refused = await importFile(carol.page, "broken.json", "{ not json");
  assert.match(refused, /invalid_input: the import is not JSON/);
  assert.deepEqual(await threadTitles(carol.page), ["Tea or coffee"], "nothing was added");
  await carol.context.close();
});
