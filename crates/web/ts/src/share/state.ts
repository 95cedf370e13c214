// What sharing keeps for one store on the page, whether the store runs in the page (./store.ts
// patches ChatStore with it) or in a worker (worker/store.ts, the page's proxy, calls it): the relay
// calls with the store's current token, the list of threads shared with this user (kept in
// localStorage, which a worker does not have, so it shows offline too), and which threads are
// read-only. It runs on the page in both modes — the worker holds the documents, and opens and syncs
// a shared thread as any other. No side effects, so the worker proxy imports it without pulling the
// package's patches of ChatStore into a chunk of its own.
import type { ChatStore, ListOptions, StoreEvent, ThreadSummary } from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import { type Sharing, sharing } from "./client.js";

interface State {
  relay: Sharing;
  /** Whether the store has a relay at all. */
  remote: boolean;
  /** Where the shared list is kept for offline use. */
  cacheKey: string;
  shared: Map<string, ThreadSummary>;
  fetchedAt: number;
  refreshing?: Promise<void>;
  /** Tells the store's subscribers (and its `threads()` list) that the shared list changed. */
  notify: (event: StoreEvent) => void;
  /** Stops following the other tabs' copies of the list. */
  unwatch?: () => void;
}
const states = new WeakMap<object, State>();

/** How long a shared list fetched from the relay is used before `listThreads` asks again (in the background). */
const FRESH_MS = 500;
/** How often at most opening a thread not known as shared asks the relay for the shared list. */
const OPEN_REFRESH_MS = 10_000;
/** How long `listThreads` waits for the relay before answering from the cached list. */
const LIST_WAIT_MS = 1_500;

/** What `attachSharing` needs of a store: its relay, its database, its token as it is now. */
export interface SharingSetup {
  relayUrl: string | undefined;
  dbName: string | undefined;
  /** The store's token at the time of each request (a `setToken` later is seen). */
  token: () => string | Promise<string>;
  notify: (event: StoreEvent) => void;
}

/** Sets sharing up for `store` (at open); true if the shared list kept from before has threads. */
export function attachSharing(store: object, setup: SharingSetup): boolean {
  const cacheKey = `chatsync.shared.${setup.dbName ?? "chatsync"}`;
  const shared = readCache(cacheKey);
  const state: State = {
    relay: sharing({ relayUrl: setup.relayUrl, token: setup.token }),
    remote: setup.relayUrl !== undefined,
    cacheKey,
    shared,
    fetchedAt: 0,
    notify: setup.notify,
  };
  states.set(store, state);
  watchOtherTabs(state);
  return shared.size > 0;
}

/**
 * Another tab of this origin that fetched a newer shared list wrote it to localStorage: this tab's
 * store takes it at once (its own fetch may be seconds away), so a thread shared read-only since is
 * refused here too. Each tab asks the relay with its own token, whether its store runs in the page or
 * in a SharedWorker with the other tabs'.
 */
function watchOtherTabs(state: State): void {
  const scope = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
  if (typeof scope.addEventListener !== "function") return;
  try {
    if (!globalThis.localStorage) return; // a worker's scope
  } catch {
    return; // an opaque origin refuses even the lookup
  }
  const listener = (event: Event) => {
    if ((event as StorageEvent).key !== state.cacheKey) return;
    const before = JSON.stringify([...state.shared.values()]);
    state.shared = readCache(state.cacheKey);
    if (JSON.stringify([...state.shared.values()]) !== before) state.notify({ type: "threads", source: "remote" });
  };
  scope.addEventListener("storage", listener);
  state.unwatch = () => scope.removeEventListener?.("storage", listener);
}

/** The store closed: its sharing stops following the other tabs (its calls still answer). */
export function closeSharing(store: object): void {
  const state = states.get(store);
  state?.unwatch?.();
  if (state) state.unwatch = undefined;
}

/**
 * For a store whose sharing is done elsewhere: the worker's own store, whose page (the proxy) keeps
 * the shared list and refuses read-only writes.
 */
export function detachSharing(store: object): void {
  closeSharing(store);
  states.delete(store);
}

function readCache(key: string): Map<string, ThreadSummary> {
  try {
    const stored = globalThis.localStorage?.getItem(key);
    const list = stored ? (JSON.parse(stored) as ThreadSummary[]) : [];
    return new Map(list.map((s) => [s.id, s]));
  } catch {
    return new Map();
  }
}

function writeCache(key: string, shared: Map<string, ThreadSummary>): void {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify([...shared.values()]));
  } catch {
    // Storage full or unavailable: the list is still right in memory.
  }
}

/** Asks the relay for the threads shared with this user, and keeps the answer. */
function refresh(state: State): Promise<void> {
  state.refreshing ??= state.relay
    .listShared()
    .then((list) => {
      const summaries = list as unknown as ThreadSummary[];
      const before = JSON.stringify([...state.shared.values()]);
      state.shared = new Map(summaries.map((s) => [s.id, s]));
      state.fetchedAt = Date.now();
      if (JSON.stringify(summaries) === before) return;
      writeCache(state.cacheKey, state.shared);
      state.notify({ type: "threads", source: "remote" });
    })
    .finally(() => {
      state.refreshing = undefined;
    });
  return state.refreshing;
}

