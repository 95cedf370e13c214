// The excerpt shown with a result: plain text around the first match, and the ranges in it that
// matched, so an app marks them up itself (no HTML in the text: nothing to escape, nothing to inject).
import { tokenize } from "./tokens.js";

/** A range of `snippet` that matched the query: `snippet.slice(start, end)` (UTF-16 offsets). */
export type Highlight = [start: number, end: number];

const BEFORE = 60; // characters of context before the first match
const LENGTH = 200; // the snippet's length at most, ellipses aside

/** Where in `text` the query's terms match (a term matches a word it is a prefix of), merged. */
export function matches(text: string, queryTerms: readonly string[]): Highlight[] {
  const ranges: Highlight[] = [];
  for (const token of tokenize(text)) {
    if (!queryTerms.some((term) => token.term.startsWith(term))) continue;
    const last = ranges.at(-1);
    if (last && token.start <= last[1]) last[1] = Math.max(last[1], token.end);
    else ranges.push([token.start, token.end]);
  }
  return ranges;
}

/** The excerpt of `text` around its first match, whitespace as single spaces, and its highlights. */
export function snippet(text: string, queryTerms: readonly string[]): { snippet: string; highlights: Highlight[] } {
  const ranges = matches(text, queryTerms);
  const first = ranges[0]?.[0] ?? 0;
  let start = Math.max(0, first - BEFORE);
  // Begin at a word's start, if there is a space near enough.
  if (start > 0) {
    const space = text.lastIndexOf(" ", start);
    if (space >= 0 && first - space <= BEFORE + 20) start = space + 1;
  }
  let end = Math.min(text.length, start + LENGTH);
  if (end < text.length) {
    const space = text.lastIndexOf(" ", end);
    if (space > first) end = space;
  }
  // Never cut a surrogate pair in two.
  if (isLowSurrogate(text.charCodeAt(start))) start -= 1;
  if (isLowSurrogate(text.charCodeAt(end))) end += 1;
  const prefix = start > 0 ? "…" : "";
  const suffix = end < text.length ? "…" : "";
  // One space for each whitespace character: offsets stay as they are.
  const body = text.slice(start, end).replace(/\s/g, " ");
  const shift = prefix.length - start;
  const highlights = ranges
    .filter(([s, e]) => e > start && s < end)
    .map(([s, e]): Highlight => [Math.max(s, start) + shift, Math.min(e, end) + shift]);
  return { snippet: prefix + body + suffix, highlights };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
