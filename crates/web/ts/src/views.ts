// Unchanged messages keep their objects from one view to the next. The core builds a thread's view
// afresh (one new JS object tree) after every change, a streamed delta included; this layer then puts
// back, in the new view, each message (and each part, tool call, artifact and approval) of the
// previous view that holds exactly the same data, so `React.memo` rows of a long thread skip all but
// the message that changed, and `view.messages` is the same array when no message changed.
//
// "The same data" is structural equality of the JSON values (./reuse.ts): every field counts (parts
// and their states, status, metadata, feedback, usage, siblings, …), so a reused object is never
// stale. A message whose `updatedAt`, content length or part count differs is told apart at once;
// the others are compared field by field — a walk over data the core has just serialized anyway.
import { Thread } from "./web/chatsync.js";
import type { Message, ThreadView } from "./web/chatsync.js";
import { reuseByKey, sameJson } from "./reuse.js";

// The views already given their older objects (the core hands out one view object per change, to
// every `view()` call and subscriber, until the next change).
const reconciled = new WeakSet<ThreadView>();
// Each Thread object's last view, whose objects the next one reuses.
const lastView = new WeakMap<Thread, ThreadView>();

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

/** `view` with the previous view's objects where their data is the same; the same object. */
function reconcile(thread: Thread, view: ThreadView): ThreadView {
  if (typeof view !== "object" || view === null) return view;
  if (!reconciled.has(view)) {
    const previous = lastView.get(thread);
    if (previous && previous !== view && previous.id === view.id) keepObjects(previous, view);
    reconciled.add(view);
  }
  lastView.set(thread, view);
  return view;
}

const coreView = Thread.prototype.view;
const coreSubscribe = Thread.prototype.subscribe;

Thread.prototype.view = function view(this: Thread) {
  return reconcile(this, coreView.call(this));
};

Thread.prototype.subscribe = function subscribe(this: Thread, callback: (view: ThreadView) => void) {
  return coreSubscribe.call(this, (view: ThreadView) => callback(reconcile(this, view)));
};
