// The store in a worker (`ChatStore.open({ worker })`), in both modes: the same API as in the page,
// from the packed package. A second tab is an iframe of this page (./worker-tab.ts) on the same
// SharedWorker; removing it closes its port, as closing a tab does.
import { ChatStore, ChatsyncError, Thread, type Message, type StoreEvent, type ThreadView } from "chatsync/bundler";
import { assert, equal, eventually, freshDb, internal, openTab, relayUrl, test } from "./harness.js";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const mode of ["shared", "dedicated"] as const) {
  test(`worker ${mode}: open, createThread, appendMessage, a streamed reply, view() at once, subscribe, listThreads`, async () => {
    const dbName = freshDb();
    const store = await ChatStore.open({ dbName, persist: false, worker: mode });
    assert(store instanceof ChatStore, "the worker store is a ChatStore");
    const events: StoreEvent[] = [];
    store.subscribe((event) => events.push(event));
    const created = await store.createThread({ title: "In a worker" });
    const thread = await store.openThread(created.id);
    assert(thread instanceof Thread, "its threads are Threads");
    equal(thread.id, created.id, "thread id");
    equal(thread.view().title, "In a worker", "first view's title");
    const views: ThreadView[] = [];
    thread.subscribe((view) => views.push(view));

    const question = thread.appendMessage({ role: "user", content: "What is a CRDT?" });
    assert(/^[0-9a-f]{32}$/.test(question.id), `a fresh id made at once: ${question.id}`);
    equal([question.role, question.content, question.status], ["user", "What is a CRDT?", "complete"], "the message returned");
    equal(thread.view().messages.map((m) => m.id), [question.id], "view() has it at once");
    const reply = thread.appendMessage({ id: "reply-1", role: "assistant" });
    equal([reply.id, reply.status, reply.parentId], ["reply-1", "pending", question.id], "the reply returned");
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    for (const word of words) thread.appendDelta(reply.id, word);
    equal(thread.view().messages.at(-1)!.content, words.join(""), "view() has every delta at once");
    thread.finishMessage(reply.id, { status: "complete", finishReason: "stop" });
    equal(thread.view().messages.at(-1)!.status, "complete", "finished at once");

    // The worker's own views follow, and keep the objects of unchanged messages.
    await eventually(() => {
      const last = views.at(-1)?.messages.at(-1);
      equal([last?.id, last?.content, last?.status, last?.finishReason], [reply.id, words.join(""), "complete", "stop"], "the worker's view");
    });
    thread.appendMessage({ role: "user", content: "Thanks" });
    await eventually(() => equal(views.at(-1)?.messages.length, 3, "messages after a third"));
    // Once the reply's last commit is in (its timestamps), a fourth message changes nothing else.
    await delay(300);
    const before = views.at(-1)!;
    thread.appendMessage({ role: "assistant", content: "You are welcome" });
    await eventually(() => equal(views.at(-1)?.messages.length, 4, "messages after a fourth"));
    const after = views.at(-1)!;
    assert(before.messages.every((m, i) => after.messages[i] === m), "unchanged messages are the same objects");
    assert(thread.view() === thread.view(), "view() keeps its identity between changes");
    await eventually(() => equal(thread.summary().messageCount, 4, "summary() from the worker"));

    await eventually(async () => {
      const listed = await store.listThreads();
      equal(listed.map((t) => [t.id, t.messageCount]), [[created.id, 4]], "listThreads");
    });
    assert(events.some((e) => e.type === "threads"), `a threads event: ${JSON.stringify(events)}`);
    assert(store.status() === store.status(), "status() keeps its identity");
    equal(store.status().state, "local", "status without a relay");
    equal(store.preferences().maxContextMessages, 50, "preferences() from the worker");
    await store.setPreferences({ maxContextMessages: 7 });
    await eventually(() => equal(store.preferences().maxContextMessages, 7, "preferences() after setPreferences"));
    await store.close();

    // Everything reached IndexedDB: a store opened again (in the page, even) reads it.
    const again = await ChatStore.open({ dbName, persist: false });
    const reread = await again.openThread(created.id);
    equal(reread.view().messages.map((m) => m.status), ["complete", "complete", "complete", "complete"], "stored messages");
    equal(reread.view().messages.slice(0, 2).map((m) => m.id), [question.id, reply.id], "their ids");
    equal(reread.view().messages[1]!.content, words.join(""), "the stored reply");
    await again.close();
  });

  test(`worker ${mode}: errors are Errors with a code, refused writes are error events`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const rejection = await store.openThread("no-such-thread").then(() => undefined, (error: unknown) => error);
    assert(rejection instanceof Error && rejection instanceof ChatsyncError, `openThread of an unknown id: ${String(rejection)}`);
    assert(["not_found", "invalid_input"].includes(rejection.code), `its code: ${rejection.code}`);
    const { id } = await store.createThread();
    const thread = await store.openThread(id);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        assert(error instanceof ChatsyncError, `not a ChatsyncError: ${String(error)}`);
        return error.code;
      }
      return "none";
    };
    equal(code(() => thread.appendMessage({ role: "robot" as "user", content: "x" })), "invalid_input", "a bad role");
    const first = thread.appendMessage({ role: "user", content: "once" });
    equal(code(() => thread.appendMessage({ id: first.id, role: "user", content: "twice" })), "already_exists", "a duplicate id");
    const errors: Extract<StoreEvent, { type: "error" }>[] = [];
    store.subscribe((event) => event.type === "error" && errors.push(event));
    thread.appendDelta("no-such-message", "text");
    await eventually(() => assert(errors.length === 1, "no error event"));
    assert(["not_found", "invalid_transition", "invalid_input"].includes(errors[0]!.code), `the refused delta: ${JSON.stringify(errors[0])}`);
    equal(errors[0]!.threadId, id, "the error's thread");
    // A write whose argument cannot reach the worker: the others still go, it is an error event.
    thread.appendMessage({ role: "user", content: "fine" });
    thread.updateMessageMetadata(first.id, { f: (() => 1) as unknown as string });
    await eventually(() => assert(errors.length === 2, `error events: ${JSON.stringify(errors)}`));
    equal([errors[1]!.code, errors[1]!.threadId], ["invalid_input", id], "the unsendable write's error");
    const sent = await store.createThread({ title: (() => "x") as unknown as string }).then(() => undefined, (e: unknown) => e);
    assert(sent instanceof ChatsyncError && sent.code === "invalid_input", `an unsendable call: ${String(sent)}`);
    await store.flush();
    equal((await store.listThreads()).find((t) => t.id === id)?.messageCount, 2, "the other write arrived");
    thread.close();
    equal(code(() => thread.view()), "thread_closed", "a closed thread");
    await store.close();
    const closed = await store.listThreads().then(() => undefined, (error: unknown) => error);
    assert(closed instanceof ChatsyncError && closed.code === "closed", `a closed store: ${String(closed)}`);
    equal(code(() => store.preferences()), "closed", "a closed store's preferences()");
    const bad = await ChatStore.open({ worker: "remote" as "shared" }).then(() => undefined, (error: unknown) => error);
    assert(bad instanceof ChatsyncError && bad.code === "invalid_input", `an unknown worker mode: ${String(bad)}`);
  });

  test(`worker ${mode}: a Thread dropped without close() is closed in the worker once collected`, async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    assert(typeof gc === "function", "run the page with --js-flags=--expose-gc (run.mjs does)");
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const { id } = await store.createThread({ title: "Dropped" });
    const kept = await store.openThread(id);
    const heard: number[] = [];
    await (async () => {
      // Opened, written to, and dropped: nothing refers to it once this function returns.
      const dropped = await store.openThread(id);
      dropped.appendMessage({ role: "user", content: "before it was dropped" });
      // Dropped too, but listened to: kept, so its views go on.
      const listened = await store.openThread(id);
      listened.subscribe((view) => heard.push(view.messages.length));
    })();
    equal(await internal(store, "workerThreads"), 3, "all three open in the worker");
    await eventually(async () => {
      gc!();
      await delay(50);
      equal(await internal(store, "workerThreads"), 2, "the dropped thread, closed in the worker");
    }, 5000);
    equal(kept.view().messages.map((m) => m.content), ["before it was dropped"], "its write stays");
    kept.appendMessage({ role: "user", content: "after" });
    await eventually(() => assert(heard.includes(2), `the listened-to thread still hears: ${heard}`));
    kept.close();
    equal(await internal(store, "workerThreads"), 1, "the kept one, closed");
    await store.close();
  });

  test(`worker ${mode}: a store left idle after open warms up without a trace (no open counted, none left, nothing written)`, async () => {
    const dbName = freshDb();
    const writer = await ChatStore.open({ dbName, persist: false, worker: mode });
    const { id } = await writer.createThread({ title: "Recent" });
    const thread = await writer.openThread(id);
    thread.appendMessage({ role: "user", content: "hello" });
    await writer.flush();
    thread.close();
    await writer.close();
    const store = await ChatStore.open({ dbName, persist: false, worker: mode });
    await internal(store, "countOpens");
    const before = store.threads().map((s) => [s.id, s.lastActivityAt, s.messageCount]);
    // Past the warm-up's wait (150 ms after open), then its open and close.
    await eventually(async () => equal(await internal(store, "warmUps"), { asked: 1, ran: 1 }, "the warm-up opened the thread"));
    await eventually(async () => equal(await internal(store, "workerThreads"), 0, "no thread left open in the worker"));
    equal(await internal(store, "opens"), 0, "the warm-up's open is not the app's");
    equal(store.threads().map((s) => [s.id, s.lastActivityAt, s.messageCount]), before, "the thread list as it was");
    equal((await store.openThread(id)).view().messages.map((m) => m.content), ["hello"], "the thread as it was");
    // A second store of the database in this page, idle: its worker's store (the same) is warm.
    const second = await ChatStore.open({ dbName, persist: false, worker: mode });
    await eventually(async () => equal(await internal(second, "warmUps"), { asked: 1, ran: 0 }, "a second store's warm-up, refused"));
    await second.close();
    await store.close();
  });

  test(`worker ${mode}: the warm-up leaves a thread whose document is not on this device alone`, async () => {
    const user = `warm-${Math.random().toString(36).slice(2)}`;
    const writer = await ChatStore.open({ dbName: freshDb(), persist: false, worker: "none", relayUrl: relayUrl(), token: user });
    await eventually(() => equal(writer.status().state, "online", "the writer online"));
    const { id } = await writer.createThread({ title: "Elsewhere" });
    (await writer.openThread(id)).appendMessage({ role: "user", content: "from the other device" });
    await writer.sync();
    await writer.close();
    // This device learns of the thread (its list, from the relay) without opening it; opened again,
    // the store lists it at once, and its warm-up finds the thread there but not its document.
    const dbName = freshDb();
    const first = await ChatStore.open({ dbName, persist: false, worker: mode, relayUrl: relayUrl(), token: user });
    await eventually(() => equal(first.threads().map((s) => s.id), [id], "the other device's thread, listed"));
    await first.flush();
    await first.close();
    const store = await ChatStore.open({ dbName, persist: false, worker: mode, relayUrl: relayUrl(), token: user });
    equal(store.threads().map((s) => s.id), [id], "listed at open");
    await eventually(async () => equal(await internal(store, "warmUps"), { asked: 1, ran: 0 }, "no warm-up of a document not here (its open would fetch it)"));
    await store.close();
  });

  test(`worker ${mode}: ids made in the page are the stored ones (edit, regenerate, loadThread)`, async () => {
    const dbName = freshDb();
    let store = await ChatStore.open({ dbName, persist: false, worker: mode });
    const { id } = await store.createThread({ title: "Ids" });
    let thread = await store.openThread(id);
    const question = thread.appendMessage({ role: "user", content: "Where?" });
    const answer = thread.appendMessage({ role: "assistant", content: "Here." });
    const retry = thread.regenerateMessage(answer.id, "openai", "gpt-x");
    thread.finishMessage(retry.id, { status: "complete" });
    const edited = thread.editMessage(question.id, "Where, exactly?");
    const mine = thread.editMessage(edited.id, "Where now?", "my-own-edit-id");
    equal(mine.id, "my-own-edit-id", "a caller's id");
    thread.close();
    const bytes = await store.exportThread(id, { format: "automerge" });
    assert(bytes instanceof Uint8Array, "automerge bytes");
    // loadThread answers at once with the id the worker's core then stores the copy under.
    const copy = store.loadThread(bytes);
    assert(typeof copy === "string" && copy !== id, `a new id: ${copy}`);
    const errors: Extract<StoreEvent, { type: "error" }>[] = [];
    store.subscribe((event) => event.type === "error" && errors.push(event));
    const garbage = (() => { try { store.loadThread(new Uint8Array([1, 2, 3])); } catch (e) { return e; } })();
    assert(garbage instanceof ChatsyncError && garbage.code === "invalid_input", `garbage bytes: ${String(garbage)}`);
    // Automerge bytes that are no chatsync thread: refused by the worker's core, as an error event.
    const notThread = Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 0, 0, 0]);
    const refused = store.loadThread(notThread);
    await eventually(() => assert(errors.length === 1, "no error event for bytes that are not a thread"));
    equal([errors[0]!.code, errors[0]!.threadId], ["invalid_input", refused], "the refused load's error");
    // More copies than the ids made ahead: each flush tops them up.
    const copies = [];
    for (let i = 0; i < 3; i++) copies.push(store.loadThread(bytes));
    await store.flush();
    const listed = (await store.listThreads()).map((t) => t.id);
    for (const each of [copy, ...copies]) assert(listed.includes(each), `the copy ${each} is listed`);
    assert(!listed.includes(refused), "the refused copy is not listed");
    await store.close();
    store = await ChatStore.open({ dbName, persist: false, worker: mode });
    thread = await store.openThread(id);
    const full = thread.fullView();
    const ids = new Set([...full.messages.map((m) => m.id)]);
    for (const made of [retry.id, edited.id, mine.id]) assert(ids.has(made), `the stored thread has ${made}: ${[...ids]}`);
    const shown = thread.view().messages.map((m) => m.id);
    equal(shown, ["my-own-edit-id"], "the active branch after reopening");
    thread.close();
    const loaded = await store.openThread(copy);
    equal(loaded.view().messages.map((m) => m.id), shown, "the copy's active branch, under the same message ids");
    loaded.close();
    await store.close();
  });

  test(`worker ${mode}: threads(), signals, fullView() with every branch, history, restore and undo`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    equal(store.threads(), [], "no threads yet, listed while it opened");
    const read: string[][] = [];
    store.subscribe((event) => event.type === "threads" && read.push(store.threads().map((t) => t.title)));
    const { id } = await store.createThread({ title: "Plans" });
    const list = store.threads();
    equal(list.map((t) => t.title), ["Plans"], "threads() once createThread resolved");
    assert(Object.isFrozen(list) && store.threads() === list, "the same frozen array until the list changes");
    equal(read.at(-1), ["Plans"], "a threads event's listener reads its list");

    const expectAborted = async (promise: Promise<unknown>, what: string) => {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      assert(error instanceof ChatsyncError && error.code === "aborted" && error.name === "AbortError", `${what}: ${String(error)}`);
    };
    await expectAborted(store.sync({ signal: AbortSignal.abort() }), "sync, already aborted");
    await expectAborted(store.openThread(id, { signal: AbortSignal.abort() }), "openThread, already aborted");
    const opening = new AbortController();
    const abandoned = store.openThread(id, { signal: opening.signal });
    opening.abort();
    await expectAborted(abandoned, "openThread, aborted while opening");

    const thread = await store.openThread(id, { signal: new AbortController().signal });
    const question = thread.appendMessage({ role: "user", content: "Where in March?" });
    const answer = thread.appendMessage({ role: "assistant", content: "Iceland.", status: "complete" });
    const edited = thread.editMessage(question.id, "Where in April?");
    equal(thread.view().messages.map((m) => m.id), [edited.id], "the edit shows at once, its branch selected");
    const all = () => thread.fullView().messages.map((m) => m.id).sort();
    equal(all(), [question.id, answer.id, edited.id].sort(), "fullView(): every branch's messages at once");
    assert(thread.fullView() === thread.fullView(), "fullView() keeps its identity between changes");
    await store.flush();
    equal(all(), [question.id, answer.id, edited.id].sort(), "fullView() from the worker's");
    const reopened = await store.openThread(id);
    equal(reopened.fullView().messages.length, 3, "fullView() as soon as openThread resolves");
    reopened.close();

    thread.setTitle("Spring plans");
    const versions = await thread.history();
    assert(versions.length >= 3, `versions: ${JSON.stringify(versions)}`);
    equal(versions.at(-1)!.kind, "title", "the last version, the title");
    const then = await thread.viewAt(versions.at(-2)!.version);
    equal(then.title, "Plans", "viewAt: the title as it was");
    await thread.restore(versions.at(-2)!.version);
    equal(thread.view().title, "Plans", "a restore's view is here once it resolves");
    equal(await thread.undo(), true, "undo of this device's restore");
    equal(thread.view().title, "Spring plans", "undone");
    let refused: unknown;
    try {
      thread.applyChanges("bytes" as unknown as Uint8Array);
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof ChatsyncError && refused.code === "invalid_input", `applyChanges of no bytes: ${String(refused)}`);
    thread.applyChanges(new Uint8Array());
    await store.flush();
    equal(thread.view().title, "Spring plans", "bytes with no change change nothing");
    thread.close();
    await store.close();
    equal(store.threads().map((t) => t.title), ["Spring plans"], "after close(), the last list");
  });

  // The full view's extras after appends alone, after a decided approval (in fullView() only) and
  // after an edit that leaves a message off the path: what a worker that skipped reading them after
  // its own appends would get wrong (docs/worker.md, "still missed").
  test(`worker ${mode}: fullView() after appends alone, then after a decided approval and an edit`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const { id } = await store.createThread({ title: "Full" });
    const thread = await store.openThread(id);
    const ids = () => thread.fullView().messages.map((m) => m.id);
    const first = thread.appendMessage({ role: "user", content: "One" });
    await store.flush();
    const asked = thread.requestApproval({ kind: "booking", subject: "Book it", messageId: first.id });
    thread.decideApproval(asked, { approve: true, decidedBy: "ana" });
    await store.flush();
    const decided = () => thread.fullView().pendingApprovals.map((a) => [a.id, a.status]);
    await eventually(() => equal(decided(), [[asked, "approved"]], "a decided approval, in fullView() only"));
    equal(thread.view().pendingApprovals, [], "none pending in the view");
    const appended = [first.id];
    for (const content of ["Two", "Three", "Four"]) {
      appended.push(thread.appendMessage({ role: content === "Three" ? "assistant" : "user", content }).id);
      await store.flush();
      await eventually(() => equal(ids(), appended, `fullView() after appending ${content}`));
      equal(decided(), [[asked, "approved"]], `the decided approval after appending ${content}`);
    }
    const edited = thread.editMessage(appended[3]!, "Four, again");
    await store.flush();
    await eventually(() => equal(ids(), [...appended, edited.id], "every branch after an edit"));
    const last = thread.appendMessage({ role: "assistant", content: "Five" });
    await store.flush();
    await eventually(() => equal(ids(), [...appended, edited.id, last.id], "an append after a branch"));
    equal(thread.view().messages.map((m) => m.id), [...appended.slice(0, 3), edited.id, last.id], "the view's path");
    await store.close();
  });

  test(`worker ${mode}: fullView() shows each append at once and in every view after it, before the worker's extras`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const { id } = await store.createThread({ title: "Appends" });
    const thread = await store.openThread(id);
    const ids = () => thread.fullView().messages.map((m) => m.id);
    const appended: string[] = [];
    const seen: string[] = [];
    // Every view the page gets (the worker's, replacing the page's guess) must keep every append.
    const unsubscribe = thread.subscribe(() => {
      const shown = ids();
      if (!equalLists(shown, appended)) seen.push(`${shown.join(",")} instead of ${appended.join(",")}`);
    });
    for (let i = 0; i < 6; i++) {
      // The fourth message answers the first (a plain append sharing a parent stays on the path).
      const parentId = i === 3 ? appended[0] : undefined;
      appended.push(thread.appendMessage({ role: i % 2 ? "assistant" : "user", content: `message ${i}`, ...(parentId ? { parentId } : {}) }).id);
      equal(ids(), appended, `fullView() right after append ${i}`);
      await new Promise((resolve) => setTimeout(resolve, i % 2 ? 0 : 5));
      equal(ids(), appended, `fullView() a moment after append ${i}`);
    }
    await store.flush();
    await eventually(() => equal(thread.summary().messageCount, appended.length, "the worker's summary, once the thread is quiet"));
    equal(ids(), appended, "fullView() once the extras came");
    unsubscribe();
    equal(seen, [], "fullView() in every view the page got");
    await store.close();
  });
}

