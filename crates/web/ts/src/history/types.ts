// The types of thread.history() and its companions (./install.ts declares the methods).

/**
 * What the edit that made a version was: `"created"` (the thread), `"message"` (a user, system or
 * tool message sent), `"reply"` (an assistant reply, streamed to its end: one version for all its
 * deltas), `"edit"` (a message edited into a sibling branch), `"regenerate"` (a reply regenerated),
 * `"branch"` (another branch chosen), `"title"`, `"settings"`, `"artifact"`, `"tool"` (a tool call
 * outside a reply), `"approval"`, `"feedback"`, `"session"` (agent session state), `"context"`,
 * `"status"` (archived, unarchived, deleted), `"restore"` (`thread.restore`), `"undo"`
 * (`thread.undo`), `"other"`.
 */
export type VersionKind =
  | "created" | "message" | "reply" | "edit" | "regenerate" | "branch" | "title" | "settings"
  | "artifact" | "tool" | "approval" | "feedback" | "session" | "context" | "status" | "restore"
  | "undo" | "other";

/** One version of a thread: an edit a person would name, and the thread as it was right after it. */
export interface ThreadVersion {
  /** Opaque: pass it to `thread.viewAt` or `thread.restore`. The same on every device. */
  version: string;
  /** When the edit was made (its last change), ms since the epoch. */
  at: number;
  kind: VersionKind;
  /** The edit in a few words, e.g. `Reply "A conflict-free replicated data type."`. */
  summary: string;
}

/** What `thread.restore` brings back: the whole thread (the default), or one message. */
export interface RestoreOptions {
  /** Restore only this message (its content, parts, status, feedback, metadata). */
  messageId?: string;
}
