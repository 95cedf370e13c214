// Sharing, added to `ChatStore` here in plain TypeScript (no wasm): `shareThread`, `unshareThread`,
// `createShareLink` (and `revokeShareLink`, `listShares`) call the relay's HTTP API (./client.ts)
// with the store's own relay URL and token; `listThreads()` adds the threads others shared with
// this user, each with `sharedBy` and `access`, from a copy kept in localStorage so the list shows
// them offline too; and the writes of a `Thread` shared read-only are refused here (`forbidden`), before the relay would.
// Opening a shared thread is the core's `openThread`: an id this device lacks is fetched from the
// relay, which serves it to its grantees as to its owner.
import { ChatStore, Thread } from "../web/chatsync.js";
import type { ListOptions, StoreEvent, ThreadSummary } from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import { type ShareAccess, type ShareLink, type Sharing, type ThreadShare, type TokenSource, sharing } from "./client.js";

export type { ShareAccess, ShareLink, ThreadShare } from "./client.js";

declare module "../web/chatsync.js" {
  interface ThreadSummary {
    /** For a thread another user shared with this one: its owner. */
    sharedBy?: string;
    /** For a thread another user shared with this one: what this user may do with it. */
    access?: ShareAccess;
  }
  interface ChatStore {
    /**
     * Grants `userId` read or write access to a thread of this user's (replacing an earlier grant).
     * Needs the relay: `offline` without it. Only the owner shares (`forbidden` for a grantee).
     */
    shareThread(id: string, userId: string, access: ShareAccess): Promise<ThreadShare>;
    /**
     * Takes back `userId`'s access: the relay ends their sessions at once and refuses their later
     * writes. What their devices already hold stays there.
     */
    unshareThread(id: string, userId: string): Promise<void>;
    /** The grants of a thread of this user's. */
    listShares(id: string): Promise<ThreadShare[]>;
    /**
     * A read-only share link to a thread of this user's, until `expiresAt` (a `Date` or ms since the
     * epoch) or until revoked.
     */
    createShareLink(id: string, options?: { expiresAt?: number | Date }): Promise<ShareLink>;
    /** Revokes a share link: it opens nothing from then on. */
    revokeShareLink(linkId: string): Promise<void>;
  }
}

interface State {
  relay: Sharing;
  /** Whether the store has a relay at all. */
  remote: boolean;
  token: TokenSource;
  /** Where the shared list is kept for offline use. */
  cacheKey: string;
  shared: Map<string, ThreadSummary>;
  fetchedAt: number;
  refreshing?: Promise<void>;
  /** The store's subscribers, told when the shared list changes. */
  listeners: Set<(event: StoreEvent) => void>;
}
const states = new WeakMap<ChatStore, State>();

/** How long a shared list fetched from the relay is used before `listThreads` asks again (in the background). */
const FRESH_MS = 500;
/** How often at most opening a thread not known as shared asks the relay for the shared list. */
const OPEN_REFRESH_MS = 10_000;
/** How long `listThreads` waits for the relay before answering from the cached list. */
const LIST_WAIT_MS = 1_500;

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
      for (const listener of [...state.listeners]) listener({ type: "threads", source: "remote" });
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
 * A thread made on this device moments ago may not be at the relay yet: what the store holds is sent
 * first, if the relay is there (a failure is the relay's answer to give: `not_found` or `offline`).
 */
async function settled(store: ChatStore): Promise<void> {
  if (store.status().online) await store.sync().catch(() => {});
}

const coreOpen = ChatStore.open;
const coreList = ChatStore.prototype.listThreads;

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  const cacheKey = `chatsync.shared.${options?.dbName ?? "chatsync"}`;
  const relayUrl = options?.relayUrl ?? options?.relayUrls?.[0];
  const state: State = {
    // The store's token as it is now (`setToken` replaces it), a function's called per request.
    relay: sharing({ relayUrl, token: async () => (typeof state.token === "function" ? state.token() : state.token) as string }),
    remote: relayUrl !== undefined,
    token: options?.token,
    cacheKey,
    shared: readCache(cacheKey),
    fetchedAt: 0,
    listeners: new Set(),
  };
  states.set(store, state);
  return store;
};

const coreSubscribe = ChatStore.prototype.subscribe;
ChatStore.prototype.subscribe = function subscribe(this: ChatStore, callback: (event: StoreEvent) => void) {
  const unsubscribe = coreSubscribe.call(this, callback);
  const listeners = states.get(this)?.listeners;
  listeners?.add(callback);
  return () => {
    listeners?.delete(callback);
    unsubscribe();
  };
};

const coreSetToken = ChatStore.prototype.setToken;
ChatStore.prototype.setToken = function setToken(this: ChatStore, token) {
  coreSetToken.call(this, token);
  const state = states.get(this);
  if (state) state.token = token;
};