function equalLists(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test("worker shared: a long thread's first view arrives whole and in order (sent in chunks)", async () => {
  const dbName = freshDb();
  const writer = await ChatStore.open({ dbName, persist: false, worker: "shared" });
  const { id } = await writer.createThread();
  const thread = await writer.openThread(id);
  for (let i = 0; i < 1203; i++) thread.appendMessage({ role: i % 2 ? "assistant" : "user", content: `message ${i}` });
  await writer.close();
  const reader = await ChatStore.open({ dbName, persist: false, worker: "shared" });
  const view = (await reader.openThread(id)).view();
  equal(view.messages.length, 1203, "messages in the first view");
  assert(view.messages.every((m, i) => m.content === `message ${i}`), "in order");
  await reader.close();
});

// Two devices: two databases, one user, through the relay run.mjs started — both in a worker, and
// a worker's store and a page's. (In a worker the core needed `window` for the relay's /api/me,
// which names the user's index document: worker.ts.)
for (const [mode, other] of [["shared", "shared"], ["dedicated", "dedicated"], ["shared", "none"], ["none", "dedicated"]] as const) {
  test(`worker ${mode} and ${other}: two devices on one relay see each other's threads and messages`, async () => {
  const user = `worker-${mode}-${Date.now()}`;
  const a = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user, worker: mode });
  const b = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: () => user, worker: other });
  await eventually(() => equal([a.status().state, b.status().state], ["online", "online"], "both online"));
  const { id } = await a.createThread({ title: "Across devices" });
  const thread = await a.openThread(id);
  thread.appendMessage({ role: "user", content: "hello from a" });
  await a.sync();
  await eventually(async () => equal((await b.listThreads()).map((t) => t.id), [id], "b's list"), 10_000);
  const there = await b.openThread(id);
  await eventually(() => equal(there.view().messages.map((m) => m.content), ["hello from a"], "b's view"), 10_000);
  await a.close();
  await b.close();
  });
}

