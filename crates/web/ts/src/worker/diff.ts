// Views as changes: the worker sends a thread's new view as a patch of the last one it sent
// (`diffView`), and the page applies it to its copy (`applyPatch`), keeping every message object
// that did not change — a stream into a 5,000-message thread moves one message per frame, and React
// sees the other 4,999 as the same objects.
import type { Message, ThreadView } from "../web/chatsync.js";
import type { ViewPatch } from "./protocol.js";

/** Whether two JSON values are equal (views are JSON: no cycles, no undefined in arrays). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const key of ka) {
    if (!Object.hasOwn(b, key) || !same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}

/** The patch that turns `before` (what the page has) into `after`. */
export function diffView(before: ThreadView, after: ThreadView): ViewPatch {
  const a = before.messages;
  const b = after.messages;
  let keep = 0;
  const max = Math.min(a.length, b.length);
  while (keep < max && same(a[keep], b[keep])) keep++;
  let tail = 0;
  while (tail < max - keep && same(a[a.length - 1 - tail], b[b.length - 1 - tail])) tail++;
  const fields: Record<string, unknown> = {};
  const removed: string[] = [];
  for (const [key, value] of Object.entries(after)) {
    if (key !== "messages" && !same((before as unknown as Record<string, unknown>)[key], value)) fields[key] = value;
  }
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) removed.push(key);
  return { keep, tail, messages: b.slice(keep, b.length - tail), fields: fields as Partial<ThreadView>, removed };
}

/** Whether applying `patch` to a view of `length` messages would change nothing. */
export function changesNothing(patch: ViewPatch, length: number): boolean {
  return patch.messages.length === 0 && patch.keep + patch.tail === length && patch.removed.length === 0 &&
    Object.keys(patch.fields).length === 0;
}

/**
 * `view` with `patch` applied: a new (frozen-shape) object, its unchanged messages the same objects
 * as in `view`.
 */
export function applyPatch(view: ThreadView, patch: ViewPatch): ThreadView {
  const old = view.messages;
  const messages: Message[] = old.slice(0, patch.keep);
  for (const message of patch.messages) messages.push(message);
  for (let i = old.length - patch.tail; i < old.length; i++) messages.push(old[i]!);
  const next = { ...view, ...patch.fields, messages } as ThreadView & Record<string, unknown>;
  for (const key of patch.removed) delete next[key];
  return next;
}
