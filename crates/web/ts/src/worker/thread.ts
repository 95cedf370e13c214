// A thread of a store in a worker, as the page uses it: the same methods as the core's `Thread`.
// Reads answer from the last view the worker sent (plus this page's writes it has not reflected
// yet, ./optimistic.ts); writes are queued to the worker and return at once, their ids made here.
// A write the worker refuses for a reason the page could not see is the store's `error` event.
import { Thread } from "../web/chatsync.js";
import type {
  ApprovalDecision, ApprovalRequest, ArtifactUpsert, ContextEntryInit, DeltaOptions, Feedback, JsonValue,
  Message, MessageEnd, NewMessage, NewPart, SessionState, ThreadSettings, ThreadSummary, ThreadView,
  ToolCallEnd, ToolCallStart,
} from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import type { RestoreOptions, ThreadVersion } from "../history/types.js";
import { applyPatch, changesNothing } from "./diff.js";
import { keepObjects } from "../reuse.js";
import { randomId, type WorkerClient } from "./client.js";
import type { FromWorker, FullExtras, OpenedThread } from "./protocol.js";
import { summaryOf } from "./summary.js";
import { decideApprovalEdit, finishToolEdit, requestApprovalEdit, startToolEdit, toolInputEdit } from "./tools.js";
import {
  appendEdit, branchEdit, checkNewMessage, deltaEdit, feedbackEdit, type Edit, finishEdit, metadataEdit, newMessage, partEdit, resetEdit,
} from "./optimistic.js";

type JsonObject = { [key: string]: JsonValue };

/** What a thread needs of its store. */
export interface ThreadOwner {
  readonly client: WorkerClient;
  readonly sid: number;
  /** Throws `closed` once the store is closed. */
  ensureOpen(): void;
  forget(thread: WorkerThread): void;
  /** Holds the thread strongly while it has subscribers (or lets go: `held` false). */
  hold(thread: WorkerThread, held: boolean): void;
}

export class WorkerThread {
  /** The last view the worker sent. */
  private base: ThreadView;
  /** This page's writes the worker had not run when it sent `base`, with the batch each went in. */
  private edits: { batch: number; edit: Edit }[] = [];
  /** `base` with `edits`, made when read. */
  private shown: ThreadView | undefined;
  /** The view last shown, whose objects the next one keeps where nothing changed. */
  private lastShown: ThreadView | undefined;
  /** The worker's, once it sent one (it follows the first view). */
  private latestSummary: ThreadSummary | undefined;
  /** The view the worker's summary describes; a newer one is summarised here (`summaryOf`). */
  private summaryView: ThreadView | undefined;
  /** The last summary made here, and of what, so an unchanged one is the same object. */
  private derived: { view: ThreadView; wroteAt: number; summary: ThreadSummary } | undefined;
  /** When this page last wrote to the thread (`summaryOf`). */
  private wroteAt = 0;
  /** What fullView() adds to the view, from the worker (with its summary, then as it changes). */
  private full: FullExtras | undefined;
  /** The last fullView() and what it was made of, so an unchanged one is the same object. */
  private shownFull: { view: ThreadView; full: FullExtras; result: ThreadView } | undefined;
  private readonly listeners = new Set<(view: ThreadView) => void>();
  private closed = false;

  readonly id: string;

  constructor(
    private readonly owner: ThreadOwner,
    /** The worker's number for this thread (internal). */
    readonly tid: number,
    { view, summary, full }: OpenedThread,
  ) {
    this.id = view.id;
    this.base = view;
    this.shown = view;
    this.latestSummary = summary;
    this.summaryView = view;
    this.full = full;
  }

  private ensureOpen(): void {
    if (this.closed) throw new ChatsyncError("thread_closed", "this Thread was closed: open the thread again");
    this.owner.ensureOpen();
  }

  private send(method: string, args: unknown[], edit?: Edit): void {
    this.ensureOpen();
    if (stampsThread(method, args)) this.wroteAt = Date.now();
    const client = this.owner.client;
    if (edit) {
      this.edits.push({ batch: client.nextBatch(), edit });
      // The view shown so far with this one edit more, not every pending edit replayed: a loop of
      // appends before the worker answers (an import, a backfill) costs each the one edit.
      if (this.shown) this.shown = this.lastShown = edit(this.shown);
    }
    client.op(this.owner.sid, { thread: this.tid, method, args });
  }

  /** A promise-returning method run on the worker's Thread (the writes queued before it go first). */
  private async call<T>(method: string, args: unknown[]): Promise<T> {
    this.ensureOpen();
    return this.owner.client.call<T>(this.owner.sid, method, args, this.tid);
  }

