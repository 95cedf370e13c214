// A store in a worker, as the page uses it: the same methods as the package's `ChatStore`, so the
// React and AI SDK adapters and an app's code run on it unchanged. Promise-returning methods are
// answered by the worker; synchronous reads (status, preferences, profile, usage, listProjects)
// answer from what the worker last pushed; synchronous writes are queued to it (./client.ts).
// Methods the package's JS layer adds to `ChatStore.prototype` are inherited (this class's prototype
// is ChatStore's): one written over the public API (`listThreads`, `exportThread`, …) works here as
// it is; one that reaches the core itself is overridden below.
import { ChatStore } from "../web/chatsync.js";
import type {
  ListOptions, ListProjectsOptions, Preferences, PreferencesPatch, Profile, Project, ProjectInit, ProjectPatch,
  StoreEvent, StoreOptions, StoreStatus, SyncReport, ThreadInit, ThreadSummary, ThreadView, UsageReport,
} from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
// Only modules without side effects: one that patches the store class, imported here too, would be
// moved by a bundler into a chunk shared with this one, and patch ahead of its turn.
import type { OpenThreadOptions, SyncOptions } from "../abort.js";
import { abortable, signalOf } from "../signals.js";
import { announceThreads, keepThreadList, listedFor, subscribeListed, threadsOf } from "../thread-list.js";
import { INTERNAL, type InternalRequest } from "../internal.js";
import { attachSharing, closeSharing, openedThread, refuseReadOnly, STORE_WRITES, THREAD_WRITES, withShared } from "../share/state.js";
import type { ExportFormat, ExportFormats, ImportOptions, ImportResult } from "../export/format.js";
import type { SearchOptions, SearchResult } from "../search/types.js";
import { connect, type StoreSink, type WorkerClient, type WorkerMode } from "./client.js";
import type { OpenedThread, StoreMirror, WireToken } from "./protocol.js";
import { WorkerThread } from "./thread.js";
import { looksLikeAutomerge, SPARE_THREAD_IDS } from "./thread-ids.js";

type Listener = (event: StoreEvent) => void;
type TokenSource = string | (() => string | Promise<string>);

export class WorkerChatStore implements StoreSink {
  // Sharing's methods (share/store.ts) are patched onto ChatStore.prototype, which this class's
  // prototype inherits: they call the relay over HTTP with the store's relay URL and token, on the
  // page, from what share/state.ts keeps for this store (set up in `open`). The shared list and the
  // refusal of read-only writes are this page's too (`listThreads`, `openThread` and the bottom of
  // this file); the worker's own store does no sharing (worker/server.ts).
  declare shareThread: ChatStore["shareThread"];
  declare unshareThread: ChatStore["unshareThread"];
  declare listShares: ChatStore["listShares"];
  declare createShareLink: ChatStore["createShareLink"];
  declare revokeShareLink: ChatStore["revokeShareLink"];
  private readonly listeners = new Set<Listener>();
  /** Weakly, as the client's: a thread the app dropped closes when it is collected (`collected`). */
  private readonly openThreads = new Map<number, WeakRef<WorkerThread>>();
  /** Threads with subscribers, held strongly: only a thread nobody listens to is collected. */
  private readonly subscribed = new Set<WorkerThread>();
  private closed = false;
  /** The app has called `openThread` (its first switch is behind it: `warmUp`). */
  private openedAny = false;
  /** Ids made in the worker for `loadThread` to answer with (see worker/thread-ids.ts). */
  private readonly spareIds: string[] = [];
  private refilling = false;
  private persisted: boolean | undefined;
  /** The status as status() gives it: the same object until a field changes. */
  private shownStatus: StoreStatus;
  private token_: TokenSource | undefined;

  private constructor(
    readonly client: WorkerClient,
    readonly sid: number,
    private latest: StoreMirror,
    token: TokenSource | undefined,
  ) {
    this.shownStatus = Object.freeze(latest.status);
    this.token_ = token;
  }