/**
 * The shared list as last kept. Asked again of the relay in the background when older than
 * `FRESH_MS` (a change is told to the store's subscribers as a `threads` event); waited for (a
 * moment at most) only the first time, when nothing was fetched yet.
 */
async function sharedList(store: ChatStore): Promise<Map<string, ThreadSummary>> {
  const state = states.get(store);
  if (!state) return new Map();
  if (state.remote && store.status().online && Date.now() - state.fetchedAt > FRESH_MS) {
    const refreshed = refresh(state).catch(() => {});
    if (state.fetchedAt === 0) {
      await Promise.race([refreshed, new Promise<void>((resolve) => setTimeout(resolve, LIST_WAIT_MS))]);
    }
  }
  return state.shared;
}

/**
 * `listThreads(options)`: the store's own list (`own`, a promise so that the relay is asked
 * meanwhile) with the threads others shared with this user, each with `sharedBy` and `access`.
 */
export async function withShared(store: ChatStore, own: Promise<ThreadSummary[]>, options?: ListOptions): Promise<ThreadSummary[]> {
  const [mine, shared] = await Promise.all([own, sharedList(store)]);
  if (shared.size === 0) return mine;
  // A shared thread this device opened is in its own list too (the store lists what it holds): it is
  // marked there, and the rest come from the relay's list.
  const listed = mine.map((s) => {
    const share = shared.get(s.id);
    return share ? { ...s, sharedBy: share.sharedBy, access: share.access } : s;
  });
  const wanted = !options?.trashed && !options?.projectId;
  if (wanted) {
    const held = new Set(mine.map((s) => s.id));
    for (const share of shared.values()) {
      if (held.has(share.id)) continue;
      if (share.status === "archived" && !options?.includeArchived) continue;
      listed.push(share);
    }
    listed.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
  }
  return listed;
}

/** The store's sharing calls (a store opened before sharing was set up has none: `offline`). */
export function relayOf(store: ChatStore): Sharing {
  return states.get(store)?.relay ?? sharing({ relayUrl: undefined, token: undefined });
}

/**
 * A thread made on this device moments ago may not be at the relay yet: what the store holds is sent
 * first, if the relay is there (a failure is the relay's answer to give: `not_found` or `offline`).
 */
export async function settled(store: ChatStore): Promise<void> {
  if (store.status().online) await store.sync().catch(() => {});
}

/**
 * `store` opened thread `id`. One shared since the list was last fetched: its access is learnt in
 * the background (a thread switch never waits for the relay; until then the relay itself refuses a
 * read-only write).
 */
export function openedThread(store: ChatStore, id: string): void {
  const state = states.get(store);
  if (state?.remote && !state.shared.has(id) && store.status().online && Date.now() - state.fetchedAt > OPEN_REFRESH_MS) {
    refresh(state).catch(() => {});
  }
}

export function readOnlyError(id: string): ChatsyncError {
  return new ChatsyncError("forbidden", `thread ${id} is shared with you read-only: writes are refused`);
}

/** Whether thread `id` is shared with `store`'s user read-only, as the shared list last said. */
export function isReadOnly(store: object | undefined, id: string): boolean {
  return store !== undefined && states.get(store)?.shared.get(id)?.access === "read";
}

/** Every write of a `Thread`: refused for a read-only share. */
export const THREAD_WRITES = [
  "appendMessage", "appendPart", "appendDelta", "finishMessage", "updateMessageMetadata", "resetStep",
  "editMessage", "regenerateMessage", "selectBranch", "setTitle", "setSettings", "setFeedback",
  "upsertArtifact", "startToolCall", "setToolCallInput", "finishToolCall", "requestApproval",
  "decideApproval", "setSessionState", "setSummary", "setContext", "removeContext",
] as const;

/** The store's writes to one thread's document: refused for a read-only share. */
export const STORE_WRITES = ["archiveThread", "unarchiveThread"] as const;

/**
 * Wraps each of `names` on `prototype` so a call on a read-only share throws `forbidden` before the
 * write runs, as the relay would refuse it (the write never reaches the document, so nothing waits
 * unsynced for an acknowledgement that never comes). `target` names the store and thread of a
 * call; `fail` gives what a refused call gives (throws for a synchronous write, a rejection for a
 * promise-returning one).
 */
export function refuseReadOnly<T extends object>(
  prototype: T,
  names: readonly string[],
  target: (self: T, args: unknown[]) => { store: object | undefined; id: unknown },
  fail: (error: ChatsyncError) => unknown,
): void {
  const methods = prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const core = methods[name];
    if (typeof core !== "function") continue;
    methods[name] = function (this: T, ...args: unknown[]) {
      const { store, id } = target(this, args);
      if (typeof id === "string" && isReadOnly(store, id)) return fail(readOnlyError(id));
      return core.apply(this, args);
    };
  }
}
