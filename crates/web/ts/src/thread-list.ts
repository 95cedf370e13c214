// The machinery of `store.threads()` (./threads.ts patches it onto the store class; the worker proxy,
// ./worker/store.ts, runs it over the worker's events): the cached list, its coalesced listings,
// `threads` events held until their list is in place. No side effects, so the proxy imports it
// without pulling threads.ts's patches ahead of the others' into a shared chunk of a bundler's.
import type { ChatStore, StoreEvent, ThreadSummary } from "./web/chatsync.js";
import { reuseByKey } from "./reuse.js";

type Listener = (event: StoreEvent) => void;

interface ListCache {
  list: readonly ThreadSummary[];
  /** Subscribers, who get `threads` events from here once the list is current. */
  listeners: Set<Listener>;
  /** `threads` events whose listing has not started yet (`undefined`: the first listing, no event). */
  queued: (StoreEvent | undefined)[];
  /** The listing under way (with any that follow it), if one is. */
  running: Promise<void> | undefined;
  /** Events queued so far, and how many of them the last finished listing covers. */
  seen: number;
  listed: number;
  /** Calls waiting for the listing that covers the events seen when they resolved. */
  waiters: { until: number; resolve: () => void }[];
}

const caches = new WeakMap<ChatStore, ListCache>();
const empty: readonly ThreadSummary[] = Object.freeze([]);

/** The list from `listThreads()`, keeping the previous array and summaries where nothing changed. */
async function relist(store: ChatStore, cache: ListCache): Promise<void> {
  try {
    // Through the instance, so the store's own (or a test's) listThreads is what runs.
    const next = await store.listThreads();
    const list = reuseByKey(cache.list, next, (summary) => summary.id);
    if (list !== cache.list) cache.list = Object.freeze(list);
  } catch {
    // A closed store: the last list stays; the events still reach their listeners.
  }
}

/** Lists again (once, for every event queued meanwhile), then hands the events on. */
function refresh(store: ChatStore, cache: ListCache): Promise<void> {
  cache.running ??= (async () => {
    while (cache.queued.length) {
      const events = cache.queued.splice(0);
      const covers = cache.seen;
      await relist(store, cache);
      cache.listed = covers;
      for (const event of events) {
        if (!event) continue;
        for (const listener of [...cache.listeners]) {
          try {
            listener(event);
          } catch (error) {
            console.error("chatsync: a store listener threw", error);
          }
        }
      }
      const ready = cache.waiters.filter((waiter) => waiter.until <= covers);
      cache.waiters = cache.waiters.filter((waiter) => waiter.until > covers);
      for (const waiter of ready) waiter.resolve();
    }
    cache.running = undefined;
  })();
  return cache.running;
}

/**
 * Keeps `store.threads()` for `store`, whose events `subscribeCore` hands over as they come (the
 * core's for a store in the page; the worker's pushes for a store in a worker, worker/store.ts);
 * resolves once the first listing is in place.
 */
export async function keepThreadList(store: ChatStore, subscribeCore: (listener: Listener) => unknown): Promise<void> {
  const cache: ListCache = { list: empty, listeners: new Set(), queued: [], running: undefined, seen: 0, listed: 0, waiters: [] };
  caches.set(store, cache);
  subscribeCore((event: StoreEvent) => {
    if (event.type === "threads") void queue(store, cache, event);
  });
  void queue(store, cache, undefined);
  await listed(cache);
}

function queue(store: ChatStore, cache: ListCache, event: StoreEvent | undefined): Promise<void> {
  cache.queued.push(event);
  cache.seen += 1;
  return refresh(store, cache);
}

/**
 * Lists again, with no event (what `listThreads` adds changed before anyone could be told: the
 * shared list, set up after the store's first listing); resolves once `threads()` shows it.
 */
export function relisted(store: ChatStore): Promise<void> | undefined {
  const cache = caches.get(store);
  if (!cache) return undefined;
  void queue(store, cache, undefined);
  return listed(cache);
}

/**
 * A `threads` event of the package's own (the shared list changed, share/state.ts): listed, then
 * handed to the store's subscribers, as the core's are. For a store this module does not keep, nothing.
 */
export function announceThreads(store: ChatStore, event: StoreEvent): void {
  const cache = caches.get(store);
  if (cache) void queue(store, cache, event);
}

/**
 * Resolves once a listing covers every `threads` event seen so far — not later ones, so a steady
 * stream of events (a reply streaming into a thread) does not hold the caller up.
 */
export function listedFor(store: ChatStore): Promise<void> | undefined {
  return listed(caches.get(store));
}

function listed(cache: ListCache | undefined): Promise<void> | undefined {
  if (!cache || cache.listed >= cache.seen) return undefined;
  return new Promise((resolve) => cache.waiters.push({ until: cache.seen, resolve }));
}

/**
 * `subscribe` as this layer gives it over `subscribeCore` (see keepThreadList): `threads` events
 * once `threads()` shows their list, the others as they come.
 */
export function subscribeListed(store: ChatStore, callback: Listener, subscribeCore: (listener: Listener) => () => void): () => void {
  const cache = caches.get(store);
  const unsubscribe = subscribeCore((event: StoreEvent) => {
    if (!cache || event.type !== "threads") callback(event);
  });
  // A listener subscribed twice is two subscriptions, as with the core's subscribe.
  const listener: Listener = (event) => callback(event);
  cache?.listeners.add(listener);
  return () => {
    cache?.listeners.delete(listener);
    unsubscribe();
  };
}

/** `store.threads()`: the list kept for `store` (empty for a store this module does not keep). */
export function threadsOf(store: ChatStore): readonly ThreadSummary[] {
  return caches.get(store)?.list ?? empty;
}