  /** Opens the store in the worker of `mode`. */
  static async open(mode: Exclude<WorkerMode, "none">, options: StoreOptions & { persist?: boolean }): Promise<WorkerChatStore> {
    const { persist = true, token, worker: _, ...rest } = options;
    const client = connect(mode);
    const sid = client.newId();
    const wireToken: WireToken | undefined = token === undefined ? undefined : typeof token === "function" ? { fn: true } : token;
    // Until open answers, token requests for this store are answered from here.
    let store: WorkerChatStore | undefined;
    client.stores.set(sid, {
      event: (event) => store?.event(event),
      mirror: (mirror) => store?.mirror(mirror),
      opError: (error, threadId) => store?.opError(error, threadId),
      token: () => resolveToken(token),
    });
    let mirror: StoreMirror;
    try {
      mirror = await client.call<StoreMirror>(sid, "open", [{ ...rest, ...(wireToken === undefined ? {} : { token: wireToken }) }]);
    } catch (error) {
      client.stores.delete(sid);
      throw error;
    }
    store = new WorkerChatStore(client, sid, mirror, token);
    client.stores.set(sid, store);
    store.askPersistence(persist);
    const opened = store;
    attachSharing(opened, {
      relayUrl: rest.relayUrl ?? rest.relayUrls?.[0],
      dbName: rest.dbName,
      // The token as it is at each request: setToken (below) replaces it.
      token: () => opened.token(),
      notify: (event) => announceThreads(opened as unknown as ChatStore, event),
    });
    // store.threads() as in the page (src/thread-list.ts), listed here with listThreads on the
    // worker's `threads` events.
    await Promise.all([
      keepThreadList(store as unknown as ChatStore, (listener) => store!.listen(listener)),
      store.refillIds(),
    ]);
    setTimeout(() => void opened.warmUp(), WARM_AFTER_MS);
    return store;
  }

  /**
   * A page's first thread switch runs code that nothing has run yet, here and in the worker (the
   * wasm's functions compile on their first call; the view's object shapes are new to both):
   * measured with the worker bench, a 1,000-message thread's first view after a reload took
   * 18–25 ms, each later one 7–14. So when the app has opened no thread `WARM_AFTER_MS` after the
   * store opened, the most recent thread is opened and closed here, nothing written, and the
   * person's first switch finds that code warm. (An app that opens a thread sooner warms it
   * itself. The worker refuses a warm-up once any page opened a thread in the store, and for a
   * thread whose document is not on this device; it does not count this open among the app's,
   * `internal("opens")`.)
   */
  private async warmUp(): Promise<void> {
    // This user's own, most recent first (a thread shared by another is not on this device
    // until opened); the next when the worker finds one's document not here.
    const candidates = this.threads().filter((summary) => !("sharedBy" in summary)).slice(0, WARM_CANDIDATES);
    for (const { id } of candidates) {
      if (this.closed || this.openedAny) return;
      try {
        const thread = await this.openInWorker(id, true);
        thread.view();
        // Not close(): an app's wrapper of Thread.prototype.close would see a thread it never had.
        thread.closeHere();
        return;
      } catch (error) {
        // Not on this device: the next. Else refused (the worker is warm: a page opened a thread
        // there), or the store closed meanwhile: nothing to warm.
        if ((error as { code?: unknown }).code !== "not_found") return;
      }
    }
  }

  /** As the in-page store: `navigator.storage.persist()` (or `persisted()`), not awaited. */
  private askPersistence(persist: boolean): void {
    const storage = globalThis.navigator?.storage;
    const ask = persist ? storage?.persist : storage?.persisted;
    ask?.call(storage).then(
      (persisted) => {
        this.persisted = persisted;
        this.setStatus(this.latest.status);
        this.emit({ type: "status", status: this.shownStatus });
      },
      () => {},
    );
  }

  ensureOpen(): void {
    if (this.closed) throw new ChatsyncError("closed", "the store is closed");
  }

  forget(thread: WorkerThread): void {
    this.openThreads.delete(thread.tid);
    this.subscribed.delete(thread);
    collected.unregister(thread);
  }

