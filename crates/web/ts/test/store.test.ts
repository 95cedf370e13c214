// The JS layer's snapshots and signals: store.threads(), message objects kept between views,
// AbortSignal on sync and openThread.
import { ChatStore, ChatsyncError, Thread, type Message, type StoreEvent, type ThreadView } from "chatsync/bundler";
import { assert, equal, eventually, freshDb, relayUrl, test } from "./harness.js";

const titles = (store: ChatStore) => store.threads().map((t) => t.title);

test("threads(): the list once open resolves, the same frozen array until it changes, unchanged summaries kept", async () => {
  const dbName = freshDb();
  const store = await ChatStore.open({ dbName, persist: false });
  const first = store.threads();
  equal(first, [], "a new store's list");
  assert(store.threads() === first && Object.isFrozen(first), "the same frozen array");
  const a = await store.createThread({ title: "A" });
  const b = await store.createThread({ title: "B" });
  // Resolved: threads() shows the new threads already.
  equal(titles(store).sort(), ["A", "B"], "after createThread resolved");
  const before = store.threads();
  assert(before !== first, "a new array once the list changed");
  assert(store.threads() === before, "then the same again");
  const thread = await store.openThread(a.id);
  thread.appendMessage({ role: "user", content: "hello" });
  await store.flush();
  const after = store.threads();
  assert(after !== before, "a new array once A's summary changed");
  const [aBefore, aAfter] = [before, after].map((list) => list.find((t) => t.id === a.id)!);
  const [bBefore, bAfter] = [before, after].map((list) => list.find((t) => t.id === b.id)!);
  equal(aAfter!.messageCount, 1, "A's new summary");
  assert(aAfter !== aBefore, "A's summary is a new object");
  assert(bAfter === bBefore, "B's unchanged summary is the same object");
  await store.archiveThread(b.id);
  equal(titles(store), ["A"], "after archiving");
  await store.deleteThread(a.id);
  equal(titles(store), [], "after trashing");
  await store.restoreThread(a.id);
  equal(titles(store), ["A"], "after restoring");
  thread.close();
  await store.close();
  equal(titles(store), ["A"], "a closed store keeps its last list");
  // Reopened: the list is there as soon as open resolves, with nothing listed yet by the caller.
  const again = await ChatStore.open({ dbName, persist: false });
  equal(titles(again), ["A"], "the reopened store's list");
  await again.close();
});

