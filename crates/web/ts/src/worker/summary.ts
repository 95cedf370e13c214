// A thread's summary and derived title as the page can tell them from its view. The worker's
// summary reads the document and follows each change (server.ts `extrasLater`): until it comes,
// `summary()` must already count the page's own appends, as the in-page store's does.
import type { ThreadSummary, ThreadView } from "../web/chatsync.js";

// As crates/model/src/title.rs.
const DEFAULT_TITLE = "New conversation";
const MAX_DERIVED_TITLE_CHARS = 60;
const MAX_PREVIEW_CHARS = 120;

/**
 * As the core's `collapse`: whitespace runs become one space, the ends are trimmed, and a text
 * longer than `max` characters (code points) is cut to `max`, ending in "…".
 */
export function collapse(text: string, max: number): string {
  let out = "";
  let count = 0;
  for (const word of text.split(/\s+/)) {
    if (!word) continue;
    const space = count > 0 ? 1 : 0;
    const chars = [...word];
    if (count + space + chars.length > max) {
      // Room for as much of the word as fits before the ellipsis.
      if (count + space < max - 1) {
        if (space) {
          out += " ";
          count += 1;
        }
        out += chars.slice(0, max - 1 - count).join("");
      }
      return `${out.trimEnd()}…`;
    }
    if (space) out += " ";
    out += word;
    count += space + chars.length;
  }
  return out;
}

/**
 * The title a view has once `content` is its first user message: the core derives it from that
 * message unless a person set one (then the view's title is not the default).
 */
export function titleWithFirstUserMessage(view: ThreadView, content: string): string {
  if (view.title !== DEFAULT_TITLE || view.messages.some((m) => m.role === "user")) return view.title;
  return collapse(content, MAX_DERIVED_TITLE_CHARS) || DEFAULT_TITLE;
}

/**
 * A thread's summary from its view, newer than `worker` (the worker's last, if any), whose activity
 * time is a floor. No `trashedAt`, as the core's `Thread.summary()` (the index keeps it).
 */
export function summaryOf(view: ThreadView, worker?: ThreadSummary): ThreadSummary {
  const last = view.messages.at(-1);
  const summary: ThreadSummary = {
    id: view.id, title: view.title, status: view.status, createdAt: view.createdAt,
    lastActivityAt: Math.max(view.lastMessageAt ?? view.createdAt, view.updatedAt, last?.createdAt ?? 0, worker?.lastActivityAt ?? 0),
    messageCount: view.messages.length,
    preview: last ? collapse(last.content, MAX_PREVIEW_CHARS) : "",
    totalInputTokens: view.totalInputTokens, totalOutputTokens: view.totalOutputTokens,
  };
  if (view.projectId !== undefined) summary.projectId = view.projectId;
  if (view.summary !== undefined) summary.summary = view.summary;
  if (view.localOnly !== undefined) summary.localOnly = view.localOnly;
  return summary;
}
