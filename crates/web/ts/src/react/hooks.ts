// The hooks that read a store: each on useSyncExternalStore, each value shared between the
// components that read it (one open Thread per id, one list per set of options) and released a
// moment after the last of them unmounts.
import { useSyncExternalStore } from "react";
import type { ChatStore, ListOptions, StoreEvent, StoreStatus, Thread, ThreadSummary, ThreadView } from "../index.js";
import type { ChatsyncError } from "../errors.js";
import { Shared, SharedMap } from "./shared.js";
import { useChatStore } from "./provider.js";

/** What `useThread` gives: the view once the thread is open, the open `Thread` to write with. */
export interface ThreadState {
  view: ThreadView | undefined;
  /** The open thread (shared: do not close it yourself). */
  thread: Thread | undefined;
  loading: boolean;
  error: ChatsyncError | undefined;
}

/** The fields of issue 14's per-user preferences this hook types; others pass through. */
export interface Preferences {
  preferredModel?: string;
  defaultSystemPrompt?: string;
  responsePreferences?: { [key: string]: unknown };
  enableContextMemory?: boolean;
  maxContextMessages?: number;
  saveConversationHistory?: boolean;
  allowDataTraining?: boolean;
  dailyMessageLimit?: number;
  monthlyTokenLimit?: number;
  [key: string]: unknown;
}

/** What `usePreferences` gives. */
export interface PreferencesState {
  preferences: Preferences | undefined;
  /** False when this chatsync has no `store.preferences()` (it comes with per-user preferences). */
  supported: boolean;
  loading: boolean;
  error: ChatsyncError | undefined;
}

interface ListState {
  threads: readonly ThreadSummary[];
  error: ChatsyncError | undefined;
}

// What later chatsync versions add to the store, used when there.
interface StoreExtras {
  preferences?: () => Preferences | Promise<Preferences>;
}

const noThread: ThreadState = Object.freeze({ view: undefined, thread: undefined, loading: false, error: undefined });
const openingThread: ThreadState = Object.freeze({ ...noThread, loading: true });
const noThreads: ListState = Object.freeze({ threads: Object.freeze([]), error: undefined });

interface StoreCaches {
  threads: SharedMap<string, ThreadState>;
  lists: SharedMap<string, ListState>;
  status: Shared<StoreStatus>;
  preferences: Shared<PreferencesState>;
}
const caches = new WeakMap<ChatStore, StoreCaches>();

function onEvent(store: ChatStore, types: StoreEvent["type"][] | string[], then: () => void): () => void {
  return store.subscribe((event) => {
    if ((types as string[]).includes(event.type)) then();
  });
}

function threadEntry(store: ChatStore, id: string, forget: () => void): Shared<ThreadState> {
  return new Shared<ThreadState>(
    openingThread,
    (shared) => {
      let thread: Thread | undefined;
      let unsubscribe: (() => void) | undefined;
      let stopped = false;
      shared.set(openingThread);
      store.openThread(id).then(
        (opened) => {
          if (stopped) return opened.close();
          thread = opened;
          shared.set({ view: opened.view(), thread: opened, loading: false, error: undefined });
          unsubscribe = opened.subscribe((view) => shared.set({ ...shared.snapshot, view }));
        },
        (error: ChatsyncError) => !stopped && shared.set({ ...noThread, error }),
      );
      return () => {
        stopped = true;
        unsubscribe?.();
        thread?.close();
      };
    },
    forget,
  );
}

// The key of `useThreads()` with no options, which `store.threads()` answers.
const defaultListKey = JSON.stringify({ includeArchived: false });

/** `store.threads()`, synchronous and cached: the same array until the list changes. */
function defaultListEntry(store: ChatStore, forget: () => void): Shared<ListState> {
  const state = (threads: readonly ThreadSummary[]): ListState => ({ threads, error: undefined });
  return new Shared<ListState>(
    state(store.threads()),
    (shared) => {
      // The store hands `threads` events on once `threads()` has the new list.
      const refresh = () => {
        const threads = store.threads();
        if (threads !== shared.snapshot.threads) shared.set(state(threads));
      };
      refresh();
      return onEvent(store, ["threads"], refresh);
    },
    forget,
  );
}