  hold(thread: WorkerThread, held: boolean): void {
    if (held) this.subscribed.add(thread);
    else this.subscribed.delete(thread);
  }

  /** A thread the app dropped without closing it was collected: as in the page, it is closed. */
  threadCollected(tid: number): void {
    this.openThreads.delete(tid);
    this.client.threads.delete(tid);
    this.client.threadIds.delete(tid);
    if (!this.closed) this.client.op(this.sid, { thread: tid, method: "close", args: [] });
  }

  // ---- pushes from the worker (StoreSink) ----

  event(event: StoreEvent): void {
    if (event.type === "status") {
      this.latest = { ...this.latest, status: event.status };
      this.setStatus(event.status);
      this.emit({ type: "status", status: this.shownStatus });
      return;
    }
    if (event.type === "preferences") this.latest = { ...this.latest, preferences: event.preferences };
    this.emit(event);
  }

  mirror(mirror: StoreMirror): void {
    this.latest = mirror;
    this.setStatus(mirror.status);
  }

  opError(error: Error, threadId?: string): void {
    const code = (error as { code?: string }).code ?? "invalid_input";
    this.emit({ type: "error", code, message: error.message, ...(threadId === undefined ? {} : { threadId }) });
  }

  token(): Promise<string> {
    return resolveToken(this.token_);
  }