  /** A view from the worker (thread.ts's sink for the client). */
  patch(message: Extract<FromWorker, { t: "view" }>): void {
    if (this.closed) return;
    if (message.full) this.full = message.full;
    const pending = this.edits.length;
    this.edits = this.edits.filter((e) => e.batch > message.acked);
    // A summary or the full view's extras alone (they follow each view, server.ts `extrasLater`):
    // the view is as it was, and the subscribers have it.
    const quiet = changesNothing(message.patch, this.base.messages.length) && this.edits.length === pending;
    if (!quiet) {
      this.base = applyPatch(this.base, message.patch);
      this.shown = undefined;
    }
    if (message.summary) {
      this.latestSummary = message.summary;
      // It is of the worker's document: a view with this page's writes it has not reflected is newer.
      this.summaryView = this.edits.length === 0 ? this.view() : undefined;
    }
    if (quiet) return;
    const view = this.view();
    for (const listener of [...this.listeners]) {
      try {
        listener(view);
      } catch (error) {
        console.error("chatsync: a thread subscriber threw", error);
      }
    }
  }

  view(): ThreadView {
    this.ensureOpen();
    if (!this.shown) {
      let view = this.base;
      for (const { edit } of this.edits) view = edit(view);
      // The edits run again on every change, and the worker's view replaces the page's guesses:
      // what holds the same data keeps the object it had (as views.ts does in the page).
      const previous = this.lastShown;
      if (previous && previous !== view) {
        view = { ...view, messages: view.messages.slice(), toolCalls: view.toolCalls.slice(),
          artifacts: view.artifacts.slice(), pendingApprovals: view.pendingApprovals.slice() };
        keepObjects(previous, view);
      }
      this.shown = this.lastShown = view;
    }
    return this.shown;
  }

  /**
   * The worker's summary while it describes the view shown; until it sent one (just after the
   * thread opened, once its document is read) and while a newer view waits for its own (this
   * page's writes, or a change whose summary follows its view), the summary the view gives.
   */
  summary(): ThreadSummary {
    this.ensureOpen();
    const view = this.view();
    // (Once the worker ran this page's deltas its summary may still predate them: a stream's
    // writes are stamped at their commit, up to 100 ms later.)
    const latest = this.latestSummary;
    if (latest && view === this.summaryView && latest.lastActivityAt >= this.wroteAt) return latest;
    const { wroteAt } = this;
    if (this.derived?.view !== view || this.derived.wroteAt !== wroteAt) {
      this.derived = { view, wroteAt, summary: summaryOf(view, wroteAt) };
    }
    return this.derived.summary;
  }

  /**
   * The view with every branch's messages and every approval request: this page's view (its own
   * writes included) with what the worker last sent of the rest — the other branches' messages and
   * the decided approvals, sent once the thread's document is read in the worker (with its summary,
   * just after `openThread` resolves) and again after each change to them. Until then (a thread
   * just opened, whose document the worker is still reading) `invalid_transition`.
   */
  fullView(): ThreadView {
    this.ensureOpen();
    const full = this.full;
    if (!full) {
      throw new ChatsyncError("invalid_transition", "thread.fullView(): the worker is still reading this thread's document (it answers once thread.summary() is the worker's, just after openThread resolves)");
    }
    const view = this.view();
    if (this.shownFull?.view === view && this.shownFull.full === full) return this.shownFull.result;
    // Every message of this page's views between the worker's last one and now, the latest of each:
    // one this page's edit took off the active branch (editMessage, regenerateMessage) stays.
    const known = new Map<string, Message>();
    const note = (shown: ThreadView) => {
      for (const message of shown.messages) known.set(message.id, message);
    };
    let step = this.base;
    note(step);
    for (const { edit } of this.edits) note((step = edit(step)));
    note(view);
    const others = new Map(full.others.map((m) => [m.id, m]));
    const messages: Message[] = [];
    const placed = new Set<string>();
    for (const id of full.order) {
      const message = known.get(id) ?? others.get(id);
      if (message && !placed.has(id)) {
        messages.push(message);
        placed.add(id);
      }
    }
    // This page's new messages, which the worker has not run yet (children of those above).
    for (const [id, message] of known) if (!placed.has(id)) messages.push(message);
    const pending = new Map(view.pendingApprovals.map((a) => [a.id, a]));
    const approvals = full.approvals.map((a) => pending.get(a.id) ?? a);
    for (const approval of view.pendingApprovals) if (!full.approvals.some((a) => a.id === approval.id)) approvals.push(approval);
    const result: ThreadView = { ...view, messages, pendingApprovals: approvals };
    this.shownFull = { view, full, result };
    return result;
  }

