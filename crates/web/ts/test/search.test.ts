// store.search: the offline full-text index (its module loads on the first search), kept current as
// messages stream and sync, persisted in IndexedDB beside the store and rebuilt when damaged.
import { ChatStore, ChatsyncError, type SearchResult } from "chatsync/bundler";
import { assert, equal, eventually, freshDb, internal, relayUrl, test } from "./harness.js";

interface Stats {
  threadReads: number;
  docsIndexed: number;
  rebuilt: boolean;
  damagedJournal: number;
  snapshots: number;
  journalWrites: number;
  documents: number;
}
/** The search index's counters, where the store runs (the page, or its worker). */
const stats = (store: ChatStore) => internal<Stats | undefined>(store, "searchStats");

/**
 * Counts the threads the store opens from now on (the index reads a thread by opening it), where
 * the store runs: the index's reads and this page's opens alike.
 */
async function countReads(store: ChatStore): Promise<{ reads: () => Promise<number> }> {
  await internal(store, "countOpens");
  return { reads: () => internal<number>(store, "opens") };
}

/** A thread with these messages (user, assistant, user, …). */
async function thread(store: ChatStore, title: string, messages: string[], projectId?: string): Promise<string> {
  const { id } = await store.createThread({ title, projectId });
  const t = await store.openThread(id);
  messages.forEach((content, i) => t.appendMessage({ role: i % 2 ? "assistant" : "user", content }));
  t.close();
  await store.flush();
  return id;
}

const marked = (r: SearchResult) => r.highlights.map(([s, e]) => r.snippet.slice(s, e));

test("search: loads its module only on the first search", async () => {
  // Where the store runs (this page, or the store's worker): whether the module's file was fetched
  // (a worker's timeline does not record the modules it imports), and whether the module ran.
  const fetched = async () => (await internal<string[]>(store, "resources")).some((name) => /\/engine-[^/]*\.js$/.test(name));
  const ran = async () => (await internal<string[]>(store, "modules")).includes("search");
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  await thread(store, "Lazy", ["nothing to see"]);
  assert(!(await fetched()) && !(await ran()), "the search module was loaded before any search");
  equal((await store.search("nothing")).length, 1, "results");
  assert(await ran(), "the search module was not loaded by the first search");
  await store.close();
});

test("search: prefix, accents folded, case folded, every word must match, highlights as ranges", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const paris = await thread(store, "Voyage", ["Un CAFÉ crème à Paris, près de la gare", "Le café ferme tôt"]);
  await thread(store, "Other", ["Straße und Fußgänger in Köln"]);
  const byCafe = await store.search("cafe");
  equal(byCafe.length, 2, "messages with café");
  assert(byCafe.every((r) => r.threadId === paris && r.kind === "message" && r.title === "Voyage"), JSON.stringify(byCafe));
  equal(marked(byCafe.find((r) => r.snippet.startsWith("Un"))!), ["CAFÉ"], "highlighted");
  equal((await store.search("caf")).length, 2, "a prefix finds them too");
  equal((await store.search("Café PARIS")).map((r) => marked(r)), [["CAFÉ", "Paris"]], "both words, in one message");
  equal((await store.search("cafe tokyo")).length, 0, "a word no message has");
  equal((await store.search("strasse koln")).length, 1, "ß folds to ss, ö to o");
  equal((await store.search("   ")).length, 0, "an empty query");
  await store.close();
});

test("search: CJK by character bigrams (東京 in 東京タワー, single characters, Hangul)", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  await thread(store, "旅行", ["東京タワーに行きたい", "京都の寺", "서울에서 만나요"]);
  const tokyo = await store.search("東京");
  equal(tokyo.length, 1, "東京 results");
  equal(marked(tokyo[0]!), ["東京"], "highlighted");
  equal((await store.search("タワー")).map((r) => marked(r)), [["タワー"]], "katakana inside the run");
  equal((await store.search("京")).length, 2, "a single character: 東京 and 京都");
  equal((await store.search("東京都")).length, 0, "a bigram no message has (京都 is elsewhere)");
  equal((await store.search("서울")).length, 1, "Hangul");
  equal((await store.search("旅行")).map((r) => r.kind), ["title"], "the title");
  await store.close();
});

