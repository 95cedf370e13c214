// ChatStoreProvider and useChatStore: one open store per `dbName` in the page, however many providers
// name it and however often React runs their effects; closed a moment after the last one unmounts.
import { createContext, createElement, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { ChatStore, StoreOptions } from "../index.js";

/** How the provider opens a store; the default imports chatsync/bundler (which loads the wasm). */
export type OpenStore = (options: StoreOptions) => Promise<ChatStore>;

export interface ChatStoreProviderProps extends StoreOptions {
  /** The store's options as one object (the props of the same names win). */
  options?: StoreOptions;
  /**
   * A store you opened yourself: the provider hands it out and never closes it. Without it, the
   * provider opens one from the other props (they are read when the store for `dbName` is opened;
   * to replace the token later, call `store.setToken()`).
   */
  store?: ChatStore;
  /** Opens the store (default: `ChatStore.open` of chatsync/bundler). */
  open?: OpenStore;
  /** Shown until the store is open. */
  fallback?: ReactNode;
  children?: ReactNode;
}

interface Opened {
  promise: Promise<ChatStore>;
  users: number;
  closeTimer?: ReturnType<typeof setTimeout>;
}

const defaultOpen: OpenStore = async (options) => (await import("../bundler/chatsync.js")).ChatStore.open(options);
const opened = new Map<string, Opened>();

function acquire(dbName: string, options: StoreOptions, open: OpenStore): Opened {
  let entry = opened.get(dbName);
  if (!entry) {
    entry = { promise: open(options), users: 0 };
    opened.set(dbName, entry);
    const failed = entry;
    // A store that failed to open is not kept: the next provider tries again.
    entry.promise.catch(() => opened.get(dbName) === failed && opened.delete(dbName));
  }
  clearTimeout(entry.closeTimer);
  entry.users += 1;
  return entry;
}

function release(dbName: string, entry: Opened): void {
  entry.users -= 1;
  if (entry.users > 0) return;
  clearTimeout(entry.closeTimer);
  entry.closeTimer = setTimeout(() => {
    if (entry.users > 0 || opened.get(dbName) !== entry) return;
    opened.delete(dbName);
    entry.promise.then((store) => store.close()).catch(() => {});
  }, 0);
}

interface Context {
  store?: ChatStore;
  error?: unknown;
}
const StoreContext = createContext<Context | undefined>(undefined);

/**
 * Opens the store named by `dbName` (default "chatsync") and gives it to `useChatStore()` below.
 * Children render once it is open (`fallback` until then); if opening fails, `useChatStore()` throws
 * the error, for an error boundary.
 */
export function ChatStoreProvider(props: ChatStoreProviderProps): ReactNode {
  const { store: given, open = defaultOpen, fallback = null, children, options: grouped, ...flat } = props;
  // Props left undefined do not override `options` (nor reach the store, which refuses what it does not know).
  const defined = Object.fromEntries(Object.entries(flat).filter(([, value]) => value !== undefined));
  const { persist, ...storeOptions }: StoreOptions = { ...grouped, ...defined };
  const dbName = storeOptions.dbName ?? "chatsync";
  const [state, setState] = useState<Context & { dbName?: string }>({});
  useEffect(() => {
    if (given) return;
    const options: StoreOptions = { ...storeOptions, dbName };
    if (persist !== undefined) options.persist = persist;
    const entry = acquire(dbName, options, open);
    let live = true;
    entry.promise.then(
      (store) => live && setState({ store, dbName }),
      (error: unknown) => live && setState({ error, dbName }),
    );
    return () => {
      live = false;
      release(dbName, entry);
    };
    // The store is keyed by its name alone: other options apply when it is opened.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [given, dbName]);
  // One context value per store, so consumers re-render only when the store changes.
  const current = useMemo<Context>(() => (given ? { store: given } : state.dbName === dbName ? state : {}), [given, state, dbName]);
  if (!current.store && current.error === undefined) return fallback;
  return createElement(StoreContext.Provider, { value: current }, children);
}

/** The store of the nearest `ChatStoreProvider`. */
export function useChatStore(): ChatStore {
  const context = useContext(StoreContext);
  if (!context) throw new Error("useChatStore() needs a <ChatStoreProvider> above it");
  if (context.error !== undefined) throw context.error;
  return context.store!;
}