ChatStore.prototype.listThreads = async function listThreads(this: ChatStore, options?: ListOptions) {
  const [own, shared] = await Promise.all([coreList.call(this, options), sharedList(this)]);
  if (shared.size === 0) return own;
  // A shared thread this device opened is in its own list too (the store lists what it holds): it is
  // marked there, and the rest come from the relay's list.
  const listed = own.map((s) => {
    const share = shared.get(s.id);
    return share ? { ...s, sharedBy: share.sharedBy, access: share.access } : s;
  });
  const wanted = !options?.trashed && !options?.projectId;
  if (wanted) {
    const held = new Set(own.map((s) => s.id));
    for (const share of shared.values()) {
      if (held.has(share.id)) continue;
      if (share.status === "archived" && !options?.includeArchived) continue;
      listed.push(share);
    }
    listed.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
  }
  return listed;
};

/** The store's sharing calls (a store opened before this module loaded has none: `offline`). */
function relayOf(store: ChatStore): Sharing {
  return states.get(store)?.relay ?? sharing({ token: undefined });
}

ChatStore.prototype.shareThread = async function shareThread(this: ChatStore, id, userId, access) {
  await settled(this);
  return relayOf(this).shareThread(id, userId, access);
};
ChatStore.prototype.unshareThread = function unshareThread(this: ChatStore, id, userId) {
  return relayOf(this).unshareThread(id, userId);
};
ChatStore.prototype.listShares = function listShares(this: ChatStore, id) {
  return relayOf(this).listShares(id);
};
ChatStore.prototype.createShareLink = async function createShareLink(this: ChatStore, id, options) {
  await settled(this);
  return relayOf(this).createShareLink(id, options);
};
ChatStore.prototype.revokeShareLink = function revokeShareLink(this: ChatStore, linkId) {
  return relayOf(this).revokeShareLink(linkId);
};

// Which store each open Thread came from, so its writes can be checked against the shared list.
const owners = new WeakMap<Thread, ChatStore>();
const coreOpenThread = ChatStore.prototype.openThread;
ChatStore.prototype.openThread = async function openThread(
  this: ChatStore,
  id: string,
  ...rest: Parameters<ChatStore["openThread"]> extends [string, ...infer R] ? R : never
) {
  // Every argument handed on: `{ signal }` (abort.ts) is the second.
  const thread = await coreOpenThread.call(this, id, ...rest);
  owners.set(thread, this);
  const state = states.get(this);
  // A thread shared since the list was last fetched: its access is learnt in the background (a
  // thread switch never waits for the relay; until then the relay itself refuses a read-only write).
  if (state?.remote && !state.shared.has(id) && this.status().online && Date.now() - state.fetchedAt > OPEN_REFRESH_MS) {
    refresh(state).catch(() => {});
  }
  return thread;
};

function readOnlyError(id: string): ChatsyncError {
  return new ChatsyncError("forbidden", `thread ${id} is shared with you read-only: writes are refused`);
}

function isReadOnly(store: ChatStore | undefined, id: string): boolean {
  return states.get(store as ChatStore)?.shared.get(id)?.access === "read";
}

// Every write of a Thread: refused for a read-only share, as the relay would refuse it (the write
// never reaches the document, so nothing waits unsynced for an acknowledgement that never comes).
const threadWrites = [
  "appendMessage", "appendPart", "appendDelta", "finishMessage", "updateMessageMetadata", "resetStep",
  "editMessage", "regenerateMessage", "selectBranch", "setTitle", "setSettings", "setFeedback",
  "upsertArtifact", "startToolCall", "setToolCallInput", "finishToolCall", "requestApproval",
  "decideApproval", "setSessionState", "setSummary", "setContext", "removeContext",
] as const;
const prototype = Thread.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of threadWrites) {
  const core = prototype[name];
  if (typeof core !== "function") continue;
  prototype[name] = function (this: Thread, ...args: unknown[]) {
    if (isReadOnly(owners.get(this), this.id)) {
      const error = readOnlyError(this.id);
      // The thread's writes are synchronous (they change the document in memory): this throws too.
      throw error;
    }
    return core.apply(this, args);
  };
}

// The store's writes to one thread's document.
const storeWrites = ["archiveThread", "unarchiveThread"] as const;
const storePrototype = ChatStore.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of storeWrites) {
  const core = storePrototype[name]!;
  storePrototype[name] = function (this: ChatStore, id: unknown, ...rest: unknown[]) {
    if (typeof id === "string" && isReadOnly(this, id)) return Promise.reject(readOnlyError(id));
    return core.call(this, id, ...rest);
  };
}