  /** Not available in a worker store (it would wait on the worker): use `store.exportThread(id)`. */
  save(): Uint8Array {
    this.ensureOpen();
    throw new ChatsyncError("invalid_transition", "thread.save() needs the store in this page (worker: \"none\"); in a worker, use store.exportThread(id, { format: \"automerge\" })");
  }

  appendMessage(message: NewMessage): Message {
    this.ensureOpen();
    const view = this.view();
    checkNewMessage(message, view);
    const id = message.id ?? randomId();
    const made = newMessage(message, id, view, Date.now());
    // Shown at once where the core puts it: at the end of the active branch, under any parent on
    // it (an append is no message's variant, so it changes no other message's place, and it comes
    // last in the thread's order); under a parent off the branch it waits for the worker's view.
    const atEnd = message.parentId === undefined || view.messages.some((m) => m.id === message.parentId);
    this.send("appendMessage", [{ ...message, id }], atEnd ? appendEdit(made) : undefined);
    return made;
  }

  appendPart(messageId: string, part: NewPart): void {
    this.send("appendPart", [messageId, part], partEdit(messageId, part, Date.now()));
  }

  appendDelta(messageId: string, text: string, options?: DeltaOptions): void {
    this.send("appendDelta", options === undefined ? [messageId, text] : [messageId, text, options],
      deltaEdit(messageId, text, options, Date.now()));
  }

  finishMessage(messageId: string, end: MessageEnd): void {
    this.send("finishMessage", [messageId, end], finishEdit(messageId, end, Date.now()));
  }

  updateMessageMetadata(messageId: string, metadata: JsonObject | null, options?: { merge?: boolean }): void {
    // Merged in the worker, where the package's updateMessageMetadata has the message at hand.
    this.send("updateMessageMetadata", options === undefined ? [messageId, metadata] : [messageId, metadata, options],
      metadataEdit(messageId, metadata, options?.merge === true, Date.now()));
  }

  /** How many parts go: counted from the view here (the worker removes the same ones). */
  resetStep(messageId: string): number {
    this.ensureOpen();
    const message = this.view().messages.find((m) => m.id === messageId);
    let removed = 0;
    if (message) {
      const start = message.parts.map((p) => p.type).lastIndexOf("step-start");
      removed = message.parts.length - (start + 1);
    }
    this.send("resetStep", [messageId], resetEdit(messageId, Date.now()));
    return removed;
  }

  /** The new message's id is made here (or is the caller's) and given to the worker's core. */
  editMessage(messageId: string, content: string, id?: string | null): Message {
    this.ensureOpen();
    const original = this.view().messages.find((m) => m.id === messageId);
    if (!original) throw new ChatsyncError("not_found", `message ${messageId} is not on the active branch`);
    const madeId = id ?? randomId();
    const now = Date.now();
    const made: Message = {
      ...original, id: madeId, content, parts: [{ type: "text", text: content, state: "done" }], status: "complete",
      createdAt: now, updatedAt: now, siblings: [...original.siblings, madeId], siblingIndex: original.siblings.length,
    };
    this.send("editMessage", [messageId, content, madeId], branchEdit(messageId, made));
    return made;
  }

  regenerateMessage(messageId: string, provider?: string | null, model?: string | null, id?: string | null): Message {
    this.ensureOpen();
    const original = this.view().messages.find((m) => m.id === messageId);
    if (!original) throw new ChatsyncError("not_found", `message ${messageId} is not on the active branch`);
    if (original.role !== "assistant") {
      throw new ChatsyncError("invalid_input", `role of the regenerated message: ${original.role}, expected assistant`);
    }
    const madeId = id ?? randomId();
    const now = Date.now();
    const made: Message = {
      id: madeId, role: "assistant", content: "", parts: [], status: "pending", createdAt: now, updatedAt: now,
      siblings: [...original.siblings, madeId], siblingIndex: original.siblings.length,
      ...(original.parentId === undefined ? {} : { parentId: original.parentId }),
      ...(provider == null ? {} : { provider }), ...(model == null ? {} : { model }),
    };
    this.send("regenerateMessage", [messageId, provider ?? null, model ?? null, madeId], branchEdit(messageId, made));
    return made;
  }

  selectBranch(messageId: string): void {
    this.send("selectBranch", [messageId]);
  }

  setTitle(title: string): void {
    this.send("setTitle", [title], (view) => ({ ...view, title, titleSource: "person" }));
  }

  setSettings(settings: Partial<ThreadSettings>): void {
    this.send("setSettings", [settings]);
  }

