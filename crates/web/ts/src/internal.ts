// Not API: what the package's own tests and benchmarks read of a store's insides — the search
// index's counters, which resources the store's context has fetched (whether a module loaded on
// first use), how many threads the store has opened — wherever the store runs. A store in the page
// answers here (index.ts installs the method); the proxy of a store in a worker forwards the request
// to the worker (worker/store.ts), whose real store answers with this same function
// (worker/server.ts). Reached only through `store[Symbol.for("chatsync.internal")](request)`, which
// is in no type of the package. No side effects, so the worker proxy may import it.
import type { ChatStore } from "./web/chatsync.js";
import { ChatsyncError } from "./errors.js";

/** The method's key on a store (ChatStore's, and the worker proxy's). */
export const INTERNAL = Symbol.for("chatsync.internal");

/**
 * - `searchStats`: the search index's counters (`undefined` before the first search), a copy;
 * - `resources`: the URLs the store's context (this page, or the store's worker) has fetched (a
 *   worker's timeline lists what it fetched, not the modules it imported);
 * - `modules`: which of the package's modules loaded on first use (`"search"`, `"history"`) have
 *   run in the store's context (each says so when it runs, `noteModule`);
 * - `countOpens`: counts the store's `openThread` calls from now on (from 0 again if it was
 *   counting) — the index's reads of threads, which open them, and the app's (or every tab's, for a
 *   store in a SharedWorker);
 * - `opens`: that count;
 * - `workerThreads`, `warmUps` (a store in a worker only): how many threads the page has open in
 *   the worker; the threads its warm-up asked the worker to open, and opened (`{ asked, ran }`,
 *   worker/store.ts `warmUp`).
 */
export type InternalRequest = "searchStats" | "resources" | "modules" | "countOpens" | "opens" | "workerThreads" | "warmUps";

const modules = new Set<string>();

/** Called by a module loaded on first use when it runs (see `modules`). */
export function noteModule(name: string): void {
  modules.add(name);
}

const opens = new WeakMap<ChatStore, { count: number }>();

/** The answer to `request` about `store`, a store of this context (not a worker's proxy). */
export function answerInternal(store: ChatStore, request: InternalRequest): unknown {
  switch (request) {
    case "searchStats": {
      const stats = (store as unknown as Record<symbol, object | undefined>)[Symbol.for("chatsync.searchStats")];
      return stats === undefined ? undefined : { ...stats };
    }
    case "resources":
      return globalThis.performance?.getEntriesByType("resource").map((entry) => entry.name) ?? [];
    case "modules":
      return [...modules];
    case "countOpens": {
      const counting = opens.get(store);
      if (counting) {
        counting.count = 0;
        return undefined;
      }
      const counter = { count: 0 };
      opens.set(store, counter);
      // On the instance, as the index calls it (`this.store.openThread`): every caller is counted.
      const open = store.openThread.bind(store);
      store.openThread = ((...args: Parameters<ChatStore["openThread"]>) => {
        counter.count += 1;
        return open(...args);
      }) as ChatStore["openThread"];
      return undefined;
    }
    case "opens":
      return opens.get(store)?.count;
    default:
      throw new ChatsyncError("invalid_input", `no internal request ${JSON.stringify(request)}`);
  }
}
