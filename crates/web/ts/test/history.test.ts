// thread.history(), viewAt, restore and undo through the packed package: versions a person would name,
// the thread as it was, a restore (whole thread and one message) that is stored and reaches another
// device through the relay, undo of this device's last edit, refusals, and the history module loaded
// only on the first call.
import { ChatStore, ChatsyncError, type Thread, type ThreadVersion } from "chatsync/bundler";
import { assert, equal, eventually, freshDb, internal, relayUrl, test } from "./harness.js";

const open = (dbName = freshDb()) => ChatStore.open({ dbName, persist: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Whether the history module's wasm was fetched where the store runs (this page, or its worker). */
const historyWasmLoaded = async (store: ChatStore) =>
  (await internal<string[]>(store, "resources")).some((name) => /chatsync_history_bg[^/]*\.wasm/.test(name));
/** Whether the history module ran there. */
const historyModuleRan = async (store: ChatStore) => (await internal<string[]>(store, "modules")).includes("history");

/** A question, a reply streamed over several changes (deltas more than 100 ms apart), a title. */
async function conversation(thread: Thread): Promise<void> {
  thread.appendMessage({ role: "user", content: "What is a CRDT?" });
  const reply = thread.appendMessage({ role: "assistant" });
  for (const token of ["A conflict-free ", "replicated ", "data type."]) {
    thread.appendDelta(reply.id, token);
    await sleep(120);
  }
  thread.finishMessage(reply.id, { status: "complete" });
  thread.setTitle("CRDTs");
}

async function rejects(call: () => Promise<unknown>, code: string): Promise<void> {
  try {
    await call();
  } catch (error) {
    assert(error instanceof ChatsyncError, `not a ChatsyncError: ${String(error)}`);
    equal(error.code, code, `code of "${error.message}"`);
    return;
  }
  throw new Error(`resolved; wanted ${code}`);
}

test("history: the module loads on the first call only, and versions read as a person would name them", async () => {
  const store = await open();
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  await conversation(thread);
  assert(!(await historyWasmLoaded(store)), "the history wasm loaded before any history call");
  assert(!(await historyModuleRan(store)), "the history module ran before any history call");
  const versions: ThreadVersion[] = await thread.history();
  assert(await historyWasmLoaded(store), "the history wasm did not load");
  assert(await historyModuleRan(store), "the history module did not run");
  equal(versions.map((v) => v.kind), ["created", "message", "reply", "title"], "kinds");
  equal(
    versions.map((v) => v.summary),
    ["Thread created", 'Message sent "What is a CRDT?"', 'Reply "A conflict-free replicated data type."', 'Title set to "CRDTs"'],
    "summaries",
  );
  assert(versions.every((v) => typeof v.version === "string" && v.at > 1_600_000_000_000), "versions and times");
  assert(versions[2]!.at >= versions[1]!.at + 300, "the reply's time is its end");
  thread.close();
  await store.close();
});

test("history: viewAt shows the thread as it was, in the shape of view()", async () => {
  const store = await open();
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  await conversation(thread);
  const versions = await thread.history();
  const sent = await thread.viewAt(versions[1]!.version);
  equal(sent.messages.map((m) => m.content), ["What is a CRDT?"], "messages when sent");
  equal(sent.title, "What is a CRDT?", "title when sent");
  const now = await thread.viewAt(versions.at(-1)!.version);
  equal(Object.keys(now).sort(), Object.keys(thread.view()).filter((k) => k !== "trashedAt").sort(), "the view's fields");
  equal(now.messages, thread.view().messages, "the last version is the thread now");
  thread.close();
  await store.close();
});

test("history: restore brings the whole thread back as a new, stored edit", async () => {
  const dbName = freshDb();
  const store = await open(dbName);
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  await conversation(thread);
  thread.appendMessage({ role: "user", content: "And a counter?" });
  const before = await thread.history();
  const replied = before[2]!.version;
  await thread.restore(replied);
  equal(thread.view().messages.map((m) => m.content), ["What is a CRDT?", "A conflict-free replicated data type."], "messages");
  equal(thread.view().title, "What is a CRDT?", "the title as it was");
  const after = await thread.history();
  equal(after.slice(0, before.length), before, "history kept");
  equal(after.at(-1)!.kind, "restore", "a version of its own");
  // Restoring the thread as it is changes nothing.
  await thread.restore(after.at(-1)!.version);
  equal((await thread.history()).length, after.length, "no change for nothing");
  thread.close();
  await store.close();
  // Stored like any edit.
  const again = await open(dbName);
  const reopened = await again.openThread(id);
  equal(reopened.view().messages.length, 2, "after a reopen");
  reopened.close();
  await again.close();
});

test("history: restore with messageId brings back one message and leaves the rest", async () => {
  const store = await open();
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  await conversation(thread);
  const versions = await thread.history();
  const reply = thread.view().messages[1]!;
  thread.setFeedback(reply.id, { rating: 1, text: "wrong" });
  thread.setTitle("Renamed");
  await thread.restore(versions[2]!.version, { messageId: reply.id });
  const view = thread.view();
  equal(view.messages[1]!.feedback, undefined, "the message's feedback as it was");
  equal(view.title, "Renamed", "the title stays");
  // A message that did not exist at that version.
  await rejects(() => thread.restore(versions[0]!.version, { messageId: reply.id }), "not_found");
  thread.close();
  await store.close();
});

test("history: undo sets back this device's last edit, then the one before; false when there is none", async () => {
  const store = await open();
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  equal(await thread.undo(), false, "nothing to undo on a new thread");
  thread.appendMessage({ role: "user", content: "Plan a trip" });
  thread.setTitle("Trip");
  thread.setTitle("Trip to Rome");
  await sleep(5);
  equal(await thread.undo(), true, "undone");
  equal(thread.view().title, "Trip", "the title before");
  equal(await thread.undo(), true, "undone again");
  equal(thread.view().title, "Plan a trip", "the derived title");
  equal(thread.view().messages.length, 1, "the message stays");
  equal((await thread.history()).at(-1)!.kind, "undo", "undo is a version");
  thread.close();
  await store.close();
});

test("history: versions that are not versions are refused with typed errors", async () => {
  const store = await open();
  const { id } = await store.createThread();
  const thread = await store.openThread(id);
  await rejects(() => thread.viewAt("not a version"), "invalid_input");
  await rejects(() => thread.viewAt(42 as unknown as string), "invalid_input");
  await rejects(() => thread.viewAt("ab".repeat(32)), "not_found");
  await rejects(() => thread.restore("ab".repeat(32)), "not_found");
  const version = (await thread.history())[0]!.version;
  await rejects(() => thread.restore(version, { messageId: 7 as unknown as string }), "invalid_input");
  // The core's merge of a restore's change takes what bytes hold of Automerge changes, as a sync
  // does: bytes that hold none change nothing.
  thread.applyChanges(new Uint8Array([1, 2, 3]));
  equal((await thread.history()).length, 1, "nothing applied");
  thread.close();
  await rejects(() => thread.history(), "thread_closed");
  await store.close();
});

test("history: a restore reaches another device and merges with its concurrent edit", async () => {
  const user = `history-${Date.now()}`;
  const a = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user });
  const b = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user });
  const { id } = await a.createThread();
  const ta = await a.openThread(id);
  ta.appendMessage({ role: "user", content: "first" });
  ta.appendMessage({ role: "user", content: "second" });
  await eventually(async () => void (await a.sync()), 15_000);
  await eventually(async () => equal((await b.listThreads()).map((t) => t.id), [id], "listed on b"), 15_000);
  const tb = await b.openThread(id);
  await eventually(() => equal(tb.view().messages.length, 2, "on b"), 15_000);
  // a goes back to its first message; b, offline meanwhile, names the thread.
  b.setOnline(false);
  await ta.restore((await ta.history())[1]!.version);
  tb.setTitle("Named on b");
  await a.sync();
  b.setOnline(true);
  // Until b has reconnected its sync() answers `offline`.
  await eventually(async () => void (await b.sync()), 15_000);
  const state = (t: Thread) => ({ title: t.view().title, messages: t.view().messages.map((m) => m.content) });
  const both = { title: "Named on b", messages: ["first"] };
  await eventually(() => equal(state(ta), both, "on a"), 15_000);
  await eventually(() => equal(state(tb), both, "on b"), 15_000);
  equal((await tb.history()).map((v) => v.kind).includes("restore"), true, "b's history shows a's restore");
  ta.close();
  tb.close();
  await a.close();
  await b.close();
});