  private setStatus(status: StoreStatus): void {
    const next = this.persisted === undefined ? status : { ...status, persisted: this.persisted };
    const current = this.shownStatus as unknown as Record<string, unknown>;
    const fresh = next as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(current), ...Object.keys(fresh)]);
    if ([...keys].some((k) => current[k] !== fresh[k])) this.shownStatus = Object.freeze(next);
  }

  private emit(event: StoreEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error("chatsync: a store subscriber threw", error);
      }
    }
  }

  private call<T>(method: string, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new ChatsyncError("closed", "the store is closed"));
    return this.client.call<T>(this.sid, method, args);
  }

  /** A call that changes the thread list: resolved once `threads()` shows the change (threads.ts). */
  private async changeList<T>(method: string, args: unknown[]): Promise<T> {
    const result = await this.call<T>(method, args);
    await listedFor(this as unknown as ChatStore);
    return result;
  }

  // ---- the ChatStore API ----

  /** The worker's list, with the threads shared with this user (share/state.ts, on this page). */
  listThreads(options?: ListOptions): Promise<ThreadSummary[]> {
    return withShared(this as unknown as ChatStore, this.call("listThreads", [options]), options);
  }
  createThread(init?: ThreadInit): Promise<ThreadSummary> {
    return this.changeList("createThread", [init]);
  }
  archiveThread(id: string): Promise<void> {
    return this.changeList("archiveThread", [id]);
  }
  deleteThread(id: string): Promise<void> {
    return this.changeList("deleteThread", [id]);
  }
  unarchiveThread(id: string): Promise<void> {
    return this.changeList("unarchiveThread", [id]);
  }
  restoreThread(id: string): Promise<void> {
    return this.changeList("restoreThread", [id]);
  }
  purgeThread(id: string): Promise<void> {
    return this.changeList("purgeThread", [id]);
  }
  flush(): Promise<void> {
    return this.changeList("flush", []);
  }
  /** As the in-page store's: an aborted `signal` rejects at once; the signal stays on the page. */
  sync(options?: SyncOptions): Promise<SyncReport> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return abortable(signal, "sync", () => this.call<SyncReport>("sync", []), () => {});
  }
  createProject(init: ProjectInit): Promise<Project> {
    return this.call("createProject", [init]);
  }
  updateProject(id: string, patch: ProjectPatch): Promise<Project> {
    return this.call("updateProject", [id, patch]);
  }
  archiveProject(id: string): Promise<Project> {
    return this.call("archiveProject", [id]);
  }
  deleteProject(id: string): Promise<void> {
    return this.changeList("deleteProject", [id]);
  }
  moveThread(threadId: string, projectId?: string | null): Promise<void> {
    return this.changeList("moveThread", [threadId, projectId]);
  }
  setPreferences(patch: PreferencesPatch): Promise<void> {
    return this.call("setPreferences", [patch]);
  }
  setProfile(patch: Profile): Promise<void> {
    return this.call("setProfile", [patch]);
  }
  search(query: string, options?: SearchOptions): Promise<SearchResult[]> {
    return this.call("search", [query, options]);
  }
  exportThread<F extends ExportFormat = "json">(id: string, options?: { format?: F }): Promise<ExportFormats[F]> {
    return this.call("exportThread", [id, options]);
  }
  exportAll(): Promise<ExportFormats["json"]> {
    return this.call("exportAll", []);
  }
  importThreads(data: unknown, options?: ImportOptions): Promise<ImportResult> {
    return this.call("importThreads", [data, options]);
  }

  /**
   * As the in-page store's: an aborted `signal` rejects at once, and the thread that opens after
   * the abort is closed again (the signal stays on the page: it cannot be posted).
   */
  openThread(id: string, options?: OpenThreadOptions): Promise<WorkerThread> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.openedAny = true;
    return abortable(signal, `opening thread ${id}`, () => this.openInWorker(id), (thread) => thread.close());
  }

  /** `warm`: `warmUp`'s, not the app's. */
  private async openInWorker(id: string, warm = false): Promise<WorkerThread> {
    this.ensureOpen();
    const tid = this.client.newId();
    const opened = await this.client.call<OpenedThread>(this.sid, "openThread", warm ? [id, true] : [id], tid);
    const thread = new WorkerThread(this, tid, opened);
    this.client.threads.set(tid, new WeakRef(thread));
    this.client.threadIds.set(tid, thread.id);
    this.openThreads.set(tid, new WeakRef(thread));
    collected.register(thread, { store: this, tid }, thread);
    threadStores.set(thread, this);
    if (this.closed) {
      if (warm) thread.closeHere();
      else thread.close();
    } else if (!warm) openedThread(this as unknown as ChatStore, thread.id);
    return thread;
  }

  /**
   * As the in-page store's: bytes that are not Automerge's are refused here, at once; the worker's
   * core reads the rest under an id it made ahead (`spareThreadIds`), and a refusal there (not a
   * chatsync thread) is an `error` event naming that id, as other refused writes in a worker are.
   */
  loadThread(bytes: Uint8Array | number[], id?: string | null): string {
    this.ensureOpen();
    const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    if (!looksLikeAutomerge(data)) {
      throw new ChatsyncError("invalid_input", "these bytes are not a chatsync thread's Automerge document (or are a newer chatsync's, or a deleted thread)");
    }
    const made = id ?? this.spareIds.shift();
    if (made === undefined) {
      throw new ChatsyncError("invalid_transition", `store.loadThread() in a worker answers with ids made ahead: more than ${SPARE_THREAD_IDS} in one go (or outside a secure context, none) need await store.flush() between them, or the store in the page (worker: "none")`);
    }
    this.client.storeOp(this.sid, "loadThread", [data, made]);
    if (id == null) void this.refillIds();
    return made;
  }

  /** Tops the ids `loadThread` answers with up from the worker (at open, then after each use). */
  async refillIds(): Promise<void> {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    try {
      while (this.spareIds.length < SPARE_THREAD_IDS && !this.closed) {
        const ids = await this.client.call<string[]>(this.sid, "spareThreadIds", []);
        if (ids.length === 0) break;
        this.spareIds.push(...ids.slice(0, SPARE_THREAD_IDS - this.spareIds.length));
      }
    } catch {
      // closed meanwhile; the next loadThread asks again
    } finally {
      this.refilling = false;
    }
  }

  status(): StoreStatus {
    return this.shownStatus;
  }
  /**
   * As the in-page store's (src/thread-list.ts keeps it for this store too): `listThreads()` as
   * it last answered, listed again on each `threads` event from the worker before the event reaches
   * this page's listeners.
   */
  threads(): readonly ThreadSummary[] {
    return threadsOf(this as unknown as ChatStore);
  }
  preferences(): Preferences {
    this.ensureOpen();
    return this.latest.preferences;
  }
  profile(): Profile {
    this.ensureOpen();
    return this.latest.profile;
  }
  usage(): UsageReport {
    this.ensureOpen();
    return this.latest.usage;
  }
  listProjects(options?: ListProjectsOptions): Project[] {
    this.ensureOpen();
    const all = this.latest.projects;
    return options?.includeArchived ? all.slice() : all.filter((p) => !p.archived);
  }

  setOnline(online: boolean): void {
    if (this.closed) return;
    this.client.storeOp(this.sid, "setOnline", [online]);
  }
  setToken(token: TokenSource): void {
    this.ensureOpen();
    if (typeof token !== "string" && typeof token !== "function") {
      throw new ChatsyncError("invalid_input", "a token is a string or a function returning one");
    }
    this.token_ = token;
    this.client.storeOp(this.sid, "setToken", [typeof token === "string" ? token : { fn: true }]);
  }

  /** The worker's events as they come (threads.ts holds `threads` events back from here). */
  private listen(callback: Listener): () => void {
    const listener: Listener = (event) => callback(event);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  subscribe(callback: Listener): () => void {
    return subscribeListed(this as unknown as ChatStore, callback, (listener) => this.listen(listener));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    closeSharing(this);
    for (const thread of [...this.openThreads.values()]) thread.deref()?.close();
    const closing = this.client.call<void>(this.sid, "close", []);
    this.closed = true;
    try {
      await closing;
    } finally {
      this.client.stores.delete(this.sid);
    }
  }

  free(): void {
    void this.close();
  }

  [Symbol.dispose](): void {
    void this.close();
  }
}