test("search: ranking — the title above messages, denser matches first, scores descending", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const filler = "and then we talked about many other things that have nothing to do with it at all ".repeat(4);
  const dense = await thread(store, "Notes", ["kayak kayak: renting a kayak"]);
  const sparse = await thread(store, "Misc", [`${filler} kayak ${filler}`]);
  const titled = await thread(store, "Kayak trip", ["we went on the river"]);
  const results = await store.search("kayak");
  equal(results.map((r) => r.threadId), [titled, dense, sparse], "order");
  equal(results[0]!.kind, "title", "the first is the title");
  assert(results.every((r, i) => i === 0 || results[i - 1]!.score >= r.score), "scores descending");
  const cut = results[2]!;
  assert(cut.snippet.length < 240 && cut.snippet.startsWith("…") && cut.snippet.endsWith("…"), cut.snippet);
  equal(marked(cut), ["kayak"], "the long message's snippet is around its match");
  await store.close();
});

test("search: filters — projectId, role, from/to on createdAt, limit, and refused options", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const before = Date.now();
  const [pWork, pHome] = [(await store.createProject({ name: "Work" })).id, (await store.createProject({ name: "Home" })).id];
  const work = await thread(store, "Work", ["budget question", "budget answer"], pWork);
  const home = await thread(store, "Home", ["budget for groceries"], pHome);
  const after = Date.now();
  equal((await store.search("budget")).length, 3, "all");
  equal([...new Set((await store.search("budget", { projectId: pWork })).map((r) => r.threadId))], [work], "project");
  equal((await store.search("budget", { projectId: pHome })).map((r) => r.threadId), [home], "project");
  const assistant = await store.search("budget", { role: "assistant" });
  equal(assistant.map((r) => [r.role, r.snippet]), [["assistant", "budget answer"]], "role");
  equal((await store.search("budget", { from: before, to: after })).length, 3, "in the range");
  equal((await store.search("budget", { from: after + 1 })).length, 0, "from after them");
  equal((await store.search("budget", { to: before - 1 })).length, 0, "to before them");
  equal((await store.search("budget", { limit: 2 })).length, 2, "limit");
  for (const bad of [{ limit: 0 }, { limit: 1.5 }, { role: "robot" }, { from: "yesterday" }, { includeArchived: 1 }]) {
    try {
      await store.search("budget", bad as never);
      throw new Error(`accepted ${JSON.stringify(bad)}`);
    } catch (error) {
      assert(error instanceof ChatsyncError && error.code === "invalid_input", `${JSON.stringify(bad)}: ${String(error)}`);
    }
  }
  try {
    await store.search(42 as never);
    throw new Error("accepted a number as the query");
  } catch (error) {
    assert(error instanceof ChatsyncError && error.code === "invalid_input", String(error));
  }
  await store.close();
});

test("search: a streamed reply is searchable while it streams and after it finishes", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Stream" });
  const t = await store.openThread(id);
  t.appendMessage({ role: "user", content: "tell me about whales" });
  equal((await store.search("whales")).length, 1, "the question");
  const reply = t.appendMessage({ role: "assistant" });
  t.appendDelta(reply.id, "Blue whales are the largest ");
  await eventually(async () => equal((await store.search("largest")).map((r) => r.messageId), [reply.id], "while streaming"));
  t.appendDelta(reply.id, "animals known, and krill is their food.");
  await eventually(async () => equal((await store.search("krill")).map((r) => r.messageId), [reply.id], "a later delta"));
  t.finishMessage(reply.id, { status: "complete" });
  await store.flush();
  await eventually(async () => {
    const [hit] = await store.search("largest krill");
    equal(hit?.snippet, "Blue whales are the largest animals known, and krill is their food.", "finished");
  });
  // Only the reply was re-indexed each time, never the question again.
  const s = (await stats(store))!;
  equal(s.documents, 3, "documents: title, question, reply");
  t.close();
  await store.close();
});

