// The worker's side of a page's connection: the real stores (the package's ChatStore, wasm and
// all) and their threads, serving the protocol of ./protocol.ts. In a SharedWorker every tab of the
// origin connects here, and tabs opening the same database share one store — one relay connection,
// one copy of each document — each tab with its own `Thread` objects on it.
import { ChatStore } from "../index.js";
import { detachSharing } from "../share/state.js";
import { answerInternal, type InternalRequest } from "../internal.js";
import type { Message, StoreEvent, Thread, ThreadSummary, ThreadView } from "../web/chatsync.js";
import { changesNothing, diffView, same } from "./diff.js";
import { freshThreadIds, SPARE_THREAD_IDS } from "./thread-ids.js";
import { openExisting, request } from "../idb.js";
import type { FromWorker, FullExtras, StoreMirror, ThreadOp, ToWorker, WireError, WireToken } from "./protocol.js";

/** A port, or a dedicated worker's own global scope: what a connection talks through. */
export interface Port {
  postMessage(message: FromWorker): void;
}

/** Store methods a page may call by name: the promise-returning ones (`call`). */
const CALLABLE = new Set([
  "listThreads", "createThread", "archiveThread", "deleteThread", "unarchiveThread", "flush", "sync",
  "createProject", "updateProject", "archiveProject", "deleteProject", "moveThread", "restoreThread",
  "purgeThread", "setPreferences", "setProfile", "search", "exportThread", "exportAll", "importThreads",
]);
/** Thread methods a page may batch (`ops`): the synchronous writes. */
const THREAD_OPS = new Set([
  "appendMessage", "appendPart", "appendDelta", "finishMessage", "updateMessageMetadata", "resetStep",
  "editMessage", "regenerateMessage", "selectBranch", "setTitle", "setSettings", "setFeedback",
  "upsertArtifact", "startToolCall", "setToolCallInput", "finishToolCall", "requestApproval",
  "decideApproval", "setSessionState", "setSummary", "setContext", "removeContext", "applyChanges",
]);
/**
 * Thread methods a page may call by name (`call` with `thread`): the promise-returning ones, run on
 * the worker's `Thread` (the history module loads here, beside the documents it reads).
 */
const THREAD_CALLS = new Set(["history", "viewAt", "restore", "undo"]);
/** Of those, the ones that write: the page gets the new view before their answer. */
const THREAD_WRITES = new Set(["restore", "undo"]);
function toWire(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === "string" ? { code } : {}) };
  }
  return { name: "Error", message: String(error) };
}

/** As the core's `QUIET_MS` (crates/web/src/background.rs): a switch within it is still switching. */
const SWITCH_QUIET_MS = 300;

const isOpen = (status: string) => status === "pending" || status === "streaming";

/** One database's store, shared by every connection that opened it. */
interface Shared {
  store: ChatStore;
  key: string;
  users: Set<StoreUse>;
  /** Every open `ThreadUse` of each thread (by the thread's id), to repaint them together. */
  threads: Map<string, Set<ThreadUse>>;
  /**
   * Streams whose writing tab went away, by thread: shown `interrupted` until a page writes them
   * again. The core sees one store instance writing every tab's streams, so it cannot tell. (Not
   * the message's `updatedAt`: the core commits the last deltas after the tab went.)
   */
  orphaned: Map<string, Set<string>>;
  mirrorArmed: boolean;
  /**
   * A thread was opened in this store (or a page's warm-up ran): the code a first switch runs is
   * warm, and a warm-up would only take the worker from the app.
   */
  warm: boolean;
  /** A page's warm-up is looking for its thread's document (`storedHere`): another waits. */
  warming: boolean;
}

interface StoreUse {
  sid: number;
  shared: Shared;
  connection: Connection;
  unsubscribe: () => void;
  /** This page's `token` was a function: the store may ask it. */
  tokenFunction: boolean;
  /** This page's warm-up: the threads it asked to open, and opened (`internal("warmUps")`). */
  warmUps: { asked: number; ran: number };
}

interface ThreadUse {
  tid: number;
  use: StoreUse;
  thread: Thread;
  /** The view the page has (as presented: orphans applied). */
  last: ThreadView;
  /** Streams this page writes (message ids). */
  streams: Set<string>;
  /** The full view's extras the page has (sent once the document was read, then as they change). */
  full: FullExtras | undefined;
  /** A write other than a delta ran since the extras were read: read them again at the next push. */
  fullStale: boolean;
  /** The `acked` of the last view sent: a summary sent after it must not say more. */
  acked: number;
  /** The summary last sent. */
  summary: ThreadSummary | undefined;
  unsubscribe: () => void;
}