// The page's half of "garbage collection releases a Thread" (the core's wasm-bindgen classes do
// it in the page): the worker's thread closes too.
/** How long after the store opened `warmUp` waits for the app's own first switch. */
const WARM_AFTER_MS = 150;
/** How many of the most recent threads `warmUp` tries (a thread's document may not be here). */
const WARM_CANDIDATES = 3;

const collected = new FinalizationRegistry<{ store: WorkerChatStore; tid: number }>(({ store, tid }) => {
  store.threadCollected(tid);
});

async function resolveToken(token: TokenSource | undefined): Promise<string> {
  const value = typeof token === "function" ? await token() : token;
  if (typeof value !== "string") throw new ChatsyncError("token", "the token function gave no string");
  return value;
}

// `store instanceof ChatStore` holds for these too.
Object.setPrototypeOf(WorkerChatStore.prototype, ChatStore.prototype);

// Not API (../internal.ts): answered by the worker's real store, closed or not (a test reads the
// search index's counters after close, as it may of a store in the page).
(WorkerChatStore.prototype as unknown as Record<symbol, unknown>)[INTERNAL] = function internal(this: WorkerChatStore, request: InternalRequest) {
  return this.client.call(this.sid, "internal", [request]);
};

// A read-only share's writes are refused here, as in the page (share/store.ts): a thread's at once
// (it throws, as the in-page Thread does), the store's by rejecting; the worker never sees them.
const threadStores = new WeakMap<WorkerThread, WorkerChatStore>();
refuseReadOnly(WorkerThread.prototype, THREAD_WRITES, (thread: WorkerThread) => ({ store: threadStores.get(thread), id: thread.id }),
  (error) => {
    throw error;
  });
refuseReadOnly(WorkerChatStore.prototype, STORE_WRITES, (store: WorkerChatStore, args) => ({ store, id: args[0] }),
  (error) => Promise.reject(error));

// The proxy has every member of the package's ChatStore (and its Thread every member of Thread):
// this fails to compile when one is missing or typed differently.
type Assignable<A, B> = A extends B ? true : false;
const storeShape: Assignable<WorkerChatStore, ChatStore> = true;
const threadShape: Assignable<WorkerThread, import("../web/chatsync.js").Thread> = true;
void storeShape;
void threadShape;