test("search: a thread synced from another store (same relay, two dbNames) becomes searchable", async () => {
  const user = `search-${Date.now()}`;
  const a = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user });
  const b = await ChatStore.open({ dbName: freshDb(), persist: false, relayUrl: relayUrl(), token: user });
  equal((await b.search("zeppelin")).length, 0, "nothing yet");
  const id = await thread(a, "Airships", ["the zeppelin flew over the lake"]);
  // sync() refuses (offline) until the store has joined the relay.
  await eventually(() => equal(a.status().state, "online", "a connected"), 10_000);
  await a.sync();
  await eventually(async () => equal((await b.search("zeppelin")).map((r) => r.threadId), [id], "on b"), 15_000);
  // A message added later on a reaches b's index too.
  const t = await a.openThread(id);
  t.appendMessage({ role: "user", content: "and the hindenburg?" });
  t.close();
  await a.sync();
  await eventually(async () => equal((await b.search("hindenburg")).length, 1, "the later message on b"), 15_000);
  await a.close();
  await b.close();
});

test("search: an archived thread is hidden unless includeArchived; a deleted one is gone", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const kept = await thread(store, "Kept", ["penguins live in the south"]);
  const archived = await thread(store, "Archived", ["penguins cannot fly"]);
  equal((await store.search("penguins")).length, 2, "both before");
  await store.archiveThread(archived);
  await eventually(async () => equal((await store.search("penguins")).map((r) => r.threadId), [kept], "archived hidden"));
  const all = await store.search("penguins", { includeArchived: true });
  equal(all.map((r) => r.threadId).sort(), [kept, archived].sort(), "with includeArchived");
  await store.deleteThread(kept);
  await eventually(async () => equal((await store.search("penguins", { includeArchived: true })).map((r) => r.threadId), [archived], "deleted"));
  await store.close();
});

test("search: a reload answers from the saved index without reading every thread", async () => {
  const dbName = freshDb();
  const first = await ChatStore.open({ dbName, persist: false });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await thread(first, `Thread ${i}`, [`walrus number ${i}`, "a reply"]));
  equal((await first.search("walrus")).length, 5, "first store");
  equal((await stats(first))!.threadReads, 5, "the first search read every thread once");
  await first.close(); // saves the index

  const second = await ChatStore.open({ dbName, persist: false });
  const counter = await countReads(second);
  equal((await second.search("walrus")).length, 5, "after the reload");
  equal(await counter.reads(), 0, "threads read after the reload");
  equal((await stats(second))!.rebuilt, false, "not rebuilt");
  // One thread changes: that one is read, and only its new message is indexed.
  const before = (await stats(second))!.docsIndexed;
  const t = await second.openThread(ids[2]!);
  t.appendMessage({ role: "user", content: "walrus again" });
  t.close();
  await second.flush();
  await eventually(async () => equal((await second.search("walrus again")).length, 1, "the new message"));
  equal(await counter.reads(), 2, "reads: the test's own open and the index's one");
  equal((await stats(second))!.docsIndexed - before, 1, "documents indexed");
  await second.close();
});