// The page shows its writes at once; one the worker refuses (a delta into a finished message, which
// the page does not check) comes off the view as the error event arrives, not at the next change.
for (const mode of ["shared", "dedicated"] as const) {
  test(`worker ${mode}: a write the worker refuses leaves the page's view at once`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const errors: StoreEvent[] = [];
    store.subscribe((event) => {
      if (event.type === "error") errors.push(event);
    });
    const { id } = await store.createThread({ title: "Refused" });
    const thread = await store.openThread(id);
    const said = thread.appendMessage({ role: "user", content: "hello" });
    await store.flush();
    thread.appendDelta(said.id, " and more");
    equal(thread.view().messages.map((m) => m.content), ["hello and more"], "the page's guess");
    await eventually(() => equal(errors.length, 1, "the refusal's error event"));
    await eventually(() => equal(thread.view().messages.map((m) => m.content), ["hello"], "the view after the refusal"), 2_000);
    await store.close();
  });
}

// The full view's extras follow a change's view a task later, except when a message left the active
// branch: then fullView() has it only from them, so they come with the change.
for (const mode of ["shared", "dedicated"] as const) {
  test(`worker ${mode}: fullView() keeps a message another device's edit took off the active branch`, async () => {
    const user = `full-${mode}-${Date.now()}`;
    const a = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user, worker: mode });
    const b = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user, worker: "none" });
    await eventually(() => equal([a.status().state, b.status().state], ["online", "online"], "both online"));
    const { id } = await a.createThread({ title: "Edited elsewhere" });
    const thread = await a.openThread(id);
    const question = thread.appendMessage({ role: "user", content: "Where?" });
    await a.sync();
    await eventually(async () => equal((await b.listThreads()).map((t) => t.id), [id], "b's list"), 10_000);
    const there = await b.openThread(id);
    await eventually(() => equal(there.view().messages.map((m) => m.content), ["Where?"], "b's view"), 10_000);
    const seen = new Set(thread.view().messages.map((m) => m.id));
    const lost: string[] = [];
    const unsubscribe = thread.subscribe((view) => {
      for (const m of view.messages) seen.add(m.id);
      const full = new Set(thread.fullView().messages.map((m) => m.id));
      for (const known of seen) if (!full.has(known)) lost.push(known);
    });
    const edited = there.editMessage(question.id, "Where, exactly?");
    await b.sync();
    await eventually(() => equal(thread.view().messages.map((m) => m.id), [edited.id], "a's view after the edit"), 10_000);
    unsubscribe();
    equal(lost, [], "messages fullView() lost when they left the active branch");
    equal(thread.fullView().messages.map((m) => m.id).sort(), [question.id, edited.id].sort(), "fullView()");
    await a.close();
    await b.close();
  });
}

