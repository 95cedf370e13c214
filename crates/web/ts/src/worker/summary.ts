// A thread's summary and derived title as the page can tell them from its view. The worker's
// summary reads the document and follows each change (server.ts `extrasLater`): until it comes,
// `summary()` must already count the page's own appends, as the in-page store's does.
import type { Message, ThreadSummary, ThreadView } from "../web/chatsync.js";

// As crates/model/src/title.rs.
const DEFAULT_TITLE = "New conversation";
const MAX_DERIVED_TITLE_CHARS = 60;
const MAX_PREVIEW_CHARS = 120;

/** Unicode's White_Space, which Rust's `split_whitespace` splits on (JS's `\s` differs: U+FEFF, U+0085). */
const WHITESPACE = /[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * As the core's `collapse`: whitespace runs become one space, the ends are trimmed, and a text
 * longer than `max` characters (code points) is cut to `max`, ending in "…".
 */
export function collapse(text: string, max: number): string {
  let out = "";
  let count = 0;
  for (const word of text.split(WHITESPACE)) {
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
      // Not `trimEnd()`: the one space pushed above is all there is to trim (JS trims U+FEFF too).
      return `${out.endsWith(" ") ? out.slice(0, -1) : out}…`;
    }
    if (space) out += " ";
    out += word;
    count += space + chars.length;
  }
  return out;
}

/**
 * `view`'s title once a user message of `content` follows the active branch's `before`: the core
 * derives the title from the branch's first user message unless a person set one.
 */
export function titledByFirstUserMessage(
  view: ThreadView, before: readonly Message[], content: string,
): Pick<ThreadView, "title" | "titleSource"> {
  const { title, titleSource } = view;
  if (titleSource === "person" || before.some((m) => m.role === "user")) return { title, titleSource };
  const derived = collapse(content, MAX_DERIVED_TITLE_CHARS);
  return derived ? { title: derived, titleSource: "derived" } : { title: DEFAULT_TITLE, titleSource: "default" };
}

/**
 * A thread's summary from its view. `wroteAt`: when this page last wrote to the thread — the core
 * stamps the thread's `updatedAt` with every write, which the page's guesses of its writes do not
 * show. No `trashedAt`, as the core's `Thread.summary()` (the index keeps it).
 */
export function summaryOf(view: ThreadView, wroteAt = 0): ThreadSummary {
  const last = view.messages.at(-1);
  const summary: ThreadSummary = {
    id: view.id, title: view.title, status: view.status, createdAt: view.createdAt,
    lastActivityAt: Math.max(view.lastMessageAt ?? view.createdAt, view.updatedAt, wroteAt),
    messageCount: view.messages.length,
    preview: last ? collapse(last.content, MAX_PREVIEW_CHARS) : "",
    totalInputTokens: view.totalInputTokens, totalOutputTokens: view.totalOutputTokens,
  };
  if (view.projectId !== undefined) summary.projectId = view.projectId;
  if (view.summary !== undefined) summary.summary = view.summary;
  if (view.localOnly !== undefined) summary.localOnly = view.localOnly;
  return summary;
}
