// The chatsync export format (`format: "chatsync"`), and what an import reports. Versioned: a reader
// of version N reads every version up to N; fields a later version adds (message parts, issue 15) are
// new optional fields, and an export from a newer version than this package knows is refused.
import type {
  Approval, Artifact, ContextEntry, JsonValue, Message, SessionState, ThreadSettings, ThreadStatus,
  TitleSource, ToolCall,
} from "../web/chatsync.js";

/** The version of the export format this package writes, and the newest it reads. */
export const EXPORT_VERSION = 1;

/** `store.exportThread(id)` / `store.exportAll()`: one or more threads, lossless. */
export interface ChatsyncExport {
  format: "chatsync";
  /** {@link EXPORT_VERSION} when written by this package. */
  version: number;
  /** When the export was made, ms since the epoch. */
  exportedAt: number;
  threads: ExportedThread[];
}

/**
 * One thread: its view's fields, but with the messages of every branch (`messages`, parents before
 * children; `activePath` names the ones the view shows) and every approval (decided ones too), and
 * its Automerge document (`automerge`, base64) from which an import makes an exact copy.
 */
export interface ExportedThread {
  id: string;
  schemaVersion: number;
  title: string;
  titleSource: TitleSource;
  status: ThreadStatus;
  projectId?: string;
  createdAt: number;
  updatedAt: number;
  lastMessageAt?: number;
  settings: ThreadSettings;
  /** Every message, on the active branch or not. */
  messages: Message[];
  /** The ids of the messages on the active branch, in order (what `thread.view().messages` holds). */
  activePath: string[];
  artifacts: Artifact[];
  toolCalls: ToolCall[];
  /** Every approval request, pending or decided. */
  approvals: Approval[];
  session?: SessionState & { updatedAt: number };
  context: ContextEntry[];
  /** The thread's Automerge document (`thread.save()`), base64. */
  automerge: string;
}

/** What `store.exportThread` produces for each `format`. */
export interface ExportFormats {
  json: ChatsyncExport;
  markdown: string;
  automerge: Uint8Array;
}
export type ExportFormat = keyof ExportFormats;

/**
 * The formats `store.importThreads` reads: chatsync's own export, ChatGPT's and Claude's
 * `conversations.json`, and a thread's Automerge bytes (`"automerge"`, or `"chatsync"` given bytes).
 */
export type ImportFormat = "chatsync" | "chatgpt" | "claude" | "automerge";

export interface ImportOptions {
  /** The format of `data`; recognised from its shape when omitted. */
  format?: ImportFormat;
}

/** A conversation of the input that was not imported (one with no messages at all). */
export interface ImportSkip {
  reason: string;
  /** Its place in the input (0-based). */
  index: number;
  /** Its id in the source app, when it has one. */
  sourceId?: string;
  title?: string;
}

/** What of one imported conversation could not be carried over. */
export interface ImportLoss {
  /** The new thread it became. */
  threadId: string;
  index: number;
  sourceId?: string;
  title?: string;
  /** One line for each kind of thing left out, e.g. `2 images (image_asset_pointer)`. */
  items: string[];
}

/**
 * `store.importThreads()`'s answer. Every import makes new threads with new ids: importing the same
 * data twice makes two copies, and never changes a thread already in the store.
 */
export interface ImportResult {
  /** The new threads' ids, in the input's order. */
  imported: string[];
  skipped: ImportSkip[];
  /** Per imported conversation, what could not be carried over (conversations that lost nothing are absent). */
  lost: ImportLoss[];
}

/** The metadata an imported message carries about where it came from (under `metadata.import`). */
export interface ImportedFrom {
  source: "chatgpt" | "claude";
  /** The message's id there. */
  id: string;
  /** When it was written there, ms since the epoch (the message's own `createdAt` is the import's time). */
  createdAt?: number;
  [key: string]: JsonValue | undefined;
}
