// The public types of `store.search` (no MiniSearch types in them: the package's .d.ts stands alone).
import type { Role } from "../web/chatsync.js";
import type { Highlight } from "./snippet.js";

export type { Highlight };

/** What `store.search(query, options)` looks through. */
export interface SearchOptions {
  /** Only threads of this project. */
  projectId?: string;
  /** Only messages of this role (titles and artifacts have none, so they are left out). */
  role?: Role;
  /** Only what was created at or after this time (ms since the epoch): a message's `createdAt`. */
  from?: number;
  /** Only what was created at or before this time (ms since the epoch). */
  to?: number;
  /** Archived threads too. Default false. */
  includeArchived?: boolean;
  /** At most this many results (default 20, at most 1000). */
  limit?: number;
}

/** What matched: a thread's title, one of its messages, or one of its artifacts. */
export type SearchResultKind = "title" | "message" | "artifact";

/** One result of `store.search`: best first. */
export interface SearchResult {
  threadId: string;
  /** The message that matched; for an artifact, the message it belongs to (if any); absent for a title. */
  messageId?: string;
  /** The artifact that matched (`kind: "artifact"`). */
  artifactId?: string;
  kind: SearchResultKind;
  /** The thread's title. */
  title: string;
  /** The message's role (`kind: "message"`). */
  role?: Role;
  /** When the message (artifact, thread) was created, ms since the epoch. */
  createdAt: number;
  /**
   * Plain text around the first match (at most ~200 characters, `…` where it was cut, whitespace as
   * single spaces). Not HTML: render it as text and mark up `highlights`.
   */
  snippet: string;
  /** The ranges of `snippet` that matched, `[start, end)` in UTF-16 offsets, in order, not overlapping. */
  highlights: Highlight[];
  /** Relevance (BM25; higher is better), comparable within one search only. */
  score: number;
}