/**
 * Holds a read-write transaction on every store of `dbName` open (a request chained on each
 * answer) until `release()`: IndexedDB runs overlapping read-write transactions in order, so the
 * store's flushes wait behind it.
 */
async function holdDatabase(dbName: string): Promise<{ release: () => Promise<void> }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(dbName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction([...db.objectStoreNames], "readwrite");
  const meta = tx.objectStore("meta");
  let holding = true;
  const spin = () => {
    if (holding) meta.get("flushedAt").onsuccess = spin;
  };
  spin();
  const done = new Promise<void>((resolve) => (tx.oncomplete = () => resolve()));
  return {
    release: async () => {
      holding = false;
      await done;
      db.close();
    },
  };
}

// A change goes to the relay as it is made, not once this device's IndexedDB has it: another
// device sees it while the writer's flush still waits (for a slow or busy disk, here a transaction
// held open), and once the flush can run the writer stores it too.
for (const mode of ["shared", "dedicated", "none"] as const) {
  test(`worker ${mode}: a change reaches another device while the writer's IndexedDB write still waits`, async () => {
    const user = `eager-${mode}-${Date.now()}`;
    const dbName = freshDb();
    const a = await ChatStore.open({ dbName, persist: false, relayUrl: relayUrl(), token: user, worker: mode });
    const b = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user, worker: "none" });
    await eventually(() => equal([a.status().state, b.status().state], ["online", "online"], "both online"));
    const { id } = await a.createThread({ title: "Sent before stored" });
    const thread = await a.openThread(id);
    await a.flush();
    await eventually(async () => equal((await b.listThreads()).map((t) => t.id), [id], "b's list"), 10_000);
    const there = await b.openThread(id);
    const held = await holdDatabase(dbName);
    let flushed = false;
    thread.appendMessage({ role: "user", content: "sent while the disk is busy" });
    const flushing = a.flush().then(() => (flushed = true));
    try {
      await eventually(() => equal(there.view().messages.map((m) => m.content), ["sent while the disk is busy"], "b's view"), 10_000);
      assert(!flushed, "the writer's flush finished while its database was held");
    } finally {
      await held.release();
    }
    await flushing;
    await a.close();
    const reopened = await ChatStore.open({ dbName, persist: false, worker: "none" });
    const stored = await reopened.openThread(id);
    equal(stored.view().messages.map((m) => m.content), ["sent while the disk is busy"], "the writer's stored thread");
    await reopened.close();
    await b.close();
  });
}

