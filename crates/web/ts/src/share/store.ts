// Sharing, added to `ChatStore` here in plain TypeScript (no wasm): `shareThread`, `unshareThread`,
// `createShareLink` (and `revokeShareLink`, `listShares`) call the relay's HTTP API with the store's
// own relay URL and token; `listThreads()` adds the threads others shared with this user, each with
// `sharedBy` and `access`, from a copy kept in localStorage so the list shows them offline too; and
// the writes of a `Thread` shared read-only are refused here (`forbidden`), before the relay would.
// Opening a shared thread is the core's `openThread`: an id this device lacks is fetched from the
// relay, which serves it to its grantees as to its owner.
import { ChatStore, Thread } from "../web/chatsync.js";
import type { ListOptions, StoreOptions, ThreadSummary } from "../web/chatsync.js";
import { ChatsyncError, type ChatsyncErrorCode } from "../errors.js";

/** What a grantee may do with a shared thread. */
export type ShareAccess = "read" | "write";

/** One grant of a thread (`store.shareThread`, `store.listShares`). */
export interface ThreadShare {
  threadId: string;
  userId: string;
  sharedBy: string;
  access: ShareAccess;
  /** When it was granted, ms since the epoch. */
  sharedAt: number;
}

/** A read-only share link (`store.createShareLink`): a capability token for one thread. */
export interface ShareLink {
  linkId: string;
  threadId: string;
  /**
   * The capability: whoever holds it reads the thread with `POST /api/query` `{ path: "threads:get",
   * args: { threadId } }` and `Authorization: Bearer <token>`, until it expires or is revoked.
   */
  token: string;
  access: "read";
  /** When it stops working, ms since the epoch; absent: until revoked. */
  expiresAt?: number;
}

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

type TokenSource = StoreOptions["token"];
interface Sharing {
  /** The relay's HTTP base (`http://host:port`), from `relayUrl`; none for a local-only store. */
  base?: string;
  token: TokenSource;
  /** Where the shared list is kept for offline use. */
  cacheKey: string;
  shared: Map<string, ThreadSummary>;
  fetchedAt: number;
  refreshing?: Promise<void>;
}
const sharing = new WeakMap<ChatStore, Sharing>();

/** How long a shared list fetched from the relay is used before `listThreads` asks again. */
const FRESH_MS = 500;
/** How long `listThreads` waits for the relay before answering from the cached list. */
const LIST_WAIT_MS = 1_500;

