// The messages between a page and the store's worker (./worker.ts). One connection per page (a
// SharedWorker port, or a dedicated Worker), many stores and threads on it, each named by a number
// the page chose. Everything here is structured-clone data: no functions, no class instances.
import type { Message, StoreEvent, StoreStatus, ThreadSummary, ThreadView } from "../web/chatsync.js";

/** An error as it crosses: rebuilt on the page as an `Error` with this `code` (see client.ts). */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** A write of a thread's synchronous methods, sent in batches (`ops`). */
export interface ThreadOp {
  thread: number;
  method: string;
  args: unknown[];
  /**
   * editMessage / regenerateMessage: the id the page returned at once. The core picks the new
   * message's id itself, so the worker keeps this name for it (see `Aliases` in worker/server.ts).
   */
  alias?: string;
}

/** One store's writes in an `ops` message. */
export interface OpBatch {
  store: number;
  ops: ThreadOp[];
  storeOps: { method: string; args: unknown[] }[];
}

/** What the page sends. */
export type ToWorker =
  /** The page's tab id: the worker waits on the Web Lock of that name to learn the tab is gone. */
  | { t: "hello"; tab: string }
  /**
   * A store method that returns a promise (and `open`, `openThread`, `close`): answered by `reply`.
   * With `thread` (but `openThread`), a promise-returning method of that open thread (`history`, …).
   */
  | { t: "call"; id: number; store: number; method: string; args: unknown[]; thread?: number }
  /**
   * Synchronous methods with side effects, in the order they were called, per store. The worker
   * counts these messages: a `view` says how many it had run (`acked`).
   */
  | { t: "ops"; batches: OpBatch[] }
  /** The answer to a `token` request. */
  | { t: "token"; id: number; ok: boolean; value?: string; error?: WireError };

/**
 * A thread's new view as a change of the last one sent: `keep` messages at the start and `tail` at
 * the end are the page's own objects, `messages` replace what is between; `fields` are the other
 * fields that changed (`removed` those that went).
 */
export interface ViewPatch {
  keep: number;
  tail: number;
  messages: Message[];
  fields: Partial<ThreadView>;
  removed: string[];
}

/** The store's synchronous reads, mirrored on the page (pushed after each change). */
export interface StoreMirror {
  status: StoreStatus;
  preferences: ReturnType<import("../web/chatsync.js").ChatStore["preferences"]>;
  profile: ReturnType<import("../web/chatsync.js").ChatStore["profile"]>;
  usage: ReturnType<import("../web/chatsync.js").ChatStore["usage"]>;
  /** `listProjects({ includeArchived: true })`. */
  projects: ReturnType<import("../web/chatsync.js").ChatStore["listProjects"]>;
}

/** `open`'s answer: the mirror, and the thread list as the worker's `store.threads()` has it. */
export interface OpenReply extends StoreMirror {
  threads: readonly ThreadSummary[];
}

/** What the worker sends. */
export type FromWorker =
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: WireError }
  /**
   * `openThread`'s answer carries the thread's first view (its summary follows in a `view`); the
   * `chunk`s before it carry its first messages, in order.
   */
  | { t: "chunk"; id: number; messages: Message[] }
  | { t: "opened"; id: number; view: ThreadView }
  /**
   * A store event; a `threads` event carries the worker's `store.threads()` when it is not the
   * list this page was sent last (the worker holds the event until its list is current).
   */
  | { t: "event"; store: number; event: StoreEvent; threads?: readonly ThreadSummary[] }
  | { t: "mirror"; store: number; mirror: StoreMirror }
  /** A thread's view changed; `acked` is how many `ops` messages the worker had run by then. */
  | { t: "view"; thread: number; patch: ViewPatch; acked: number; summary?: ThreadSummary }
  /** A batched write failed: reported as the store's `error` event, with this error. */
  | { t: "opError"; store: number; error: WireError; threadId?: string }
  /** The store asks the page for a relay token (its `token` was a function). */
  | { t: "token"; id: number; store: number };

/** The `token` option as it crosses: a string, or a note that the page has a function. */
export type WireToken = string | { fn: true };