test("worker shared: two tabs share one worker and see each other's writes", async () => {
  const dbName = freshDb();
  const store = await ChatStore.open({ dbName, persist: false, worker: "shared" });
  const { id } = await store.createThread({ title: "Shared" });
  const thread = await store.openThread(id);
  const tab = openTab({ db: dbName, thread: id, act: "write" });
  try {
    await tab.message("ready");
    // The other tab's message, through the worker: no BroadcastChannel round trip.
    await eventually(() => equal(thread.view().messages.map((m) => m.content), ["from the other tab"], "this tab's view"));
    thread.appendMessage({ role: "assistant", content: "from this tab" });
    const seen = await tab.message("saw");
    equal(seen.contents, ["from the other tab", "from this tab"], "the other tab's view");
  } finally {
    tab.frame.remove();
    await store.close();
  }
});

/** A SharedWorker store with a thread into which a second tab streams a reply; closed after `body`. */
async function withStreamingTab(
  title: string,
  body: (thread: Thread, tab: ReturnType<typeof openTab>, replyId: string) => Promise<void>,
): Promise<void> {
  const dbName = freshDb();
  const store = await ChatStore.open({ dbName, persist: false, worker: "shared" });
  const { id } = await store.createThread({ title });
  const thread = await store.openThread(id);
  const tab = openTab({ db: dbName, thread: id, act: "stream" });
  try {
    const { replyId } = await tab.message("streaming");
    await body(thread, tab, String(replyId));
  } finally {
    tab.frame.remove();
    await store.close();
  }
}

