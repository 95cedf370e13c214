// `store.search(query, options)`: added to the store class here, as the package's index.ts adds
// persistent storage, while the index itself (MiniSearch, the tokenizer, IndexedDB) is in
// ./engine.js, which the first search imports: a store that never searches never loads it.
import { ChatStore } from "../web/chatsync.js";
import type { SearchIndex } from "./engine.js";
import type { SearchOptions, SearchResult } from "./types.js";

export type { Highlight, SearchOptions, SearchResult, SearchResultKind } from "./types.js";

declare module "../web/chatsync.js" {
  interface ChatStore {
    /**
     * Searches every thread of this store offline: titles, the messages of each thread's active
     * path (streamed replies as they stream) and artifacts. Prefix matching (`caf` finds `café`),
     * accents and case folded, CJK text by character bigrams; every word of the query must match.
     * Best first; archived threads only with `includeArchived`. The first call loads the index
     * (from IndexedDB, or built from the documents); later ones answer from memory.
     */
    search(query: string, options?: SearchOptions): Promise<SearchResult[]>;
  }
}

// Each store's database name (the index's database is named after it) and its index, once loaded.
const dbNames = new WeakMap<ChatStore, string>();
const indexes = new WeakMap<ChatStore, Promise<SearchIndex>>();

const coreOpen = ChatStore.open;
const coreClose = ChatStore.prototype.close;

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  dbNames.set(store, options?.dbName ?? "chatsync");
  return store;
};

// The module with the index, imported once.
let engine: Promise<typeof import("./engine.js")> | undefined;
const loadEngine = () => (engine ??= import("./engine.js"));

/** The store's index, loading it (and the module) on first use. */
function searchIndex(store: ChatStore): Promise<SearchIndex> {
  let index = indexes.get(store);
  if (!index) {
    index = loadEngine().then(async ({ SearchIndex }) => {
      const loaded = await SearchIndex.open(store, dbNames.get(store) ?? "chatsync");
      stats.set(store, loaded.stats);
      return loaded;
    });
    // A failed load (the store closed meanwhile) is not kept: the next search tries again.
    index.catch(() => {
      if (indexes.get(store) === index) indexes.delete(store);
    });
    indexes.set(store, index);
  }
  return index;
}

ChatStore.prototype.search = async function search(this: ChatStore, query: string, options?: SearchOptions) {
  const { checkSearchArgs } = await loadEngine();
  checkSearchArgs(query, options);
  const index = await searchIndex(this);
  return index.search(query, options);
};

// The index's counters (threads read, documents indexed, rebuilt or not, saves) for tests and the
// benchmark: `store[Symbol.for("chatsync.searchStats")]`, undefined until the first search. Not API.
Object.defineProperty(ChatStore.prototype, Symbol.for("chatsync.searchStats"), {
  get(this: ChatStore) {
    return stats.get(this);
  },
});
const stats = new WeakMap<ChatStore, SearchIndex["stats"]>();

ChatStore.prototype.close = async function close(this: ChatStore) {
  const index = indexes.get(this);
  indexes.delete(this);
  // The index saves what it has not saved yet, and stops following the store.
  if (index) await index.then((i) => i.close(), () => {});
  return coreClose.call(this);
};
