// The `chatsync` entry: the wasm-bindgen module as it is, plus what is plain JS — the `ChatsyncError`
// class, `navigator.storage.persist()` asked for when a store opens (reported in `status()` as
// `persisted`; `persist: false` opts out), `store.search` (./search/install.ts), the cached
// `store.threads()` (./threads.ts), message objects kept between views (./views.ts) and `signal` on
// `sync` and `openThread` (./abort.ts). Both entries ("chatsync" and "chatsync/bundler") and the
// adapters import this module, so the store class is patched once, before anyone opens a store.
import { ChatStore } from "./web/chatsync.js";
import type { StoreEvent, StoreStatus } from "./web/chatsync.js";
import { ChatsyncError } from "./errors.js";
import type { WorkerMode } from "./worker/client.js";
import { answerInternal, INTERNAL, type InternalRequest } from "./internal.js";

export * from "./web/chatsync.js";
export { default } from "./web/chatsync.js";
export { ChatsyncError, isChatsyncErrorCode, type ChatsyncErrorCode } from "./errors.js";
export type { WorkerMode } from "./worker/client.js";
// store.search (its index loads on the first call).
export type { Highlight, SearchOptions, SearchResult, SearchResultKind } from "./search/install.js";
import "./search/install.js";
// store.exportThread / exportAll / importThreads, loading chatsync/export on first use.
import "./export/store.js";
// thread.history() / viewAt / restore / undo, loading the history module (its own wasm) on first use.
export type { RestoreOptions, ThreadVersion, VersionKind } from "./history/install.js";
import "./history/install.js";
// thread.updateMessageMetadata(id, metadata, { merge: true }): merged here, in JS.
import "./metadata.js";
export { mergeObjects } from "./metadata.js";
// store.threads(): the cached thread list, a synchronous snapshot.
import "./threads.js";
// Unchanged messages keep their objects between views.
import "./views.js";
// store.sync({ signal }) and store.openThread(id, { signal }).
import "./abort.js";
export type { OpenThreadOptions, SyncOptions } from "./abort.js";
// store.shareThread / unshareThread / createShareLink, shared threads in listThreads(), read-only
// shares refused locally: plain TS over the relay's HTTP API.
import "./share/store.js";
export type { ShareAccess, ShareLink, ThreadShare } from "./share/store.js";
export { sharing, type SharedSummary, type Sharing } from "./share/client.js";
export type {
  ChatsyncExport, ExportedThread, ExportFormat, ExportFormats, ImportFormat, ImportLoss, ImportOptions,
  ImportResult, ImportSkip,
} from "./export/format.js";

declare module "./web/chatsync.js" {
  interface StoreOptions {
    /**
     * Ask the browser to keep this origin's storage (`navigator.storage.persist()`) so it is not
     * evicted under storage pressure. Default true; the answer shows in `status().persisted`.
     */
    persist?: boolean;
    /**
     * Where the store's CRDT work (the Automerge documents, IndexedDB, the relay connection) runs:
     * - `"shared"` (the default): in a SharedWorker, one for every tab of the origin — one relay
     *   connection and one copy of each document for all of them (a dedicated worker where the
     *   browser has no SharedWorker; in the page where it has no workers at all);
     * - `"dedicated"`: in a Worker of this page's own;
     * - `"none"`: in this page, on its main thread (every Automerge read and write then blocks it).
     *
     * In a worker the API keeps its shape: promise-returning methods wait on the worker; `view()`,
     * `summary()`, `status()`, `preferences()`, `profile()`, `usage()` and `listProjects()` answer
     * from what it last sent; writes return at once (ids made in the page) and a write the worker
     * refuses later arrives as an `error` event. `thread.fullView()` adds the other branches as
     * the worker last sent them (with `openThread` for a short thread, just after for a long one);
     * `store.loadThread()` answers with an id the worker made ahead (bytes that are not
     * Automerge's are refused at once, the rest by the worker as an `error` event); `thread.save()`
     * needs the store in the page (`invalid_transition` in a worker: use
     * `store.exportThread(id, { format: "automerge" })`). See the README's "In a worker".
     */
    worker?: WorkerMode;
  }
  interface StoreStatus {
    /**
     * Whether the browser keeps this origin's storage even under pressure: the answer to
     * `navigator.storage.persist()` (or, with `persist: false`, to `navigator.storage.persisted()`).
     * Absent until the browser answers, and where it has no Storage API.
     */
    persisted?: boolean;
  }
}