const statusOf = (thread: Thread, id: string) => thread.view().messages.find((m) => m.id === id)?.status;

test("worker shared: a tab closed mid-stream leaves its reply interrupted at once", () =>
  withStreamingTab("Interrupted", async (thread, tab, replyId) => {
    await eventually(() => equal(statusOf(thread, replyId), "streaming", "the reply while its tab streams"));
    const closedAt = performance.now();
    tab.frame.remove();
    let interruptedAfter = 0;
    await eventually(() => {
      equal(statusOf(thread, replyId), "interrupted", "the reply once its tab is gone");
      interruptedAfter = performance.now() - closedAt;
    }, 4_000);
    // Well before the 5 s after which a silent stream is judged interrupted anyway.
    assert(interruptedAfter < 2_000, `interrupted after ${Math.round(interruptedAfter)} ms`);
    console.log(`worker shared: the closed tab's reply was interrupted after ${Math.round(interruptedAfter)} ms`);
    // Written again (here), it streams again.
    thread.appendDelta(replyId, " resumed");
    await delay(50);
    await eventually(() => equal(statusOf(thread, replyId), "streaming", "written again"));
    thread.finishMessage(replyId, { status: "complete" });
  }));

test("worker shared: an interrupted reply written again and finished in one task never shows as streaming", () =>
  withStreamingTab("Resumed", async (thread, tab, replyId) => {
    tab.frame.remove();
    await eventually(() => equal(statusOf(thread, replyId), "interrupted", "the reply once its tab is gone"), 4_000);
    const statuses: string[] = [];
    const unsubscribe = thread.subscribe((view) => statuses.push(String(view.messages.find((m) => m.id === replyId)?.status)));
    // The worker's view of the delta alone (the stream taken over) must not come with the
    // acknowledgement of the whole batch: the page would drop its guess of the finish with it.
    thread.appendDelta(replyId, " resumed");
    thread.finishMessage(replyId, { status: "complete" });
    equal(statusOf(thread, replyId), "complete", "finished at once");
    await delay(300);
    unsubscribe();
    assert(statuses.length > 0, "the worker's views came");
    equal([...new Set(statuses)], ["complete"], "every view after the finish");
  }));

