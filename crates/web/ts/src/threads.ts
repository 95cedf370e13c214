// `store.threads()`: the thread list as `listThreads()` (no options) last gave it, synchronously, for
// readers that cannot wait (a `useSyncExternalStore` snapshot, a render). It is listed once while the
// store opens, so there is no "not loaded yet" state, and listed again on the store's `threads`
// events, coalesced: however many events come while a listing runs, one more listing follows. The
// array (frozen) and each summary in it keep their identity while their content does not change.
//
// So that an event's listeners read the list it announces, this layer holds each `threads` event
// back until the listing that follows it is in place, and the calls that change the list (creating,
// archiving, trashing, … a thread; `flush`) resolve once `threads()` shows their change.
import { ChatStore } from "./web/chatsync.js";
import type { StoreEvent, ThreadSummary } from "./web/chatsync.js";
import { keepThreadList, listedFor, subscribeListed, threadsOf } from "./thread-list.js";

type Listener = (event: StoreEvent) => void;
const coreOpen = ChatStore.open;
const coreSubscribe = ChatStore.prototype.subscribe;

declare module "./web/chatsync.js" {
  interface ChatStore {
    /**
     * The thread list `listThreads()` (no options: active threads, latest activity first) gave last,
     * synchronously. Listed while `ChatStore.open` runs, so it is current from the moment the store
     * is open: `[]` means no threads, never "not loaded yet". Updated on each `threads` event
     * (listeners of that event, and calls such as `createThread` once resolved, see the new list).
     * The same frozen array until the list changes, and each unchanged summary the same object, so
     * it is a `useSyncExternalStore` snapshot as is. After `close()`, the last list.
     */
    threads(): readonly ThreadSummary[];
  }
}

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  await keepThreadList(store, (listener) => coreSubscribe.call(store, listener));
  return store;
};

ChatStore.prototype.threads = function threads(this: ChatStore) {
  return threadsOf(this);
};

ChatStore.prototype.subscribe = function subscribe(this: ChatStore, callback: Listener) {
  return subscribeListed(this, callback, (listener) => coreSubscribe.call(this, listener));
};

// The calls that change the list: resolved once `threads()` shows the change (their `threads`
// event is emitted before they resolve, so its listing is under way by then).
for (const name of [
  "createThread", "archiveThread", "unarchiveThread", "deleteThread", "restoreThread", "purgeThread",
  "moveThread", "deleteProject", "flush",
] as const) {
  const core = (ChatStore.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
  if (typeof core !== "function") continue;
  Object.defineProperty(ChatStore.prototype, name, {
    configurable: true,
    writable: true,
    value: async function (this: ChatStore, ...args: unknown[]) {
      const result = await core.apply(this, args);
      await listedFor(this);
      return result;
    },
  });
}
