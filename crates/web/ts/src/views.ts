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
import type { ThreadView } from "./web/chatsync.js";
import { keepObjects } from "./reuse.js";

// The views already given their older objects (the core hands out one view object per change, to
// every `view()` call and subscriber, until the next change).
const reconciled = new WeakSet<ThreadView>();
// Each Thread object's last view, whose objects the next one reuses.
const lastView = new WeakMap<Thread, ThreadView>();

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
