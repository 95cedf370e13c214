// `thread.history()`, `thread.viewAt(version)`, `thread.restore(version, { messageId })` and
// `thread.undo()`: declared on the thread class and added to it here. The work is done by the history
// wasm module (crates/history, in ./engine.js with its own wasm), which the first call loads: an app
// that never looks back never downloads it, and the core wasm stays within its budget.
import { ChatStore, Thread } from "../web/chatsync.js";
import type { ThreadView } from "../web/chatsync.js";
import type { RestoreOptions, ThreadVersion } from "./types.js";

export type { RestoreOptions, ThreadVersion, VersionKind } from "./types.js";

declare module "../web/chatsync.js" {
  interface Thread {
    /**
     * The thread's versions, oldest first (the last one is the thread now): its changes grouped into
     * edits a person would name — a message sent, a reply streamed to its end, a title set, … —
     * each with the time, a {@link VersionKind} and a short summary. Read from the document on this
     * device: works offline. The first call loads the history module.
     */
    history(): Promise<ThreadVersion[]>;
    /** The thread as it was at `version` (from `history()`), in the shape of `view()`. */
    viewAt(version: string): Promise<ThreadView>;
    /**
     * Brings `version` back — the whole thread, or with `messageId` one message — as a new edit on
     * top of the thread as it is: nothing is rewritten (the versions since stay in `history()`), and
     * edits made meanwhile on other devices merge with it, so every device converges.
     */
    restore(version: string, options?: RestoreOptions): Promise<void>;
    /**
     * Undoes this device's last edit: what it touched (a message, the title, a setting, …) goes back
     * to how it was before it, as a new edit; what other devices wrote since stays. Another call
     * undoes the edit before. Resolves to false when this device has made no edit to undo.
     */
    undo(): Promise<boolean>;
  }
}

// The database of the store each thread object belongs to, whose `device` prefix names this
// device's actors (for undo).
const dbNames = new WeakMap<Thread, string>();
const coreOpenThread = ChatStore.prototype.openThread;
const storeDbNames = new WeakMap<ChatStore, string>();
const coreOpen = ChatStore.open;

ChatStore.open = async function open(options) {
  const store = await coreOpen.call(ChatStore, options);
  storeDbNames.set(store, options?.dbName ?? "chatsync");
  return store;
};

ChatStore.prototype.openThread = async function openThread(
  this: ChatStore,
  id: string,
  ...rest: Parameters<ChatStore["openThread"]> extends [string, ...infer R] ? R : never
) {
  // Every argument handed on: `{ signal }` (abort.ts) is the second.
  const thread = await coreOpenThread.call(this, id, ...rest);
  dbNames.set(thread, storeDbNames.get(this) ?? "chatsync");
  return thread;
};

let engine: Promise<typeof import("./engine.js")> | undefined;
// A failed load (a network error fetching the wasm) is not kept: the next call tries again.
const load = () =>
  (engine ??= import("./engine.js").then(async (module) => {
    await module.ready();
    return module;
  }).catch((error) => {
    engine = undefined;
    throw error;
  }));

Thread.prototype.history = async function history(this: Thread) {
  return (await load()).history(this);
};
Thread.prototype.viewAt = async function viewAt(this: Thread, version: string) {
  return (await load()).viewAt(this, version);
};
Thread.prototype.restore = async function restore(this: Thread, version: string, options?: RestoreOptions) {
  return (await load()).restore(this, dbNames.get(this) ?? "chatsync", version, options);
};
Thread.prototype.undo = async function undo(this: Thread) {
  return (await load()).undo(this, dbNames.get(this) ?? "chatsync");
};
