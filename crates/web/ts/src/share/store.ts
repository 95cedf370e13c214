// Sharing, added to `ChatStore` here in plain TypeScript (no wasm): `shareThread`, `unshareThread`,
// `createShareLink` (and `revokeShareLink`, `listShares`) call the relay's HTTP API (./client.ts)
// with the store's own relay URL and token; `listThreads()` adds the threads others shared with
// this user, each with `sharedBy` and `access`, from a copy kept in localStorage so the list shows
// them offline too; and the writes of a `Thread` shared read-only are refused here (`forbidden`), before the relay would.
// Opening a shared thread is the core's `openThread`: an id this device lacks is fetched from the
// relay, which serves it to its grantees as to its owner. What is kept per store is ./state.ts's,
// which the worker's page proxy (worker/store.ts) uses the same way.
import { ChatStore, Thread } from "../web/chatsync.js";
import type { ListOptions } from "../web/chatsync.js";
import { announceThreads, relisted } from "../thread-list.js";
import type { TokenSource } from "./client.js";
import {
  attachSharing, closeSharing, openedThread, refuseReadOnly, relayOf, settled, STORE_WRITES, THREAD_WRITES, withShared,
} from "./state.js";

export type { ShareAccess, ShareLink, ThreadShare } from "./client.js";
import type { ShareAccess, ShareLink, ThreadShare } from "./client.js";

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

/** The token each in-page store has now (`setToken` replaces it); a function's called per request. */
const tokens = new WeakMap<ChatStore, TokenSource>();

const coreOpen = ChatStore.open;
const coreList = ChatStore.prototype.listThreads;

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  tokens.set(store, options?.token);
  const kept = attachSharing(store, {
    relayUrl: options?.relayUrl ?? options?.relayUrls?.[0],
    dbName: options?.dbName,
    token: () => {
      const token = tokens.get(store);
      return (typeof token === "function" ? token() : token) as string;
    },
    // Through the thread list (threads.ts), so `threads()` shows the change to the event's listeners.
    notify: (event) => announceThreads(store, event),
  });
  // The store's first listing (threads.ts, inside this open) ran before the shared list was here:
  // `threads()` shows the threads kept from before once open resolves, as a worker's proxy does.
  if (kept) await relisted(store);
  return store;
};

const coreClose = ChatStore.prototype.close;
ChatStore.prototype.close = function close(this: ChatStore) {
  closeSharing(this);
  return coreClose.call(this);
};

const coreSetToken = ChatStore.prototype.setToken;
ChatStore.prototype.setToken = function setToken(this: ChatStore, token) {
  coreSetToken.call(this, token);
  tokens.set(this, token);
};

ChatStore.prototype.listThreads = async function listThreads(this: ChatStore, options?: ListOptions) {
  return withShared(this, coreList.call(this, options), options);
};

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
  openedThread(this, id);
  return thread;
};

// The thread's writes are synchronous (they change the document in memory): a refused one throws.
refuseReadOnly(Thread.prototype, THREAD_WRITES, (thread: Thread) => ({ store: owners.get(thread), id: thread.id }), (error) => {
  throw error;
});
refuseReadOnly(ChatStore.prototype, STORE_WRITES, (_store: ChatStore, args) => ({ store: _store, id: args[0] }),
  (error) => Promise.reject(error));