test("search: changes are saved debounced, as one thread's journal record, not the whole index", async () => {
  const dbName = freshDb();
  const store = await ChatStore.open({ dbName, persist: false });
  const { id } = await store.createThread({ title: "Debounce" });
  await store.search("x");
  await eventually(async () => equal((await stats(store))!.snapshots, 1, "the first build is saved as a snapshot"), 3000);
  const t = await store.openThread(id);
  const reply = t.appendMessage({ role: "assistant" });
  for (let i = 0; i < 20; i++) {
    t.appendDelta(reply.id, `word${i} `);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  t.finishMessage(reply.id, { status: "complete" });
  await eventually(async () => equal((await store.search("word19")).length, 1, "the last delta"));
  const streamed = (await stats(store))!;
  assert(streamed.docsIndexed >= 3, `re-indexed while streaming: ${streamed.docsIndexed}`);
  assert(streamed.journalWrites <= 1, `journal writes during the stream: ${streamed.journalWrites}`);
  t.close();
  await store.close();
  const s = (await stats(store))!;
  equal([s.snapshots, s.journalWrites >= 1], [1, true], "close wrote the journal, not a new snapshot");
  // The next store: the snapshot, then the journal over it; nothing read.
  const again = await ChatStore.open({ dbName, persist: false });
  equal((await again.search("word0 word19")).length, 1, "after the reload");
  equal((await stats(again))!.threadReads, 0, "threads read");
  await again.close();
});

/**
 * Replaces a saved record of `dbName`'s index with `value` (a function: of the record as it was;
 * undefined: deletes it). The snapshot, or the journal record of a thread.
 */
async function damage(dbName: string, value: unknown, where: [string, string] = ["index", "snapshot"]): Promise<void> {
  const [storeName, key] = where;
  const open = indexedDB.open(`${dbName}/search`);
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const before = await new Promise<unknown>((resolve) => {
    const get = db.transaction(storeName).objectStore(storeName).get(key);
    get.onsuccess = () => resolve(get.result);
  });
  assert(typeof before === "object" && before !== null, "there was a saved index");
  const tx = db.transaction(storeName, "readwrite");
  if (value === undefined) tx.objectStore(storeName).delete(key);
  else tx.objectStore(storeName).put(typeof value === "function" ? value(before) : value, key);
  await new Promise((resolve) => (tx.oncomplete = resolve));
  db.close();
}

test("search: a damaged, missing or other-version index record is rebuilt from the documents", async () => {
  const dbName = freshDb();
  const first = await ChatStore.open({ dbName, persist: false });
  await thread(first, "Fjords", ["the fjords of norway"]);
  await thread(first, "Other", ["glaciers carve fjords"]);
  equal((await first.search("fjords")).length, 3, "before: the title and two messages");
  await first.close();
  const damages: [string, unknown][] = [
    ["garbage", "not an index at all"],
    ["truncated JSON", (r: { index: string }) => ({ ...r, index: r.index.slice(0, r.index.length / 2) })],
    ["another version", (r: object) => ({ ...r, format: 999 })],
    ["threads out of step", (r: object) => ({ ...r, threads: {} })],
    ["missing", undefined],
  ];
  for (const [what, value] of damages) {
    await damage(dbName, value);
    const store = await ChatStore.open({ dbName, persist: false });
    const results = await store.search("fjords");
    equal(results.length, 3, `${what}: results`);
    equal((await stats(store))!.threadReads, 2, `${what}: rebuilt from both threads`);
    equal((await stats(store))!.rebuilt, value !== undefined, `${what}: rebuilt flag`);
    await store.close();
    // The rebuilt index was saved: the next store reads nothing.
    const again = await ChatStore.open({ dbName, persist: false });
    equal((await again.search("fjords")).length, 3, `${what}: after the rebuild`);
    equal((await stats(again))!.threadReads, 0, `${what}: reads after the rebuild`);
    await again.close();
  }
});

test("search: a damaged journal record: only its thread is read again", async () => {
  const dbName = freshDb();
  const first = await ChatStore.open({ dbName, persist: false });
  const changed = await thread(first, "Changed", ["otters hold hands"]);
  await thread(first, "Same", ["otters sleep on their backs"]);
  equal((await first.search("otters")).length, 2, "before");
  await eventually(async () => equal((await stats(first))!.snapshots, 1, "the snapshot saved"), 3000);
  const t = await first.openThread(changed);
  t.appendMessage({ role: "user", content: "sea otters use stones" });
  t.close();
  await first.flush();
  await eventually(async () => equal((await first.search("otters")).length, 3, "the new message"));
  await first.close(); // the snapshot of two threads, and the changed thread's journal record
  await damage(dbName, (r: { docs: unknown[] }) => ({ ...r, docs: r.docs.slice(1) }), ["journal", changed]);
  const store = await ChatStore.open({ dbName, persist: false });
  equal((await store.search("otters")).length, 3, "results");
  const read = (await stats(store))!;
  equal([read.damagedJournal, read.threadReads, read.rebuilt], [1, 1, false], "one thread read");
  await store.close(); // its journal record written anew
  // A record that looks right but names one document twice: it does not fit, and all is rebuilt.
  await damage(dbName, (r: { docs: unknown[] }) => ({ ...r, docs: [r.docs[0], r.docs[0], ...r.docs.slice(2)] }), ["journal", changed]);
  const rebuilt = await ChatStore.open({ dbName, persist: false });
  equal((await rebuilt.search("otters")).length, 3, "results after the rebuild");
  const all = (await stats(rebuilt))!;
  equal([all.threadReads, all.rebuilt], [2, true], "every thread read");
  await rebuilt.close();
});

test("search: an edit (a new branch) replaces the old text in the index; switching back restores it", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Branches" });
  const t = await store.openThread(id);
  const first = t.appendMessage({ role: "user", content: "recipe for lasagna" });
  await store.flush();
  equal((await store.search("lasagna")).length, 1, "before the edit");
  const edited = t.editMessage(first.id, "recipe for risotto");
  await store.flush();
  await eventually(async () => {
    equal((await store.search("risotto")).map((r) => r.messageId), [edited.id], "the edit");
    equal((await store.search("lasagna")).length, 0, "the other branch's text");
  });
  t.selectBranch(first.id);
  await store.flush();
  await eventually(async () => equal((await store.search("lasagna")).map((r) => r.messageId), [first.id], "switched back"));
  t.close();
  await store.close();
});

