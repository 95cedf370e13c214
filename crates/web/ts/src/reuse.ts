// Keeping the objects of a previous snapshot where the new one holds the same content, so that
// `===` between two snapshots means "unchanged" (React.memo, useMemo, useSyncExternalStore).
// The store's values are JSON (serde's output: plain objects, arrays, strings, numbers, booleans,
// null), so structural equality is exact: two values equal here hold the same data, and reusing
// the older one can never show something stale.
import type { Message, ThreadView } from "./web/chatsync.js";

/** Whether two JSON values hold the same data (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const key of ka) {
    if (!Object.hasOwn(b, key)) return false;
    if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * `next` with each element that equals (`same`) the element of `previous` with its key replaced by
 * that older element; `previous` itself when every element was reused, in the same order.
 * `refine` may rebuild a changed element from its older version (keeping its unchanged insides).
 */
export function reuseByKey<T extends object>(
  previous: readonly T[] | undefined,
  next: T[],
  key: (item: T) => string,
  same: (older: T, newer: T) => boolean = sameJson,
  refine?: (older: T, newer: T) => void,
): T[] {
  if (!previous || previous.length === 0) return next;
  // An element still in its place (the same object) is kept as it is: only the others are looked up
  // by key. A view from the store's worker keeps nearly every object (a stream's frame, a sync's new
  // messages): a Map of all 5,000 messages on each was most of the page's time per view.
  const older = new Map<string, T>();
  for (let i = 0; i < previous.length; i++) {
    const item = previous[i]!;
    if (item !== next[i]) older.set(key(item), item);
  }
  let all = previous.length === next.length;
  for (let i = 0; i < next.length; i++) {
    const item = next[i]!;
    if (item === previous[i]) continue;
    const before = older.get(key(item));
    if (before !== undefined && same(before, item)) {
      next[i] = before;
    } else {
      if (before !== undefined) refine?.(before, item);
      all = false;
    }
    if (all && next[i] !== previous[i]) all = false;
  }
  return all ? (previous as T[]) : next;
}

/** Whether two messages hold the same data (the cheap fields first). */
export function sameMessage(a: Message, b: Message): boolean {
  return a.updatedAt === b.updatedAt && a.content.length === b.content.length &&
    a.parts.length === b.parts.length && a.status === b.status && sameJson(a, b);
}

/** A message that changed keeps the parts that did not (the ones before a streaming part, say). */
export function reuseParts(older: Message, newer: Message): void {
  for (let i = 0; i < newer.parts.length && i < older.parts.length; i++) {
    if (sameJson(older.parts[i], newer.parts[i])) newer.parts[i] = older.parts[i]!;
  }
}

const byId = (item: { id: string }) => item.id;

/** Puts `previous`'s objects into `view` (a view of its own, changed in place) where the data is the same. */
export function keepObjects(previous: ThreadView, view: ThreadView): void {
  view.messages = reuseByKey(previous.messages, view.messages, byId, sameMessage, reuseParts);
  view.toolCalls = reuseByKey(previous.toolCalls, view.toolCalls, byId);
  view.artifacts = reuseByKey(previous.artifacts, view.artifacts, byId);
  view.pendingApprovals = reuseByKey(previous.pendingApprovals, view.pendingApprovals, byId);
}
