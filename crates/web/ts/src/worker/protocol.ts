// The messages between a page and the store's worker (./worker.ts). One connection per page (a
// SharedWorker port, or a dedicated Worker), many stores and threads on it, each named by a number
// the page chose. Everything here is structured-clone data: no functions, no class instances.
import type { Approval, Message, StoreEvent, StoreStatus, ThreadSummary, ThreadView } from "../web/chatsync.js";

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

/**
 * What `thread.fullView()` has beyond `view()`, as the worker last read it: every message's id in
 * the thread's order (parents first), the messages off the active branch, and every approval
 * request, decided ones too. The page builds the full view from these and its view.
 */
export interface FullExtras {
  order: string[];
  others: Message[];
  approvals: Approval[];
}

/** `openThread`'s answer on the page, its chunks joined (see `opened`). */
export interface OpenedThread {
  view: ThreadView;
  summary?: ThreadSummary;
  full?: FullExtras;
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

/** What the worker sends. */
export type FromWorker =
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: WireError }
  /**
   * `openThread`'s answer carries the thread's first view; the `chunk`s before it carry its first
   * messages, in order. A short thread's summary and full-view extras come with it (its document is
   * quick to read); a long one's follow in a `view`, once the worker has read its document.
   */
  | { t: "chunk"; id: number; messages: Message[] }
  | { t: "opened"; id: number; view: ThreadView; summary?: ThreadSummary; full?: FullExtras }
  | { t: "event"; store: number; event: StoreEvent }
  | { t: "mirror"; store: number; mirror: StoreMirror }
  /** A thread's view changed; `acked` is how many `ops` messages the worker had run by then. */
  | { t: "view"; thread: number; patch: ViewPatch; acked: number; summary?: ThreadSummary; full?: FullExtras }
  /** A batched write failed: reported as the store's `error` event, with this error. */
  | { t: "opError"; store: number; error: WireError; threadId?: string }
  /** The store asks the page for a relay token (its `token` was a function). */
  | { t: "token"; id: number; store: number };

/** The `token` option as it crosses: a string, or a note that the page has a function. */
export type WireToken = string | { fn: true };