test("threads(): a threads event's listeners read the new list; events during a listing are listed once", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const seen: string[][] = [];
  const unsubscribe = store.subscribe((event: StoreEvent) => {
    if (event.type === "threads") seen.push(titles(store));
  });
  await store.createThread({ title: "One" });
  await eventually(() => assert(seen.length > 0, "a threads event"));
  equal(seen.at(-1), ["One"], "what the event's listener read");
  // Listings held until released: the events of three creations made meanwhile wait for one listing.
  // The store's own listThreads (in a worker store, the proxy's).
  const original = store.listThreads;
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let listings = 0;
  let running = 0;
  let overlapped = false;
  store.listThreads = async (options) => {
    listings += 1;
    running += 1;
    overlapped ||= running > 1;
    try {
      await gate;
      return await original.call(store, options);
    } finally {
      running -= 1;
    }
  };
  const created = [store.createThread({ title: "Two" })];
  await eventually(() => equal(listings, 1, "the listing under way"));
  created.push(store.createThread({ title: "Three" }), store.createThread({ title: "Four" }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  equal(listings, 1, "no second listing while one runs");
  equal(titles(store), ["One"], "the list until the listing ends");
  release();
  await Promise.all(created);
  equal(listings, 2, "one more listing for every event that came meanwhile");
  assert(!overlapped, "never two listings at once");
  equal(titles(store).sort(), ["Four", "One", "Three", "Two"], "the list after");
  equal(seen.at(-1)!.sort(), ["Four", "One", "Three", "Two"], "what the last event's listener read");
  store.listThreads = original;
  unsubscribe();
  await store.close();
});

test("threads(): a call waits for the listing of its own change, not for the events that come after it", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  // The store's own listThreads (in a worker store, the proxy's).
  const original = store.listThreads;
  // Each listing waits for its own gate.
  const gates: (() => void)[] = [];
  const opened = [0, 1].map(() => new Promise<void>((resolve) => gates.push(resolve)));
  let listings = 0;
  store.listThreads = async (options) => {
    const gate = opened[listings++];
    if (gate) await gate;
    return original.call(store, options);
  };
  let firstDone = false;
  let secondDone = false;
  const first = store.createThread({ title: "First" }).then(() => (firstDone = true));
  await eventually(() => equal(listings, 1, "the first listing under way"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = store.createThread({ title: "Second" }).then(() => (secondDone = true));
  await new Promise((resolve) => setTimeout(resolve, 200));
  gates[0]!();
  await eventually(() => equal(listings, 2, "the second listing under way"));
  await eventually(() => assert(firstDone, "the first call resolved with its listing"));
  assert(titles(store).includes("First"), "the first call's thread listed");
  assert(!secondDone, "the second call waits for the listing of its change");
  gates[1]!();
  await Promise.all([first, second]);
  equal(titles(store).sort(), ["First", "Second"], "both");
  store.listThreads = original;
  await store.close();
});

test("threads(): another store's new thread (synced through the relay) reaches threads() with its event", async () => {
  const user = `threads-${Date.now()}`;
  const a = await ChatStore.open({ dbName: freshDb(), relayUrl: relayUrl(), token: user, persist: false });
  const b = await ChatStore.open({ dbName: freshDb(), relayUrl: relayUrl(), token: user, persist: false });
  let remote: string[] | undefined;
  b.subscribe((event) => {
    if (event.type === "threads" && event.source === "remote") remote = b.threads().map((t) => t.title);
  });
  await a.createThread({ title: "From A" });
  // sync() refuses (offline) until the store has joined the relay.
  await eventually(() => equal(a.status().state, "online", "a connected"), 10_000);
  await a.sync();
  await eventually(() => equal(remote, ["From A"], "b's list in its remote threads event"), 10_000);
  equal(b.threads().map((t) => t.title), ["From A"], "b.threads()");
  await a.close();
  await b.close();
});

async function threadWithMessages() {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Views" });
  const thread = await store.openThread(id);
  const user = thread.appendMessage({ role: "user", content: "Weather in Oslo?" });
  const answer = thread.appendMessage({ role: "assistant", content: "4 °C.", status: "complete" });
  // Stored first: with the store in a worker, its view (the core's timestamps) replaces the page's
  // own guess of the two messages once, when it arrives; from then on they keep their objects.
  await store.flush();
  return { store, thread, user, answer };
}

const byId = (view: ThreadView, id: string) => view.messages.find((m) => m.id === id)!;

test("views: unchanged messages keep their objects, changed ones are new, while a reply streams", async () => {
  const { store, thread, user, answer } = await threadWithMessages();
  const v1 = thread.view();
  assert(thread.view() === v1 && thread.view().messages === v1.messages, "no change: the same view and array");
  const reply = thread.appendMessage({ role: "assistant", parentId: answer.id });
  thread.appendDelta(reply.id, "It is ");
  const v2 = thread.view();
  assert(v2 !== v1, "a new view after a write");
  assert(byId(v2, user.id) === byId(v1, user.id) && byId(v2, answer.id) === byId(v1, answer.id), "earlier messages kept");
  const seen: ThreadView[] = [];
  const unsubscribe = thread.subscribe((view) => seen.push(view));
  for (const word of ["sunny ", "and ", "4 °C."]) {
    const before = thread.view();
    thread.appendDelta(reply.id, word);
    const after = thread.view();
    const [was, now] = [byId(before, reply.id), byId(after, reply.id)];
    assert(was !== now, `the streaming reply is a new object after "${word}"`);
    assert(was.content !== now.content, "with the new text");
    assert(byId(after, user.id) === byId(v1, user.id) && byId(after, answer.id) === byId(v1, answer.id),
      "the others are still the first view's objects");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await eventually(() => assert(seen.length >= 2, "subscribers called"));
  for (const view of seen) {
    assert(byId(view, user.id) === byId(v1, user.id), "a subscriber's view reuses the same objects");
  }
  await eventually(() => assert(seen.at(-1)!.messages[2] === thread.view().messages[2], "the subscriber's latest message is view()'s"));
  equal(byId(thread.view(), reply.id).content, "It is sunny and 4 °C.", "the streamed text");
  thread.finishMessage(reply.id, { status: "complete", finishReason: "stop" });
  const finished = thread.view();
  assert(byId(finished, reply.id) !== byId(seen.at(-1)!, reply.id), "a new object once finished (status)");
  equal(byId(finished, reply.id).status, "complete", "its status");
  unsubscribe();
  thread.close();
  await store.close();
});

test("views: every kind of change to a message gives a new object (feedback, metadata, parts, tool states, approvals)", async () => {
  const { store, thread, user, answer } = await threadWithMessages();
  const reply = thread.appendMessage({ role: "assistant", parentId: answer.id, parts: [{ type: "text", text: "Let me check." }] });
  const changes: [string, () => void, string][] = [
    ["feedback", () => thread.setFeedback(answer.id, { rating: 5 }), answer.id],
    ["metadata", () => thread.updateMessageMetadata(user.id, { lang: "en" }), user.id],
    ["metadata merged", () => thread.updateMessageMetadata(user.id, { tone: "dry" }, { merge: true }), user.id],
    ["a new part", () => thread.appendPart(reply.id, { type: "step-start" }), reply.id],
    ["a data part replaced by id", () => thread.appendPart(reply.id, { type: "data-progress", id: "p", data: 1 }), reply.id],
    ["the data part's new data", () => thread.appendPart(reply.id, { type: "data-progress", id: "p", data: 2 }), reply.id],
  ];
  let callId = "";
  let approvalId = "";
  changes.push(
    ["a tool call", () => (callId = thread.startToolCall({ messageId: reply.id, toolName: "deploy", input: { env: "prod" } })), reply.id],
    ["its approval requested", () => (approvalId = thread.requestApproval({ kind: "tool-call", subject: callId, messageId: reply.id, toolCallId: callId })), reply.id],
    ["the approval decided", () => thread.decideApproval(approvalId, { approve: true, decidedBy: "user" }), reply.id],
    ["the tool call's output", () => thread.finishToolCall(callId, { status: "completed", output: { ok: true } }), reply.id],
    ["finished", () => thread.finishMessage(reply.id, { status: "complete" }), reply.id],
  );
  for (const [what, change, changed] of changes) {
    const before = thread.view();
    change();
    const after = thread.view();
    for (const message of after.messages) {
      const old = before.messages.find((m) => m.id === message.id);
      if (message.id === changed) {
        assert(old !== message, `${what}: the changed message is a new object`);
        assert(JSON.stringify(old) !== JSON.stringify(message), `${what}: and its data differs`);
      } else {
        assert(old === message, `${what}: message ${message.role} ${message.id} kept`);
      }
    }
  }
  const parts = byId(thread.view(), reply.id).parts;
  equal(parts.map((p) => p.type), ["text", "step-start", "data-progress", "tool-deploy"], "the reply's parts");
  equal((parts[3] as { state: string }).state, "output-available", "the tool part's state");
  thread.close();
  await store.close();
});

test("views: a changed message keeps its unchanged parts; an unrelated change keeps the messages array", async () => {
  const { store, thread, answer } = await threadWithMessages();
  const reply = thread.appendMessage({ role: "assistant", parentId: answer.id, parts: [{ type: "reasoning", id: "r", text: "Thinking." }, { type: "text", id: "t", text: "" }] });
  const before = thread.view();
  thread.appendDelta(reply.id, "Hello", { part: "t" });
  const after = thread.view();
  const [was, now] = [byId(before, reply.id), byId(after, reply.id)];
  assert(was !== now && was.parts[1] !== now.parts[1], "the message and its streaming part are new");
  assert(was.parts[0] === now.parts[0], "the reasoning part before it is the same object");
  const messages = thread.view().messages;
  thread.setTitle("A new title");
  const retitled = thread.view();
  equal(retitled.title, "A new title", "the new title");
  assert(retitled.messages === messages, "no message changed: the same messages array");
  // Another branch: the reply leaves the view; switching back gives equal objects' data.
  const edited = thread.editMessage(answer.id, "5 °C.");
  const branched = thread.view();
  assert(!branched.messages.some((m) => m.id === reply.id), "the reply is off the active branch");
  assert(branched.messages[0] === messages[0], "the first message kept across branches");
  equal(byId(branched, edited.id).content, "5 °C.", "the edit");
  thread.close();
  await store.close();
});

test("signal: sync and openThread reject at once with aborted (already aborted, or aborted while waiting)", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), relayUrl: relayUrl(), token: `abort-${Date.now()}`, persist: false });
  const { id } = await store.createThread({ title: "Abortable" });
  const expectAborted = async (promise: Promise<unknown>, what: string) => {
    let error: unknown;
    try {
      await promise;
    } catch (e) {
      error = e;
    }
    assert(error instanceof ChatsyncError, `${what}: a ChatsyncError, got ${String(error)}`);
    equal([error.code, error.name], ["aborted", "AbortError"], `${what}: code and name`);
    return error;
  };
  // Already aborted: rejected without starting.
  const aborted = AbortSignal.abort(new Error("not wanted"));
  const error = await expectAborted(store.sync({ signal: aborted }), "sync, already aborted");
  equal((error.cause as Error).message, "not wanted", "the signal's reason as the cause");
  await expectAborted(store.openThread(id, { signal: aborted }), "openThread, already aborted");
  // Aborted while under way: rejected at once, before the work could end.
  const syncing = new AbortController();
  const sync = store.sync({ signal: syncing.signal });
  syncing.abort();
  await expectAborted(sync, "sync, aborted while waiting");
  const opening = new AbortController();
  const open = store.openThread(id, { signal: opening.signal });
  opening.abort();
  await expectAborted(open, "openThread, aborted while opening");
  // The store works as ever: the thread opens, writes, syncs; the call forms without options too.
  const thread = await store.openThread(id);
  thread.appendMessage({ role: "user", content: "still here" });
  await eventually(() => equal(store.status().state, "online", "connected"), 10_000);
  const report = await store.sync();
  assert(report.documents >= 1, "sync after the aborts");
  const withSignal = await store.openThread(id, { signal: new AbortController().signal });
  equal(withSignal.view().messages.map((m) => m.content), ["still here"], "openThread with a signal that never aborts");
  const late = new AbortController();
  const synced = await store.sync({ signal: late.signal });
  late.abort();
  assert(synced.syncedAt > 0, "an abort after the call resolved changes nothing");
  let refused: unknown;
  await store.sync({ signal: "no" as unknown as AbortSignal }).catch((e: unknown) => (refused = e));
  equal((refused as ChatsyncError).code, "invalid_input", "a signal that is not an AbortSignal");
  withSignal.close();
  thread.close();
  await store.close();
});

test("signal: a thread opened after its openThread aborted is closed, and the next openThread of it works", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Reopened" });
  // The abandoned Thread: once it opens it is closed.
  const closes: string[] = [];
  const close = Thread.prototype.close;
  Thread.prototype.close = function (this: Thread) {
    closes.push(this.id);
    return close.call(this);
  };
  try {
    const controller = new AbortController();
    const pending = store.openThread(id, { signal: controller.signal });
    controller.abort();
    await pending.catch(() => {});
    await eventually(() => equal(closes, [id], "the abandoned thread closed"));
  } finally {
    Thread.prototype.close = close;
  }
  const thread = await store.openThread(id);
  const message: Message = thread.appendMessage({ role: "user", content: "works" });
  equal(thread.view().messages.map((m) => m.id), [message.id], "the reopened thread");
  thread.close();
  await store.close();
});