/** The kinds of store event (`"threads"`, `"status"`, `"error"`, and what later versions add). */
export type StoreEventType = StoreEvent["type"];
/** The store event of one kind, e.g. `StoreEventOf<"status">` is `{ type: "status"; status }`. */
export type StoreEventOf<T extends StoreEventType> = Extract<StoreEvent, { type: T }>;

/**
 * Calls `listener` with the store's events of one kind, typed as that kind; returns the function
 * that unsubscribes. `onStoreEvent(store, "error", (e) => report(e.code, e.threadId))`.
 */
export function onStoreEvent<T extends StoreEventType>(
  store: ChatStore,
  type: T,
  listener: (event: StoreEventOf<T>) => void,
): () => void {
  return store.subscribe((event) => {
    if (event.type === type) listener(event as StoreEventOf<T>);
  });
}

type Listener = (event: StoreEvent) => void;
interface Persistence {
  persisted?: boolean;
  listeners: Set<Listener>;
  // The last status the core gave and what this layer made of it, so status() keeps its identity.
  core?: StoreStatus;
  merged?: StoreStatus;
}
const persistence = new WeakMap<ChatStore, Persistence>();

const coreOpen = ChatStore.open;
const coreStatus = ChatStore.prototype.status;
const coreSubscribe = ChatStore.prototype.subscribe;

ChatStore.open = async function open(options) {
  const { worker = "shared", ...inPage } = options ?? {};
  if (worker !== "none" && worker !== "shared" && worker !== "dedicated") {
    throw new ChatsyncError("invalid_input", `worker: ${JSON.stringify(worker)} is not "shared", "dedicated" or "none"`);
  }
  // Where the browser has no workers at all, the store runs in the page.
  const workers = typeof Worker !== "undefined" || typeof SharedWorker !== "undefined";
  if (worker !== "none" && workers) {
    // Loaded on demand: a store in the page never loads the proxy (nor the worker's script).
    const { WorkerChatStore } = await import("./worker/store.js");
    try {
      return (await WorkerChatStore.open(worker, inPage)) as unknown as ChatStore;
    } catch (error) {
      // The worker never started (its script refused by a Content-Security-Policy or missing, its
      // wasm not loaded there): the store runs in the page instead, as where there are no workers.
      if ((error as { code?: unknown } | null)?.code !== "worker_failed") throw error;
      console.warn(`chatsync: the store runs in the page: ${(error as Error).message}`);
    }
  }
  const { persist = true, ...rest } = inPage;
  const store = await coreOpen.call(ChatStore, rest);
  const state: Persistence = { listeners: new Set() };
  persistence.set(store, state);
  const storage = globalThis.navigator?.storage;
  const ask = persist ? storage?.persist : storage?.persisted;
  if (ask) {
    // Not awaited: a browser may ask the person first (Firefox does), and the store is usable now.
    ask.call(storage).then(
      (persisted) => {
        state.persisted = persisted;
        const status = store.status();
        for (const listener of [...state.listeners]) listener({ type: "status", status });
      },
      () => {}, // refused outright (e.g. an opaque origin): nothing to report
    );
  }
  return store;
};

ChatStore.prototype.status = function status(this: ChatStore) {
  const core = coreStatus.call(this);
  const state = persistence.get(this);
  if (state?.persisted === undefined) return core;
  if (state.core !== core || state.merged?.persisted !== state.persisted) {
    state.core = core;
    state.merged = Object.freeze({ ...core, persisted: state.persisted });
  }
  return state.merged!;
};

// Not API (./internal.ts): the tests' and benchmarks' view of the store's insides, answered here for
// a store in the page (a worker's proxy forwards it to its worker).
(ChatStore.prototype as unknown as Record<symbol, unknown>)[INTERNAL] = async function internal(this: ChatStore, request: InternalRequest) {
  return answerInternal(this, request);
};

ChatStore.prototype.subscribe = function subscribe(this: ChatStore, callback: Listener) {
  const state = persistence.get(this);
  // The core's status events carry its own status object: hand out the one status() gives.
  const unsubscribe = coreSubscribe.call(this, (event: StoreEvent) =>
    callback(event.type === "status" ? { type: "status", status: this.status() } : event),
  );
  state?.listeners.add(callback);
  return () => {
    state?.listeners.delete(callback);
    unsubscribe();
  };
};