  setFeedback(messageId: string, feedback: Feedback): void {
    this.send("setFeedback", [messageId, feedback], feedbackEdit(messageId, feedback));
  }

  upsertArtifact(artifact: ArtifactUpsert): string {
    const id = artifact.id ?? randomId();
    this.send("upsertArtifact", [{ ...artifact, id }]);
    return id;
  }

  startToolCall(call: ToolCallStart): string {
    const id = call.id ?? randomId();
    this.send("startToolCall", [{ ...call, id }], startToolEdit({ ...call, id }, Date.now()));
    return id;
  }

  setToolCallInput(callId: string, input: JsonValue): void {
    this.send("setToolCallInput", [callId, input], toolInputEdit(callId, input));
  }

  finishToolCall(callId: string, end: ToolCallEnd): void {
    this.send("finishToolCall", [callId, end], finishToolEdit(callId, end, Date.now()));
  }

  requestApproval(request: ApprovalRequest): string {
    const id = request.id ?? randomId();
    this.send("requestApproval", [{ ...request, id }], requestApprovalEdit({ ...request, id }, Date.now()));
    return id;
  }

  decideApproval(approvalId: string, decision: ApprovalDecision): void {
    this.send("decideApproval", [approvalId, decision], decideApprovalEdit(approvalId, decision));
  }

  setSessionState(state: SessionState): void {
    this.send("setSessionState", [state]);
  }

  setSummary(text?: string | null): void {
    this.send("setSummary", [text ?? null]);
  }

  setContext(entry: ContextEntryInit): void {
    this.send("setContext", [entry]);
  }

  removeContext(type: string, key: string): void {
    this.send("removeContext", [type, key]);
  }

  // The history calls run in the worker, where the thread's document is (the history module reads
  // it whole): this page never holds the Automerge bytes. A restore or undo resolves once this
  // page has the view it made.

  history(): Promise<ThreadVersion[]> {
    return this.call("history", []);
  }

  viewAt(version: string): Promise<ThreadView> {
    return this.call("viewAt", [version]);
  }

  restore(version: string, options?: RestoreOptions): Promise<void> {
    return this.call("restore", options === undefined ? [version] : [version, options]);
  }

  undo(): Promise<boolean> {
    return this.call("undo", []);
  }

  /**
   * Queued to the worker as every write; its view follows from there (changes made elsewhere are
   * not guessed here). Bytes the worker cannot merge are the store's `error` event.
   */
  applyChanges(bytes: Uint8Array | number[]): void {
    if (!(bytes instanceof Uint8Array) && !Array.isArray(bytes)) {
      this.ensureOpen();
      throw new ChatsyncError("invalid_input", "applyChanges takes the bytes of Automerge changes (a Uint8Array)");
    }
    this.send("applyChanges", [bytes]);
  }

  subscribe(callback: (view: ThreadView) => void): () => void {
    this.ensureOpen();
    // Each call its own entry, as the core's: subscribing one function twice calls it twice.
    const listener = (view: ThreadView) => callback(view);
    this.listeners.add(listener);
    // A thread someone listens to is not collected (its views would stop without a word).
    this.owner.hold(this, true);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.owner.hold(this, false);
    };
  }

  /**
   * Through `Thread.prototype.close`, which hands a proxy back to `closeHere` (below): what wraps
   * the package's close (an app's hook, a test's spy) wraps this one too.
   */
  close(): void {
    Thread.prototype.close.call(this as unknown as Thread);
  }

  /** What close() does. */
  closeHere(): void {
    if (this.closed) return;
    try {
      this.send("close", []);
    } catch {
      // the store is closed: so is the thread in the worker
    }
    this.closed = true;
    this.listeners.clear();
    this.owner.client.threads.delete(this.tid);
    this.owner.client.threadIds.delete(this.tid);
    this.owner.forget(this);
  }

  free(): void {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// `thread instanceof Thread` holds for these too.
Object.setPrototypeOf(WorkerThread.prototype, Thread.prototype);

const threadClose = Thread.prototype.close;
Thread.prototype.close = function close(this: Thread) {
  if ((this as unknown) instanceof WorkerThread) (this as unknown as WorkerThread).closeHere();
  else threadClose.call(this);
};


/**
 * Whether the core stamps the thread's activity time for this write (`summaryOf`'s `wroteAt`):
 * merged changes, a branch selection and an empty delta do not, nor does closing.
 */
function stampsThread(method: string, args: unknown[]): boolean {
  if (method === "applyChanges" || method === "selectBranch" || method === "close") return false;
  return !(method === "appendDelta" && args[1] === "");
}