function listEntry(store: ChatStore, key: string, forget: () => void): Shared<ListState> {
  if (key === defaultListKey && typeof store.threads === "function") return defaultListEntry(store, forget);
  const options = JSON.parse(key) as ListOptions;
  return new Shared<ListState>(
    noThreads,
    (shared) => {
      let latest = 0;
      const refresh = () => {
        const asked = ++latest;
        store.listThreads(options).then(
          (threads) => asked === latest && shared.set({ threads: Object.freeze(threads), error: undefined }),
          (error: ChatsyncError) => asked === latest && shared.set({ ...shared.snapshot, error }),
        );
      };
      refresh();
      const stop = onEvent(store, ["threads"], refresh);
      return () => {
        latest = -1;
        stop();
      };
    },
    forget,
  );
}

function preferencesEntry(store: ChatStore): Shared<PreferencesState> {
  // Typed as optional: a store of an older chatsync has no `preferences()`.
  const read = (store as ChatStore & StoreExtras).preferences as StoreExtras["preferences"];
  const unsupported: PreferencesState = { preferences: undefined, supported: false, loading: false, error: undefined };
  return new Shared<PreferencesState>(read ? { ...unsupported, supported: true, loading: true } : unsupported, (shared) => {
    if (!read) return () => {};
    let latest = 0;
    const refresh = () => {
      const asked = ++latest;
      Promise.resolve()
        .then(() => read.call(store))
        .then(
          (preferences) => asked === latest && shared.set({ preferences, supported: true, loading: false, error: undefined }),
          (error: ChatsyncError) => asked === latest && shared.set({ ...shared.snapshot, loading: false, error }),
        );
    };
    refresh();
    const stop = onEvent(store, ["preferences"], refresh);
    return () => {
      latest = -1;
      stop();
    };
  });
}

function cachesOf(store: ChatStore): StoreCaches {
  let found = caches.get(store);
  if (!found) {
    const status = new Shared<StoreStatus>(store.status(), (shared) => {
      shared.set(store.status());
      return onEvent(store, ["status"], () => shared.set(store.status()));
    });
    found = {
      threads: new SharedMap((id, forget) => threadEntry(store, id, forget)),
      lists: new SharedMap((key, forget) => listEntry(store, key, forget)),
      status,
      preferences: preferencesEntry(store),
    };
    caches.set(store, found);
  }
  return found;
}

function useShared<T>(shared: Shared<T>): T {
  return useSyncExternalStore(shared.subscribe, shared.getSnapshot, shared.getSnapshot);
}

const idle = new Shared<ThreadState>(noThread, () => () => {});

/**
 * One thread: `{ view, thread, loading, error }`. Every component asking for the same id shares one
 * open `Thread`, closed a moment after the last of them unmounts. `id` null or undefined: no thread.
 */
export function useThread(id: string | null | undefined): ThreadState {
  const store = useChatStore();
  return useShared(id ? cachesOf(store).threads.get(id) : idle);
}

/**
 * The thread list (`store.listThreads(options)`), kept current by the store's `threads` events.
 * Without options (or `{ includeArchived: false }`) it is `store.threads()`: the list at once, from
 * the first render, the same array until it changes. With options it is empty until the first
 * answer, and a failed listing is thrown, for an error boundary.
 */
export function useThreads(options: ListOptions = {}): readonly ThreadSummary[] {
  const store = useChatStore();
  const key = JSON.stringify({ includeArchived: options.includeArchived ?? false, ...options });
  const state = useShared(cachesOf(store).lists.get(key));
  if (state.error) throw state.error;
  return state.threads;
}

/** `store.status()`, re-rendering on every change (connection, pending changes, persistence). */
export function useStoreStatus(): StoreStatus {
  return useShared(cachesOf(useChatStore()).status);
}

/**
 * The per-user preferences (`store.preferences()`, re-read on the store's `preferences` event).
 * They come with chatsync's per-user preferences: on a store without them, `supported` is false.
 */
export function usePreferences(): PreferencesState {
  return useShared(cachesOf(useChatStore()).preferences);
}
