// `AbortSignal` on the store's long calls: `store.sync({ signal })` and `store.openThread(id,
// { signal })`. The core's calls cannot be stopped midway, so aborting stops the waiting: the call
// rejects at once, and what it was doing ends unseen — sync keeps sending to the relay, and a thread
// opened after the abort is closed again as soon as it opens, so the next `openThread` of that id
// works as ever.
//
// The rejection is a ChatsyncError (`instanceof ChatsyncError`, as every error of chatsync) with code
// `aborted`, named "AbortError" as the platform's abort errors are (fetch's, the AI SDK's checks
// `error.name === "AbortError"`), and `cause` the signal's reason.
import { ChatStore } from "./web/chatsync.js";
import type { SyncReport, Thread } from "./web/chatsync.js";
import { abortable, signalOf } from "./signals.js";

/** `store.sync(options)`. */
export interface SyncOptions {
  /** Aborting it rejects the call at once (code `aborted`); the changes still go to the relay. */
  signal?: AbortSignal;
}

/** `store.openThread(id, options)`. */
export interface OpenThreadOptions {
  /** Aborting it rejects the call at once (code `aborted`); the thread is not left open. */
  signal?: AbortSignal;
}

declare module "./web/chatsync.js" {
  interface ChatStore {
    /**
     * Resolves once the relay has acknowledged every local change; rejects with `offline` when the
     * relay is not reachable or does not answer in 15 s, with `aborted` (at once) when `signal` aborts.
     */
    sync(options?: SyncOptions): Promise<SyncReport>;
    /**
     * Opens a thread; with `signal`, rejects with `aborted` at once when it aborts (or had already),
     * and the thread opened meanwhile is closed.
     */
    openThread(id: string, options?: OpenThreadOptions): Promise<Thread>;
  }
}

const coreSync = ChatStore.prototype.sync;
const coreOpenThread = ChatStore.prototype.openThread;

ChatStore.prototype.sync = function sync(this: ChatStore, options?: SyncOptions) {
  let signal: AbortSignal | undefined;
  try {
    signal = signalOf(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return abortable(signal, "sync", () => coreSync.call(this), () => {});
};

ChatStore.prototype.openThread = function openThread(this: ChatStore, id: string, options?: OpenThreadOptions) {
  let signal: AbortSignal | undefined;
  try {
    signal = signalOf(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return abortable(signal, `opening thread ${id}`, () => coreOpenThread.call(this, id), (thread) => thread.close());
};