/** `ws://host:port/sync` → `http://host:port` (the HTTP API sits beside `/sync`). */
function httpBase(relayUrl: string | undefined): string | undefined {
  if (!relayUrl) return undefined;
  try {
    const url = new URL(relayUrl);
    url.protocol = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    const path = url.pathname.replace(/\/sync\/?$/, "").replace(/\/$/, "");
    return `${url.origin}${path}`;
  } catch {
    return undefined;
  }
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

const codes: Record<string, ChatsyncErrorCode> = {
  forbidden: "forbidden", not_found: "not_found", invalid_input: "invalid_input",
  unauthorized: "unauthorized", purged: "purged",
};

async function currentToken(token: TokenSource): Promise<string> {
  const value = typeof token === "function" ? await token() : token;
  if (typeof value !== "string") throw new ChatsyncError("token", "the store's token source gave no token");
  return value;
}

/** One call of the relay's HTTP API as this store's user; its `value`, or a `ChatsyncError`. */
async function call(store: ChatStore, kind: "mutation" | "query", path: string, args: object): Promise<any> {
  const state = sharing.get(store);
  if (!state?.base) {
    throw new ChatsyncError("offline", "sharing needs the relay, and this store has no relayUrl");
  }
  const token = await currentToken(state.token);
  let response: Response;
  try {
    response = await fetch(`${state.base}/api/${kind}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ path, args }),
    });
  } catch (cause) {
    throw new ChatsyncError("offline", `the relay could not be reached for ${path}`, { cause });
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = codes[body?.code] ?? (response.status >= 500 ? "offline" : "invalid_input");
    throw new ChatsyncError(code, typeof body?.message === "string" ? body.message : `${path} failed (${response.status})`);
  }
  return body.value;
}

/** Asks the relay for the threads shared with this user, and keeps the answer. */
function refresh(store: ChatStore, state: Sharing): Promise<void> {
  state.refreshing ??= call(store, "query", "threads:listShared", {})
    .then((list: ThreadSummary[]) => {
      state.shared = new Map(list.map((s) => [s.id, s]));
      state.fetchedAt = Date.now();
      writeCache(state.cacheKey, state.shared);
    })
    .finally(() => {
      state.refreshing = undefined;
    });
  return state.refreshing;
}

/** The shared list, fresh from the relay when it answers soon enough, else as last kept. */
async function sharedList(store: ChatStore): Promise<Map<string, ThreadSummary>> {
  const state = sharing.get(store);
  if (!state) return new Map();
  const online = store.status().online;
  if (state.base && online && Date.now() - state.fetchedAt > FRESH_MS) {
    const waited = new Promise<void>((resolve) => setTimeout(resolve, LIST_WAIT_MS));
    await Promise.race([refresh(store, state).catch(() => {}), waited]);
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

function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || id === "") throw new ChatsyncError("invalid_input", `${what} must be a non-empty string`);
}

const coreOpen = ChatStore.open;
const coreList = ChatStore.prototype.listThreads;

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  const cacheKey = `chatsync.shared.${options?.dbName ?? "chatsync"}`;
  sharing.set(store, {
    base: httpBase(options?.relayUrl ?? options?.relayUrls?.[0]),
    token: options?.token,
    cacheKey,
    shared: readCache(cacheKey),
    fetchedAt: 0,
  });
  return store;
};

const coreSetToken = ChatStore.prototype.setToken;
ChatStore.prototype.setToken = function setToken(this: ChatStore, token) {
  coreSetToken.call(this, token);
  const state = sharing.get(this);
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

ChatStore.prototype.shareThread = async function shareThread(this: ChatStore, id, userId, access) {
  checkId(id, "the thread id");
  checkId(userId, "userId");
  if (access !== "read" && access !== "write") {
    throw new ChatsyncError("invalid_input", `access must be "read" or "write", not ${JSON.stringify(access)}`);
  }
  await settled(this);
  return call(this, "mutation", "threads:share", { threadId: id, userId, access });
};

ChatStore.prototype.unshareThread = async function unshareThread(this: ChatStore, id, userId) {
  checkId(id, "the thread id");
  checkId(userId, "userId");
  await call(this, "mutation", "threads:unshare", { threadId: id, userId });
};

ChatStore.prototype.listShares = async function listShares(this: ChatStore, id) {
  checkId(id, "the thread id");
  return call(this, "query", "threads:shares", { threadId: id });
};

ChatStore.prototype.createShareLink = async function createShareLink(this: ChatStore, id, options) {
  checkId(id, "the thread id");
  const at = options?.expiresAt;
  const expiresAt = at instanceof Date ? at.getTime() : at;
  if (expiresAt !== undefined && !(typeof expiresAt === "number" && Number.isFinite(expiresAt))) {
    throw new ChatsyncError("invalid_input", "expiresAt must be a Date or a time in ms since the epoch");
  }
  await settled(this);
  const link = await call(this, "mutation", "threads:createShareLink", expiresAt === undefined ? { threadId: id } : { threadId: id, expiresAt });
  if (link.expiresAt === null) delete link.expiresAt;
  return link as ShareLink;
};

ChatStore.prototype.revokeShareLink = async function revokeShareLink(this: ChatStore, linkId) {
  checkId(linkId, "linkId");
  await call(this, "mutation", "threads:revokeShareLink", { linkId });
};

// Which store each open Thread came from, so its writes can be checked against the shared list.
const owners = new WeakMap<Thread, ChatStore>();
const coreOpenThread = ChatStore.prototype.openThread;
ChatStore.prototype.openThread = async function openThread(this: ChatStore, id: string) {
  const thread = await coreOpenThread.call(this, id);
  owners.set(thread, this);
  const state = sharing.get(this);
  // A thread shared since the list was last fetched: learn its access before the first write.
  if (state?.base && !state.shared.has(id) && this.status().online) {
    await Promise.race([refresh(this, state).catch(() => {}), new Promise((r) => setTimeout(r, LIST_WAIT_MS))]);
  }
  return thread;
};

function readOnlyError(id: string): ChatsyncError {
  return new ChatsyncError("forbidden", `thread ${id} is shared with you read-only: writes are refused`);
}

function isReadOnly(store: ChatStore | undefined, id: string): boolean {
  return sharing.get(store as ChatStore)?.shared.get(id)?.access === "read";
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