const sharedStores = new Map<string, Promise<Shared>>();

/**
 * A thread's full view and summary, read once per change of its document however many tabs show
 * it: keyed by the core's view of the thread, which is the same object until the document changes
 * (crates/web/src/handle.rs, `view_js`), for every `Thread` object of it.
 */
const fullViews = new WeakMap<object, ThreadView>();
const summaries = new WeakMap<object, ThreadSummary>();

function readOnce<T>(cache: WeakMap<object, T>, thread: Thread, read: () => T): T {
  const key = thread.view();
  let value = cache.get(key);
  if (value === undefined) cache.set(key, (value = read()));
  return value;
}

/**
 * A change's summary and full-view extras are read once the thread has been quiet this long (no
 * change, no write from the page): read at the next task (~10 ms for 100 messages of wasm), they
 * held up the page's answer to the change — a reply, or another device's echo — whose write waited
 * behind them in this worker (device-to-device halfRtt p95 65 ms).
 */
const EXTRAS_QUIET_MS = 30;
/** …and no later than this after the first change they wait for: steady changes do not starve them. */
const EXTRAS_LATEST_MS = 250;

/** How many closed stores a connection keeps for internal requests. */
const CLOSED_KEPT = 4;

/** Messages per `chunk` of a first view. */
const CHUNK = 500;
/**
 * Threads of up to this many messages have their document read before their first view goes (to
 * send their summary and full view with it); a longer one's first view goes at once, from the
 * stored view, and the rest follows.
 */
const READ_AT_OPEN = 100;