for (const mode of ["shared", "dedicated", "none"] as const) {
  test(`worker ${mode}: summary() and the derived title count this page's appends at once, as the worker's later`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const { id } = await store.createThread();
    const thread = await store.openThread(id);
    equal([thread.view().title, thread.summary().messageCount], ["New conversation", 0], "a new thread");
    const question = "  What is\n\ta CRDT, and why would a chat app want one on every device it runs on, offline included?  ".repeat(2);
    thread.appendMessage({ role: "user", content: question });
    const now = { view: thread.view().title, summary: thread.summary() };
    equal(now.summary.messageCount, 1, "summary() right after the append");
    equal(now.view, now.summary.title, "view() and summary() agree on the title");
    assert(now.view.startsWith("What is a CRDT, and why") && now.view.endsWith("…") && [...now.view].length <= 60, `derived title: ${now.view}`);
    assert(now.summary.preview.startsWith("What is a CRDT, and why") && now.summary.preview.endsWith("…") && [...now.summary.preview].length <= 120, `preview: ${now.summary.preview}`);
    // (The in-page core reads a new summary object each time.)
    if (mode !== "none") assert(thread.summary() === thread.summary(), "summary() keeps its identity while nothing changes");
    const reply = thread.appendMessage({ role: "assistant" });
    thread.appendDelta(reply.id, "Conflict-free replicated data type.");
    equal([thread.summary().messageCount, thread.summary().preview], [2, "Conflict-free replicated data type."], "summary() after a second append and a delta");
    // The core's own summary, in the thread list once flushed, says the same.
    await store.flush();
    await eventually(async () => {
      const listed = (await store.listThreads()).find((t) => t.id === id);
      equal([listed?.title, listed?.messageCount, listed?.preview], [now.view, 2, "Conflict-free replicated data type."], "the listed summary");
    });
    const settled = thread.summary();
    equal([settled.title, settled.messageCount, settled.preview], [now.view, 2, "Conflict-free replicated data type."], "summary() then");
    equal(thread.view().title, now.view, "view()'s title then");
    await store.close();
  });

  test(`worker ${mode}: the page's guess of a title and preview is the core's, for text at the edges of its rules`, async () => {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false, worker: mode });
    const contents = [
      "word ".repeat(40), "x".repeat(100), "y".repeat(60), "z".repeat(59) + " tail", "é".repeat(70), "🦀".repeat(61),
      "a\u0085b c", "\uFEFFHi there", "no\u00a0break\u3000space", " \n\t ", `${"w".repeat(58)}  end`,
      `${"x".repeat(57)}\uFEFF end`,
    ];
    const guesses: { id: string; title: string; preview: string }[] = [];
    for (const content of contents) {
      const { id } = await store.createThread();
      const thread = await store.openThread(id);
      thread.appendMessage({ role: "user", content });
      const { title } = thread.view();
      equal(thread.summary().title, title, `summary() and view() agree for ${JSON.stringify(content)}`);
      guesses.push({ id, title, preview: thread.summary().preview });
    }
    // An edit of the first user message titles the thread again.
    const edited = await store.openThread(guesses[0]!.id);
    edited.editMessage(edited.view().messages[0]!.id, "An  edited\nquestion");
    equal([edited.view().title, edited.view().titleSource, edited.summary().title], ["An edited question", "derived", "An edited question"], "the title after an edit");
    guesses[0] = { ...guesses[0]!, title: "An edited question", preview: "An edited question" };
    await store.flush();
    await eventually(async () => {
      const listed = new Map((await store.listThreads()).map((t) => [t.id, t]));
      equal(guesses.map((g) => [listed.get(g.id)?.title, listed.get(g.id)?.preview]), guesses.map((g) => [g.title, g.preview]), "the core's titles and previews");
    });
    await store.close();
  });
}