test("search: a closed store's search rejects with closed, before and after its index loaded", async () => {
  for (const searchedBefore of [false, true]) {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false });
    await thread(store, "Closed", ["something to find"]);
    if (searchedBefore) equal((await store.search("something")).length, 1, "before closing");
    await store.close();
    try {
      await store.search("something");
      throw new Error("a closed store searched");
    } catch (error) {
      assert(error instanceof ChatsyncError && error.code === "closed", `searched before: ${searchedBefore}: ${String(error)}`);
    }
  }
});

test("search: switching threads reads nothing; a new title replaces the old one", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const a = await thread(store, "Mountains", ["alps and andes"]);
  const b = await thread(store, "Rivers", ["nile and amazon"]);
  equal((await store.search("and")).length, 2, "both");
  const reads = (await stats(store))!.threadReads;
  for (const id of [a, b, a, b]) {
    const t = await store.openThread(id);
    t.view();
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.close();
  }
  await store.flush();
  await new Promise((resolve) => setTimeout(resolve, 100));
  equal((await store.search("alps")).length, 1, "still found");
  equal((await stats(store))!.threadReads, reads, "threads read by the index while switching");
  const t = await store.openThread(a);
  t.setTitle("Volcanoes");
  t.close();
  await store.flush();
  await eventually(async () => {
    equal((await store.search("volcanoes")).map((r) => [r.kind, r.threadId, r.title]), [["title", a, "Volcanoes"]], "the new title");
    equal((await store.search("mountains")).length, 0, "the old title");
  });
  equal((await store.search("alps")).map((r) => r.title), ["Volcanoes"], "messages carry the new title");
  await store.close();
});

test("search: artifacts' titles and text are searched", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Code" });
  const t = await store.openThread(id);
  const message = t.appendMessage({ role: "assistant", content: "here is the script" });
  t.upsertArtifact({ kind: "code", title: "fibonacci.py", content: "def fibonacci(n):\n    return memoized(n)", messageId: message.id });
  t.close();
  await store.flush();
  const results = await store.search("memoized");
  equal(results.map((r) => [r.kind, r.messageId]), [["artifact", message.id]], "the artifact");
  assert(results[0]!.artifactId, "its id");
  equal((await store.search("fibonacci")).length, 1, "by its title and text: one result");
  await store.close();
});