/** A page's connection. */
export class Connection {
  private readonly stores = new Map<number, StoreUse>();
  private readonly threads = new Map<number, ThreadUse>();
  private readonly tokenAsks = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  private nextAsk = 1;
  private gone = false;
  /**
   * The last few stores this page closed, for internal requests (../internal.ts) after close, as a
   * closed store in the page still answers them.
   */
  private readonly closedStores = new Map<number, ChatStore>();
  /** Long threads opened whose summary waits for the switching to stop (`summaryLater`). */
  private readonly summaryQueue = new Set<ThreadUse>();
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Threads whose summary (and full view's extras, when stale) follow their view (`extrasLater`). */
  private readonly extrasQueue = new Set<ThreadUse>();
  private extrasTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the first change the queued extras wait for came (`performance.now()`). */
  private extrasSince = 0;
  /** The queued extras go at the next task (this page wrote). */
  private extrasSoon = false;
  /** How many `ops` messages ran: the page's optimistic writes up to there are in the views sent. */
  private acked = 0;

  constructor(private readonly port: Port) {}

  post(message: FromWorker): void {
    if (!this.gone) this.port.postMessage(message);
  }

  handle(message: ToWorker): void {
    if (this.gone) return;
    switch (message.t) {
      case "hello":
        this.watchTab(message.tab);
        break;
      case "call":
        void this.call(message.id, message.store, message.method, message.args, message.thread);
        break;
      case "ops":
        this.acked += 1;
        for (const batch of message.batches) this.runOps(batch.store, batch.ops, batch.storeOps);
        break;
      case "token": {
        const ask = this.tokenAsks.get(message.id);
        this.tokenAsks.delete(message.id);
        if (!ask) break;
        if (message.ok) ask.resolve(message.value ?? "");
        else ask.reject(Object.assign(new Error(message.error?.message ?? "token"), { code: "token" }));
        break;
      }
    }
  }

  /** The tab holds a Web Lock named `tab` for its whole life: granted here, it is gone. */
  private watchTab(tab: string): void {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    locks?.request(tab, () => this.close()).catch(() => {});
  }

  private async call(id: number, sid: number, method: string, args: unknown[], tid?: number): Promise<void> {
    try {
      let value: unknown;
      if (method === "open") value = await this.open(sid, args[0] as Record<string, unknown> | undefined);
      else if (method === "openThread") {
        await this.openThread(id, sid, tid!, String(args[0]), args[1] === true);
        return;
      }
      else if (method === "close") value = await this.closeStore(sid);
      else if (method === "spareThreadIds") value = await freshThreadIds(SPARE_THREAD_IDS);
      else if (method === "internal" && args[0] === "warmUps") {
        // What this page's store's warm-up asked and ran here (worker/store.ts `warmUp`).
        value = { ...this.stores.get(sid)?.warmUps };
      }
      else if (method === "internal" && args[0] === "workerThreads") {
        // How many threads this page has open here (a thread it dropped is closed once collected).
        value = [...this.threads.values()].filter((entry) => entry.use.sid === sid).length;
      }
      else if (method === "internal") {
        const store = this.stores.get(sid)?.shared.store ?? this.closedStores.get(sid);
        if (!store) throw Object.assign(new Error("no such store"), { code: "closed" });
        value = answerInternal(store, args[0] as InternalRequest);
      }
      else if (tid !== undefined) value = await this.threadCall(tid, method, args);
      else {
        const use = this.stores.get(sid);
        if (!use) throw Object.assign(new Error("the store is closed"), { code: "closed" });
        if (!CALLABLE.has(method)) throw Object.assign(new Error(`no store method ${method}`), { code: "invalid_input" });
        const fn = (use.shared.store as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
        value = await fn.apply(use.shared.store, args);
      }
      this.post({ t: "reply", id, ok: true, value });
    } catch (error) {
      this.post({ t: "reply", id, ok: false, error: toWire(error) });
    }
  }

  /** A promise-returning method of an open thread; a write's new view goes to the page first. */
  private async threadCall(tid: number, method: string, args: unknown[]): Promise<unknown> {
    const entry = this.threads.get(tid);
    if (!entry) throw Object.assign(new Error("this Thread was closed: open the thread again"), { code: "thread_closed" });
    if (!THREAD_CALLS.has(method)) throw Object.assign(new Error(`no thread method ${method}`), { code: "invalid_input" });
    const fn = (entry.thread as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    const value = await fn.apply(entry.thread, args);
    if (THREAD_WRITES.has(method) && this.threads.has(tid)) {
      try {
        this.push(entry, entry.thread.view(), false, true);
      } catch {
        // closed meanwhile
      }
    }
    return value;
  }

  private async open(sid: number, options: Record<string, unknown> = {}): Promise<StoreMirror> {
    const key = typeof options.dbName === "string" ? options.dbName : "chatsync";
    const token = options.token as WireToken | undefined;
    let shared = sharedStores.get(key);
    if (!shared) {
      const opening = (async (): Promise<Shared> => {
        const { token: _, ...rest } = options;
        // The store asks for a token while it opens, before any page is its user: this one answers.
        let entry: Shared | undefined;
        const ask = () => (entry?.users.size ? askToken(entry) : this.askToken(sid));
        const store = await ChatStore.open({
          ...rest,
          // This is the store itself: in this worker, not in a worker of its own (the default).
          worker: "none",
          // Asking for persistent storage is the page's (a worker has no navigator.storage.persist).
          persist: false,
          ...(token === undefined ? {} : { token: typeof token === "string" ? token : ask }),
        });
        // Sharing is each page's (share/state.ts, from the page's proxy): the shared list kept in
        // the page's localStorage, read-only writes refused there, at once. This store, which every
        // tab shares, only holds and syncs the documents, shared ones as any other.
        detachSharing(store);
        entry = {
          store, key, users: new Set(), threads: new Map(), orphaned: new Map(),
          mirrorArmed: false, warm: false, warming: false,
        };
        return entry;
      })();
      sharedStores.set(key, opening);
      opening.catch(() => sharedStores.delete(key));
      shared = opening;
    }
    const entry = await shared;
    const use: StoreUse = {
      sid, shared: entry, connection: this, tokenFunction: typeof token === "object", warmUps: { asked: 0, ran: 0 },
      unsubscribe: entry.store.subscribe((event) => this.storeEvent(use, event)),
    };
    entry.users.add(use);
    this.stores.set(sid, use);
    return mirrorOf(entry.store);
  }

  /** Throws unless the warm-up of `threadId` may run (`openThread`). */
  private async mayWarm(use: StoreUse, threadId: string): Promise<void> {
    const shared = use.shared;
    use.warmUps.asked += 1;
    const warmAlready = () => Object.assign(new Error("the worker is warm already"), { code: "invalid_transition" });
    if (shared.warm || shared.warming) throw warmAlready();
    shared.warming = true;
    let stored: boolean;
    try {
      stored = await storedHere(shared.key, threadId);
    } finally {
      shared.warming = false;
    }
    // Meanwhile a page may have opened a thread (the warm-up would now take the worker from it),
    // or closed this store.
    if (shared.warm || !this.stores.has(use.sid)) throw warmAlready();
    if (!stored) throw Object.assign(new Error(`thread ${threadId} is not on this device`), { code: "not_found" });
  }

  private storeEvent(use: StoreUse, event: StoreEvent): void {
    this.post({ t: "event", store: use.sid, event });
    if (event.type !== "error") scheduleMirror(use.shared);
  }

  /**
   * `warm`: the page's warm-up (worker/store.ts `warmUp`): refused once this store has opened a
   * thread, for any page, or another page's warm-up is under way (`invalid_transition`), and for a
   * thread whose document is not on this device (`not_found`: its open would fetch it from the
   * relay and store it); left out of the store's count of opens; its first view goes without the
   * summary and full view (it is closed at once).
   */
  private async openThread(id: number, sid: number, tid: number, threadId: string, warm: boolean): Promise<void> {
    const use = this.stores.get(sid);
    if (!use) throw Object.assign(new Error("the store is closed"), { code: "closed" });
    const store = use.shared.store;
    if (warm) await this.mayWarm(use, threadId);
    use.shared.warm = true;
    // The class's method, not one `internal("countOpens")` set on the instance.
    const open = warm ? Object.getPrototypeOf(store).openThread : store.openThread;
    const thread: Thread = await open.call(store, threadId);
    if (this.gone || !this.stores.has(sid)) {
      thread.close();
      throw Object.assign(new Error("the store is closed"), { code: "closed" });
    }
    const view = present(use.shared, thread.id, thread.view());
    const entry: ThreadUse = {
      tid, use, thread, last: view, streams: new Set(), full: undefined, fullStale: true, acked: 0, summary: undefined,
      unsubscribe: thread.subscribe((next) => this.push(entry, next)),
    };
    this.threads.set(tid, entry);
    let uses = use.shared.threads.get(thread.id);
    if (!uses) use.shared.threads.set(thread.id, (uses = new Set()));
    uses.add(entry);
    // Not `thread.summary()`: it reads the document, which the first view does not wait for (the
    // core paints it from the stored view). The summary follows, with the document.
    // A long thread's messages go ahead in chunks, each its own task on the page: read in one, a
    // 5,000-message view is a long task there.
    for (let at = 0; at + CHUNK < view.messages.length; at += CHUNK) {
      this.post({ t: "chunk", id, messages: view.messages.slice(at, at + CHUNK) });
    }
    const rest = Math.max(0, Math.ceil(view.messages.length / CHUNK) - 1) * CHUNK;
    const first = rest > 0 ? { ...view, messages: view.messages.slice(rest) } : view;
    if (warm) {
      use.warmUps.ran += 1;
      this.post({ t: "opened", id, view: first });
      return;
    }
    if (view.messages.length <= READ_AT_OPEN) {
      // A short thread's document is read in a few ms: its summary and full view come with it, so
      // thread.summary() and thread.fullView() are the worker's as soon as openThread resolves.
      let summary;
      try {
        summary = readOnce(summaries, thread, () => thread.summary());
      } catch {
        summary = undefined;
      }
      entry.summary = summary;
      const full = this.fullExtras(entry);
      this.post({ t: "opened", id, view: first, ...(summary ? { summary } : {}), ...(full ? { full } : {}) });
      return;
    }
    this.post({ t: "opened", id, view: first });
    this.summaryLater(entry);
  }

  /**
   * A long thread's summary and full view read its Automerge document: 0.2–0.6 s of this worker's
   * time for 1,000 messages, during which a next `openThread` would wait. They are read once no
   * switch has come for the core's own quiet time (when the core loads the document anyway); each
   * switch puts them off again, and a thread closed meanwhile is not read.
   */
  private summaryLater(entry: ThreadUse): void {
    this.summaryQueue.add(entry);
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => {
      const queued = [...this.summaryQueue];
      this.summaryQueue.clear();
      for (const each of queued) this.pushSummary(each);
    }, SWITCH_QUIET_MS);
  }

  /** Sends a thread's summary alone (an empty patch). */
  private pushSummary(entry: ThreadUse): void {
    if (!this.threads.has(entry.tid)) return;
    let summary;
    try {
      summary = readOnce(summaries, entry.thread, () => entry.thread.summary());
    } catch {
      return;
    }
    const patch = { keep: entry.last.messages.length, tail: 0, messages: [], fields: {}, removed: [] };
    const full = this.fullExtras(entry, true);
    if (summary === entry.summary && !full) return;
    entry.summary = summary;
    // The `acked` of the view the page has: the page's writes that came since are not in it (their
    // view follows at the core's repaint), and the page keeps showing them until it arrives.
    this.post({ t: "view", thread: entry.tid, patch, acked: entry.acked, summary, ...(full ? { full } : {}) });
  }

  /**
   * The full view's extras when they are not what the page has (else undefined). Read after a write
   * other than a stream's deltas, and after any change that is more than text streaming into open
   * messages of the active branch: a stream's frames never pay for a full view.
   */
  private fullExtras(entry: ThreadUse, streaming = false): FullExtras | undefined {
    if (!entry.fullStale && streaming) return undefined;
    entry.fullStale = false;
    let full: ThreadView;
    try {
      full = present(entry.use.shared, entry.thread.id, readOnce(fullViews, entry.thread, () => entry.thread.fullView()));
    } catch {
      return undefined;
    }
    const active = new Set(entry.last.messages.map((m) => m.id));
    const extras: FullExtras = {
      order: full.messages.map((m) => m.id),
      others: full.messages.filter((m) => !active.has(m.id)),
      approvals: full.pendingApprovals,
    };
    if (entry.full && same(entry.full, extras)) return undefined;
    entry.full = extras;
    return extras;
  }

  /**
   * Sends the page what changed since the view it has, at once; its summary and, after more than
   * text streaming into open messages of the active branch, the full view's extras follow in a
   * later task (`extrasLater`): reading them costs more than the change (a full view of a thread of
   * 200 messages, ~9 ms), and the view is what the page's subscribers wait for. `always`: sent even
   * unchanged (after a refused write, whose guess the page drops when a view says it ran).
   */
  push(entry: ThreadUse, view: ThreadView, always = false, written = false): void {
    const next = present(entry.use.shared, entry.thread.id, view);
    const patch = diffView(entry.last, next);
    const nothing = changesNothing(patch, entry.last.messages.length);
    const before = entry.last;
    entry.last = next;
    // An off-branch message's change (metadata, feedback) leaves the view as it was: the full view
    // is read anyway.
    if (nothing || !onlyStreaming(patch, before)) entry.fullStale = true;
    // Before the document's first read (a long thread just opened) `summaryLater` sends them.
    if (entry.full === undefined) {
      if (!nothing || always) this.post({ t: "view", thread: entry.tid, patch, acked: (entry.acked = this.acked) });
      return;
    }
    if (!nothing && leavesBranch(before, patch)) {
      // A message left the active branch (an edit, a regeneration, a branch switched): the page's
      // fullView() has it only from the extras, so they come with the patch.
      let summary;
      try {
        summary = readOnce(summaries, entry.thread, () => entry.thread.summary());
      } catch {
        summary = undefined;
      }
      const full = this.fullExtras(entry);
      entry.summary = summary;
      this.post({
        t: "view", thread: entry.tid, patch, acked: (entry.acked = this.acked), ...(summary ? { summary } : {}), ...(full ? { full } : {}),
      });
      return;
    }
    if (!nothing || always) this.post({ t: "view", thread: entry.tid, patch, acked: (entry.acked = this.acked) });
    this.extrasLater(entry, written);
  }

  /**
   * Queues `pushSummary` for when the changes pause (`EXTRAS_QUIET_MS`, at most `EXTRAS_LATEST_MS`
   * after the first), once for all the changes until then: a stream's summary (its preview) follows
   * it every 250 ms. After this page's own write other than a delta (`written`), at the next task:
   * the page's `fullView()` showed the write at once (its guess), and the worker's view that
   * replaces the guess must not take it back for a while. (Not after appends the view shows: see
   * `runOps`.)
   */
  private extrasLater(entry: ThreadUse, written: boolean): void {
    const now = performance.now();
    if (this.extrasQueue.size === 0) this.extrasSince = now;
    this.extrasQueue.add(entry);
    // Due at the next task already (a write's): a change after it does not put that off.
    if (this.extrasSoon) return;
    this.extrasSoon = written;
    clearTimeout(this.extrasTimer);
    const wait = written ? 0 : Math.max(0, Math.min(EXTRAS_QUIET_MS, this.extrasSince + EXTRAS_LATEST_MS - now));
    this.extrasTimer = setTimeout(() => {
      this.extrasSoon = false;
      const queued = [...this.extrasQueue];
      this.extrasQueue.clear();
      for (const each of queued) this.pushSummary(each);
    }, wait);
  }

  private runOps(sid: number, ops: ThreadOp[], storeOps: { method: string; args: unknown[] }[]): void {
    const use = this.stores.get(sid);
    if (!use) return;
    for (const { method, args } of storeOps) {
      try {
        if (method === "setOnline") use.shared.store.setOnline(Boolean(args[0]));
        else if (method === "loadThread") use.shared.store.loadThread(args[0] as Uint8Array, args[1] as string);
        else if (method === "setToken") {
          const token = args[0] as WireToken;
          use.tokenFunction = typeof token === "object";
          use.shared.store.setToken(typeof token === "string" ? token : () => this.askToken(sid));
        }
      } catch (error) {
        const threadId = method === "loadThread" ? { threadId: String(args[1]) } : {};
        this.post({ t: "opError", store: sid, error: toWire(error), ...threadId });
      }
    }
    // Threads written by more than deltas: their new view goes to the page now, not at the core's
    // next frame, so the page's reads catch up with its writes as soon as they can. (A stream's
    // deltas keep the core's pace: one view per frame.)
    const written = new Set<ThreadUse>();
    // Threads a write was refused on: their view goes now even unchanged, so the page drops its
    // guess of that write (the page shows its pending edits until a view says the worker ran them).
    const refused = new Set<ThreadUse>();
    // Threads this batch only appended to (messages, deltas), with the messages appended: when the
    // view shows them all, the page's fullView() is right without new extras (it places messages
    // of its view that the extras' order lacks after the others, where an append puts them), so the
    // extras wait for a quiet spell as a remote change's do, and the worker is free for what comes
    // next (another device's answer) instead of reading the whole document again at once.
    const appended = new Map<ThreadUse, string[]>();
    let durable = storeOps.some((op) => op.method === "loadThread");
    for (const op of ops) {
      const entry = this.threads.get(op.thread);
      if (!entry) continue;
      if (op.method === "close") {
        this.closeThread(entry);
        written.delete(entry);
        continue;
      }
      const ids = appended.get(entry) ?? (written.has(entry) ? undefined : []);
      appended.delete(entry);
      try {
        const result = this.runOp(entry, op);
        if (!result.stream) durable = true;
        if (op.method !== "appendDelta") {
          written.add(entry);
          entry.fullStale = true;
        }
        if (ids && result.appended) appended.set(entry, [...ids, result.appended]);
        else if (ids && op.method === "appendDelta") appended.set(entry, ids);
      } catch (error) {
        this.post({ t: "opError", store: sid, error: toWire(error), threadId: entry.thread.id });
        refused.add(entry);
        written.add(entry);
      }
    }
    // In a microtask: after the core's sync driver, woken by the writes, has sent them to the relay
    // (building the view first, ~10 ms for 100 messages, held another device's copy back by as much).
    queueMicrotask(() => {
      for (const entry of written) {
        if (!this.threads.has(entry.tid)) continue;
        try {
          const view = entry.thread.view();
          const ids = appended.get(entry);
          const inView = ids?.length ? new Set(view.messages.map((m) => m.id)) : undefined;
          const shown = inView !== undefined && ids!.every((id) => inView.has(id));
          this.push(entry, view, refused.has(entry), !shown);
        } catch {
          // the thread closed meanwhile
        }
      }
    });
    // Written to IndexedDB now, not at the core's timer: the page's `pagehide` cannot flush a
    // worker, and the browser ends a worker with the last tab using it. (A stream — its start, its
    // deltas and parts — keeps the core's timer, as in the page; `finishMessage` flushes at once.)
    // In the next task, after the repaint the writes scheduled (the other tabs' views go first).
    if (durable) setTimeout(() => use.shared.users.size > 0 && this.flushNow(use), 0);
  }

  /** The store's writes to IndexedDB now; a failure is an `error` event, as a timed flush's. */
  private flushNow(use: StoreUse): void {
    use.shared.store.flush().catch((error: unknown) => {
      const { code, message } = toWire(error);
      for (const user of use.shared.users) {
        user.connection.post({ t: "event", store: user.sid, event: { type: "error", code: code ?? "storage", message } });
      }
    });
  }

  /**
   * Runs a thread write. `stream`: it is part of a stream (its start, a delta, a part);
   * `appended`: the id of the message `appendMessage` appended.
   */
  private runOp(entry: ThreadUse, { method, args }: ThreadOp): { stream: boolean; appended?: string } {
    if (!THREAD_OPS.has(method)) throw Object.assign(new Error(`no thread method ${method}`), { code: "invalid_input" });
    const fn = (entry.thread as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    const result = fn.apply(entry.thread, args);
    const messageId = typeof args[0] === "string" ? args[0] : undefined;
    switch (method) {
      case "appendMessage":
      case "editMessage":
      case "regenerateMessage": {
        const message = result as Message;
        const appended = method === "appendMessage" ? { appended: message.id } : {};
        if (!isOpen(message.status)) return { stream: false, ...appended };
        this.streamStarted(entry, message.id);
        return { stream: true, ...appended };
      }
      case "appendDelta":
      case "appendPart":
        if (messageId) this.streamStarted(entry, messageId);
        return { stream: true };
      case "finishMessage":
        if (messageId) entry.streams.delete(messageId);
        return { stream: false };
    }
    return { stream: false };
  }

  private streamStarted(entry: ThreadUse, messageId: string): void {
    entry.streams.add(messageId);
    const orphans = entry.use.shared.orphaned.get(entry.thread.id);
    // Once the batch has run (`runOps` is synchronous): a view sent now would carry the batch's
    // `acked` without the writes after this one, and the page would drop its guess of them.
    if (orphans?.delete(messageId)) queueMicrotask(() => repaint(entry.use.shared, entry.thread.id));
  }

  private closeThread(entry: ThreadUse): void {
    const shared = entry.use.shared;
    const threadId = entry.thread.id;
    this.threads.delete(entry.tid);
    this.summaryQueue.delete(entry);
    this.extrasQueue.delete(entry);
    shared.threads.get(threadId)?.delete(entry);
    let orphanedSome = false;
    if (entry.streams.size > 0) {
      // The page's streams into the thread end with it: nobody is left to write them.
      let view: ThreadView | undefined;
      try {
        view = entry.thread.view();
      } catch {
        view = undefined;
      }
      let orphans = shared.orphaned.get(threadId);
      if (!orphans) shared.orphaned.set(threadId, (orphans = new Set()));
      for (const id of entry.streams) {
        const message = view?.messages.find((m) => m.id === id);
        if (message && isOpen(message.status)) {
          orphans.add(id);
          orphanedSome = true;
        }
      }
    }
    entry.unsubscribe();
    entry.thread.close();
    // After the rest of a batch that closed it, as in `streamStarted`.
    if (orphanedSome) queueMicrotask(() => repaint(shared, threadId));
  }

  private async closeStore(sid: number): Promise<void> {
    const use = this.stores.get(sid);
    if (!use) return;
    for (const entry of [...this.threads.values()]) if (entry.use === use) this.closeThread(entry);
    this.stores.delete(sid);
    use.unsubscribe();
    await release(use);
    this.closedStores.set(sid, use.shared.store);
    for (const old of this.closedStores.keys()) {
      if (this.closedStores.size <= CLOSED_KEPT) break;
      this.closedStores.delete(old);
    }
  }

  private askToken(sid: number): Promise<string> {
    const id = this.nextAsk++;
    return new Promise((resolve, reject) => {
      if (this.gone) return reject(Object.assign(new Error("the tab that gave the token function is gone"), { code: "token" }));
      this.tokenAsks.set(id, { resolve, reject });
      this.post({ t: "token", id, store: sid });
    });
  }

  /** Hands the page its store's synchronous reads. */
  postMirror(sid: number, mirror: StoreMirror): void {
    this.post({ t: "mirror", store: sid, mirror });
  }

  /** A token from any page of `use`'s store that gave a function. */
  askTokenOf(use: StoreUse): Promise<string> {
    return this.askToken(use.sid);
  }

  /** The page is gone (its port closed, or its tab's lock came free): its threads and stores close. */
  close(): void {
    if (this.gone) return;
    for (const entry of [...this.threads.values()]) this.closeThread(entry);
    this.gone = true;
    for (const ask of this.tokenAsks.values()) ask.reject(Object.assign(new Error("the page is gone"), { code: "token" }));
    this.tokenAsks.clear();
    for (const use of this.stores.values()) {
      use.unsubscribe();
      void release(use);
    }
    this.stores.clear();
  }
}

/** One page less on a shared store: the last one closes it. */
async function release(use: StoreUse): Promise<void> {
  const shared = use.shared;
  shared.users.delete(use);
  if (shared.users.size > 0) return;
  sharedStores.delete(shared.key);
  await shared.store.close();
}

/** The relay token, from a page whose `token` was a function (the first one still here). */
function askToken(shared: Shared): Promise<string> {
  for (const use of shared.users) if (use.tokenFunction) return use.connection.askTokenOf(use);
  return Promise.reject(Object.assign(new Error("no open page gives a token"), { code: "token" }));
}

function mirrorOf(store: ChatStore): StoreMirror {
  return {
    status: store.status(),
    preferences: store.preferences(),
    profile: store.profile(),
    usage: store.usage(),
    projects: store.listProjects({ includeArchived: true }),
  };
}

/** The view fields a stream's deltas change (besides its message). */
const STREAM_FIELDS = new Set(["updatedAt", "lastMessageAt", "totalInputTokens", "totalOutputTokens"]);

/** Whether `patch` takes off the page's view `before` a message it does not put back. */
function leavesBranch(before: ThreadView, patch: ReturnType<typeof diffView>): boolean {
  const replaced = before.messages.slice(patch.keep, before.messages.length - patch.tail);
  if (replaced.length === 0) return false;
  const kept = new Set(patch.messages.map((m) => m.id));
  return replaced.some((m) => !kept.has(m.id));
}

/**
 * Whether `patch` (of the page's view `before`) is text streaming into messages already there and
 * open: nothing a full view has beyond the view can have changed with it.
 */
function onlyStreaming(patch: ReturnType<typeof diffView>, before: ThreadView): boolean {
  if (patch.removed.length || Object.keys(patch.fields).some((key) => !STREAM_FIELDS.has(key))) return false;
  const replaced = before.messages.slice(patch.keep, before.messages.length - patch.tail);
  if (replaced.length !== patch.messages.length) return false;
  return patch.messages.every((m, i) => m.id === replaced[i]!.id && isOpen(replaced[i]!.status) &&
    same(m.siblings, replaced[i]!.siblings));
}

/** Pushes the store's synchronous reads to its pages, once for a burst of events. */
function scheduleMirror(shared: Shared): void {
  if (shared.mirrorArmed) return;
  shared.mirrorArmed = true;
  setTimeout(() => {
    shared.mirrorArmed = false;
    if (shared.users.size === 0) return;
    let mirror: StoreMirror;
    try {
      mirror = mirrorOf(shared.store);
    } catch {
      return; // closed meanwhile
    }
    for (const use of shared.users) use.connection.postMirror(use.sid, mirror);
  }, 0);
}

/** Re-sends every page's view of a thread (what the worker knows of its streams changed). */
function repaint(shared: Shared, threadId: string): void {
  for (const entry of shared.threads.get(threadId) ?? []) {
    try {
      entry.use.connection.push(entry, entry.thread.view());
    } catch {
      // a closed thread: its page no longer listens
    }
  }
}

/** How long `storedHere` waits for the database (an upgrade in another tab can hold it). */
const STORED_HERE_MS = 1000;

/**
 * Whether database `dbName` holds thread `id`'s document (a snapshot or a chunk: the store's
 * layout, crates/web/src/idb.rs `read_doc`). False when it cannot tell within `STORED_HERE_MS`.
 */
async function storedHere(dbName: string, id: string): Promise<boolean> {
  let late = false;
  const opening = openExisting(dbName);
  // Open after the timeout: closed at once. Failing after it: nobody waits.
  opening.then((db) => late && db.close(), () => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      late = true;
      resolve(undefined);
    }, STORED_HERE_MS);
  });
  let db: IDBDatabase | undefined;
  try {
    db = await Promise.race([opening, timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
  if (!db) return false;
  try {
    const tx = db.transaction(["snapshots", "chunks"], "readonly");
    const [snapshots, chunks] = await Promise.all([
      request(tx.objectStore("snapshots").count(id)),
      request(tx.objectStore("chunks").count(IDBKeyRange.bound(`${id}/`, `${id}0`, false, true))),
    ]);
    return snapshots + chunks > 0;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** The core's view as pages see it: streams a closed tab left shown interrupted. */
function present(shared: Shared, threadId: string, view: ThreadView): ThreadView {
  const orphans = shared.orphaned.get(threadId);
  if (!orphans?.size) return view;
  let changed = false;
  const messages = view.messages.map((message) => {
    if (!orphans.has(message.id) || !isOpen(message.status)) return message;
    changed = true;
    return { ...message, status: "interrupted" as const };
  });
  return changed ? { ...view, messages } : view;
}
