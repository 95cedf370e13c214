// The search index of one store: MiniSearch over every thread's title, the messages of its active
// path and its artifacts. Loaded from IndexedDB when it is first needed, then kept current from the
// store's own events: each `threads` event (a local write, a streamed reply's periodic commit, a
// change synced from elsewhere) compares the thread list with what the index was built from and
// reads only the threads whose activity changed, re-indexing only their documents whose updatedAt
// or text changed. Saved debounced (persist.ts: a snapshot, and a journal of the threads changed
// since); rebuilt from the documents when the saved copy is missing, damaged or of another version.
import MiniSearch, { type Options } from "./minisearch.js";
import type { ChatStore, Thread, ThreadSummary, ThreadView } from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import {
  FORMAT_VERSION,
  isJournalRecord,
  isSnapshot,
  loadRecords,
  openSearchDb,
  saveJournal,
  saveSnapshot,
  searchDbName,
  type IndexedDoc as Doc,
  type JournalRecord,
  type ThreadEntry,
} from "./persist.js";
import { snippet } from "./snippet.js";
import { TOKENIZER_VERSION, terms } from "./tokens.js";
import type { SearchOptions, SearchResult } from "./types.js";
import type { Role } from "../web/chatsync.js";
import { noteModule } from "../internal.js";

// For the package's tests (../internal.ts): this module ran here, and only on the first search.
noteModule("search");

type Stored = Omit<Doc, "id">;

const SAVE_AFTER_MS = 1000; // quiet time before changes are saved
const SAVE_AT_MOST_MS = 5000; // and at the latest, during a long stream of changes
// Once the journal holds this many documents, the next save writes a new snapshot instead.
const SNAPSHOT_AFTER_DOCS = 2000;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const TITLE_BOOST = 2;
const ROLES: readonly Role[] = ["user", "assistant", "system", "tool"];
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

const options: Options<Doc> = {
  idField: "id",
  // Two fields of one text, so that titles weigh more through MiniSearch's per-field boost (a
  // boostDocument callback would run for every posting of every query term).
  fields: ["title", "body"],
  extractField: (doc, field) => {
    if (field === "title") return doc.kind === "title" ? doc.text : undefined;
    if (field === "body") return doc.kind === "title" ? undefined : doc.text;
    return (doc as unknown as Record<string, unknown>)[field];
  },
  storeFields: ["kind", "threadId", "messageId", "artifactId", "role", "createdAt", "text"],
  // Documents and queries are folded by tokens.ts; MiniSearch's own lower-casing is not wanted.
  tokenize: (text: string) => terms(text),
  processTerm: (term: string) => term,
  searchOptions: {
    tokenize: (text: string) => terms(text, true),
    processTerm: (term: string) => term,
    // Every term is a prefix, but a single Latin letter (or digit) only matches itself: as a prefix
    // it would match most of the index and tell nothing. A single CJK character is a word's start.
    prefix: (term: string) => term.length > 1 || CJK.test(term),
    combineWith: "AND",
    boost: { title: TITLE_BOOST },
  },
};

const docId = (kind: string, threadId: string, id = "") => `${kind}\u0000${threadId}\u0000${id}`;
/** The first and the longest wait before an unread thread is read again. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How long a thread behind its summary is held open for its changes to arrive. */
const ARRIVAL_WAIT_MS = 10_000;

const fingerprint = (s: ThreadSummary) => `${s.lastActivityAt}|${s.messageCount}`;

/** What the index knows of how it was built: for tests and the benchmark (not part of the API). */
export interface SearchStats {
  /** Threads read (opened) to index them since the index was loaded. */
  threadReads: number;
  /** Documents (re-)indexed since then. */
  docsIndexed: number;
  /** Whether the saved snapshot was unusable and the index rebuilt from the documents. */
  rebuilt: boolean;
  /** Journal records that were unusable (their threads were read again). */
  damagedJournal: number;
  /** Saves to IndexedDB so far: snapshots and journal writes; the last snapshot's index (characters). */
  snapshots: number;
  journalWrites: number;
  snapshotChars: number;
  /** Catch-ups with the thread list (one per burst of `threads` events), and their time in all. */
  refreshes: number;
  refreshMs: number;
  /** The time of the last save's work on this thread (serialising; the write itself is IndexedDB's). */
  lastSaveMs: number;
  documents: number;
}

export class SearchIndex {
  readonly stats: SearchStats = {
    threadReads: 0,
    docsIndexed: 0,
    rebuilt: false,
    damagedJournal: 0,
    snapshots: 0,
    journalWrites: 0,
    snapshotChars: 0,
    refreshes: 0,
    refreshMs: 0,
    lastSaveMs: 0,
    documents: 0,
  };
  private mini = new MiniSearch<Doc>(options);
  private threads = new Map<string, ThreadEntry>();
  private refreshing: Promise<void> | null = null;
  private again = false;
  private failed = false;
  private closed = false;
  // What the next save writes: the threads changed since the last one, or a whole snapshot.
  private unsaved = new Set<string>();
  private snapshotDue = false;
  // The documents the journal holds, per thread (a snapshot empties it).
  private journal = new Map<string, number>();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  // A thread read before its document (or its latest changes) arrived by sync is read again on a
  // timer, with backoff: the document's arrival need not change the thread list, so no event may come.
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RETRY_FIRST_MS;
  // Threads held open until their changes arrive (awaitArrival): each entry closes its thread.
  private arriving = new Set<() => void>();
  private firstUnsaved = 0;
  private saving: Promise<void> = Promise.resolve();
  private unsubscribe = () => {};
  private readonly onHide = () => {
    if (document.visibilityState === "hidden") void this.save();
  };

  private constructor(
    private readonly store: ChatStore,
    private readonly db: IDBDatabase | null,
  ) {}

  /** Loads the saved index (or starts an empty one) and brings it up to date with the store. */
  static async open(store: ChatStore, dbName: string): Promise<SearchIndex> {
    const db = await openSearchDb(searchDbName(dbName));
    const index = new SearchIndex(store, db);
    try {
      if (db) await index.load(db);
      else index.snapshotDue = true;
      // Events are followed once the saved index is in place (a refresh before would be overwritten).
      index.unsubscribe = store.subscribe((event) => {
        if (event.type === "threads") index.refreshSoon();
      });
      globalThis.document?.addEventListener("visibilitychange", index.onHide);
      await index.refresh();
    } catch (error) {
      // The store closed meanwhile: nothing is saved (an index of nothing would replace a good one).
      index.dispose();
      throw error;
    }
    return index;
  }

  /** Stops following the store and closes the database, saving nothing. */
  private dispose(): void {
    this.closed = true;
    clearTimeout(this.saveTimer);
    clearTimeout(this.retryTimer);
    for (const done of [...this.arriving]) done();
    this.unsubscribe();
    globalThis.document?.removeEventListener("visibilitychange", this.onHide);
    this.db?.close();
  }

  private async load(db: IDBDatabase): Promise<void> {
    let records: Awaited<ReturnType<typeof loadRecords>>;
    try {
      records = await loadRecords(db);
    } catch {
      records = { snapshot: "unreadable", journal: new Map() };
    }
    const { snapshot, journal } = records;
    if (snapshot === undefined && journal.size === 0) {
      this.snapshotDue = true; // never saved: built from the documents now
      return;
    }
    try {
      if (!isSnapshot(snapshot, TOKENIZER_VERSION)) throw new Error("another version, or damaged");
      const mini = MiniSearch.loadJSON<Doc>(snapshot.index, options);
      const threads = new Map(Object.entries(snapshot.threads));
      let docs = 0;
      for (const entry of threads.values()) docs += Object.keys(entry.docs).length;
      if (docs !== mini.documentCount) throw new Error("the index and its threads disagree");
      this.mini = mini;
      this.threads = threads;
    } catch {
      // Rebuilt from the documents (the refresh that follows reads every thread), then saved as a
      // new snapshot, which also empties the journal.
      this.stats.rebuilt = true;
      this.snapshotDue = true;
      this.scheduleSave();
      return;
    }
    try {
      for (const [threadId, record] of journal) this.replay(threadId, record);
    } catch {
      // Records that pass their checks but do not fit the snapshot (a document id twice): rebuilt.
      this.mini = new MiniSearch<Doc>(options);
      this.threads = new Map();
      this.journal = new Map();
      this.stats.rebuilt = true;
      this.snapshotDue = true;
      this.scheduleSave();
    }
  }

  /** Applies a journal record over the snapshot: the thread as it was when last saved. */
  private replay(threadId: string, record: unknown): void {
    const old = this.threads.get(threadId);
    const present = Object.keys(old?.docs ?? {}).filter((id) => this.mini.has(id));
    if (!isJournalRecord(record, TOKENIZER_VERSION, threadId)) {
      // The snapshot's copy of the thread stays, marked to be read again by the refresh.
      this.stats.damagedJournal += 1;
      if (old) old.fingerprint = "";
      else this.unsaved.add(threadId); // a record to overwrite, for a thread read anyway
      this.scheduleSave();
      return;
    }
    if (present.length) this.mini.discardAll(present);
    if (record.entry) {
      this.mini.addAll(record.docs);
      this.threads.set(threadId, record.entry);
    } else {
      this.threads.delete(threadId);
    }
    this.journal.set(threadId, record.docs.length);
  }

  /** Runs a refresh now, or once more after the one under way. */
  private refreshSoon(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refresh().catch(() => {
      // A background refresh that failed (a thread that would not open, storage trouble) is tried
      // again by the next search, which reports the error if it persists.
      this.failed = true;
    });
  }

  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const run = async () => {
      try {
        do {
          this.again = false;
          const started = performance.now();
          await this.catchUp();
          this.stats.refreshes += 1;
          this.stats.refreshMs += performance.now() - started;
        } while (this.again && !this.closed);
        this.failed = false;
      } finally {
        this.refreshing = null;
        this.retryUnread();
      }
    };
    this.refreshing = run();
    return this.refreshing;
  }

  /**
   * Holds a thread open until its document changes (or a while passes), then closes it and refreshes:
   * a closed thread leaves the store's memory and is not synced, so its missing changes would not
   * arrive by themselves. False when this index is closed (the caller closes the thread).
   */
  private awaitArrival(thread: Thread): boolean {
    if (this.closed) return false;
    const done = () => {
      if (!this.arriving.delete(done)) return;
      clearTimeout(timer);
      thread.close();
      this.refreshSoon();
    };
    const timer = setTimeout(done, ARRIVAL_WAIT_MS);
    this.arriving.add(done);
    thread.subscribe(done);
    return true;
  }

  /** Schedules another refresh while some thread is marked unread (its fingerprint left empty). */
  private retryUnread(): void {
    clearTimeout(this.retryTimer);
    const unread = [...this.threads.values()].some((entry) => entry.fingerprint === "");
    if (this.closed || !unread) {
      this.retryMs = RETRY_FIRST_MS;
      return;
    }
    this.retryTimer = setTimeout(() => this.refreshSoon(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /** Compares the thread list with the index and re-indexes what changed. */
  private async catchUp(): Promise<void> {
    const summaries = await this.store.listThreads({ includeArchived: true });
    const listed = new Set<string>();
    for (const summary of summaries) {
      if (this.closed) return;
      listed.add(summary.id);
      const entry = this.threads.get(summary.id);
      if (!entry || entry.fingerprint !== fingerprint(summary)) {
        await this.readThread(summary);
      } else if (entry.title !== summary.title || entry.status !== summary.status || entry.projectId !== summary.projectId) {
        this.setEntry(summary.id, { ...entry, ...this.listFields(summary) });
      }
    }
    // Deleted threads leave the list for good, and the index with it.
    for (const [id, entry] of [...this.threads]) {
      if (listed.has(id)) continue;
      this.mini.discardAll(Object.keys(entry.docs).filter((doc) => this.mini.has(doc)));
      this.threads.delete(id);
      this.changed(id);
    }
  }

  private listFields(summary: ThreadSummary): Pick<ThreadEntry, "title" | "status" | "projectId"> {
    return { title: summary.title, status: summary.status, projectId: summary.projectId };
  }

  /** Replaces a thread's entry; the title document follows the title. */
  private setEntry(threadId: string, entry: ThreadEntry): void {
    const id = docId("t", threadId);
    const stored = this.mini.getStoredFields(id) as Stored | undefined;
    if (stored?.text !== entry.title) {
      const doc: Doc = { id, kind: "title", threadId, createdAt: entry.createdAt, text: entry.title };
      if (stored) this.mini.replace(doc);
      else this.mini.add(doc);
      this.stats.docsIndexed += 1;
    }
    entry.docs[id] = entry.createdAt;
    this.threads.set(threadId, entry);
    this.changed(threadId);
  }

  private async readThread(summary: ThreadSummary): Promise<void> {
    this.stats.threadReads += 1;
    let view: ThreadView | undefined;
    let unread = false;
    try {
      const thread = await this.store.openThread(summary.id);
      let waiting = false;
      try {
        view = thread.view();
        // Behind its summary (its changes still on the way from the relay): kept open, so the
        // store syncs it, until it changes.
        waiting = view.messages.length < summary.messageCount && this.awaitArrival(thread);
      } finally {
        if (!waiting) thread.close();
      }
    } catch (error) {
      const code = error instanceof ChatsyncError ? error.code : undefined;
      if (code === "closed") throw error;
      // A thread that does not load is left as the index had it: a damaged one until its activity
      // changes, any other (not here yet, a storage error) tried again at the next change of the list.
      if (code !== "corrupt_document" && code !== "corrupt") unread = true;
    }
    const old = this.threads.get(summary.id);
    // A thread listed before its document arrived (synced from another device) shows fewer messages
    // than its summary counts: read again at the next change rather than taken as done.
    if (view && view.messages.length < summary.messageCount) unread = true;
    const entry: ThreadEntry = {
      fingerprint: unread ? "" : fingerprint(summary),
      ...this.listFields(summary),
      createdAt: summary.createdAt,
      docs: {},
    };
    if (!view) {
      this.setEntry(summary.id, { ...entry, docs: old?.docs ?? {} });
      return;
    }
    const docs: Doc[] = [];
    for (const message of view.messages) {
      if (!message.content) continue;
      const id = docId("m", view.id, message.id);
      docs.push({ id, kind: "message", threadId: view.id, messageId: message.id, role: message.role, createdAt: message.createdAt, text: message.content });
      entry.docs[id] = message.updatedAt;
    }
    for (const artifact of view.artifacts) {
      const id = docId("a", view.id, artifact.id);
      const text = `${artifact.title}\n${artifact.content}`;
      docs.push({ id, kind: "artifact", threadId: view.id, artifactId: artifact.id, messageId: artifact.messageId, createdAt: artifact.createdAt, text });
      entry.docs[id] = artifact.updatedAt;
    }
    for (const doc of docs) {
      const before = this.mini.getStoredFields(doc.id) as Stored | undefined;
      if (before && old?.docs[doc.id] === entry.docs[doc.id] && before.text === doc.text) continue;
      if (before) this.mini.replace(doc);
      else this.mini.add(doc);
      this.stats.docsIndexed += 1;
    }
    // What the thread no longer shows (another branch selected, a message gone) leaves the index.
    const titleId = docId("t", summary.id);
    const gone = Object.keys(old?.docs ?? {}).filter((id) => id !== titleId && !(id in entry.docs) && this.mini.has(id));
    if (gone.length) this.mini.discardAll(gone);
    this.setEntry(summary.id, entry);
  }

  /** The query's best matches, with the options' filters. */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchResult[]> {
    if (this.refreshing) await this.refreshing;
    else if (this.failed) await this.refresh();
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const queryTerms = terms(query, true);
    if (queryTerms.length === 0) return [];
    const { projectId, role, from, to, includeArchived = false } = opts;
    const unfiltered =
      projectId === undefined && role === undefined && from === undefined && to === undefined &&
      (includeArchived || this.archived() === 0);
    const hits = this.mini.search(query, unfiltered ? {} : {
      filter: (hit) => {
        const stored = hit as unknown as Stored;
        const thread = this.threads.get(stored.threadId);
        if (!thread || thread.status === "deleted") return false;
        if (!includeArchived && thread.status === "archived") return false;
        if (projectId !== undefined && thread.projectId !== projectId) return false;
        if (role !== undefined && stored.role !== role) return false;
        if (from !== undefined && stored.createdAt < from) return false;
        if (to !== undefined && stored.createdAt > to) return false;
        return true;
      },
    });
    return hits.slice(0, limit).map((hit) => {
      const stored = hit as unknown as Stored;
      const result: SearchResult = {
        threadId: stored.threadId,
        kind: stored.kind,
        title: this.threads.get(stored.threadId)?.title ?? "",
        createdAt: stored.createdAt,
        ...snippet(stored.text, queryTerms),
        score: hit.score,
      };
      if (stored.messageId !== undefined) result.messageId = stored.messageId;
      if (stored.artifactId !== undefined) result.artifactId = stored.artifactId;
      if (stored.role !== undefined) result.role = stored.role;
      return result;
    });
  }

  /** How many indexed threads are archived (most stores have none: their searches need no filter). */
  private archived(): number {
    let count = 0;
    for (const entry of this.threads.values()) if (entry.status === "archived") count += 1;
    return count;
  }

  private changed(threadId: string): void {
    this.unsaved.add(threadId);
    this.stats.documents = this.mini.documentCount;
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (!this.db || this.closed) return;
    const now = Date.now();
    if (!this.saveTimer) this.firstUnsaved = now;
    clearTimeout(this.saveTimer);
    const wait = Math.max(0, Math.min(SAVE_AFTER_MS, this.firstUnsaved + SAVE_AT_MOST_MS - now));
    this.saveTimer = setTimeout(() => void this.save(), wait);
  }

  /**
   * Writes what changed since the last save: the changed threads' journal records, or a whole
   * snapshot after a (re)build or once the journal has grown large.
   */
  save(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const db = this.db;
    if (!db || (!this.snapshotDue && this.unsaved.size === 0)) return this.saving;
    const started = performance.now();
    let journalDocs = 0;
    for (const count of this.journal.values()) journalDocs += count;
    let write: () => Promise<void>;
    let undo: () => void;
    if (this.snapshotDue || journalDocs > SNAPSHOT_AFTER_DOCS) {
      const snapshot = {
        format: FORMAT_VERSION,
        tokenizer: TOKENIZER_VERSION,
        index: JSON.stringify(this.mini),
        threads: Object.fromEntries(this.threads),
      };
      const [journal, unsaved] = [this.journal, this.unsaved];
      this.snapshotDue = false;
      this.journal = new Map();
      this.unsaved = new Set();
      write = async () => {
        await saveSnapshot(db, snapshot);
        this.stats.snapshots += 1;
        this.stats.snapshotChars = snapshot.index.length;
      };
      undo = () => {
        this.snapshotDue = true;
        for (const [id, count] of journal) this.journal.set(id, count);
        for (const id of unsaved) this.unsaved.add(id);
      };
    } else {
      const records = new Map<string, JournalRecord>();
      for (const threadId of this.unsaved) {
        const entry = this.threads.get(threadId) ?? null;
        const docs = Object.keys(entry?.docs ?? {}).flatMap((id) => {
          const stored = this.mini.getStoredFields(id) as Stored | undefined;
          return stored ? [{ ...stored, id }] : [];
        });
        records.set(threadId, { format: FORMAT_VERSION, tokenizer: TOKENIZER_VERSION, entry, docs });
        this.journal.set(threadId, docs.length);
      }
      this.unsaved = new Set();
      write = async () => {
        await saveJournal(db, records);
        this.stats.journalWrites += 1;
      };
      undo = () => {
        for (const id of records.keys()) this.unsaved.add(id);
      };
    }
    this.stats.lastSaveMs = performance.now() - started;
    this.saving = this.saving.then(write).catch(() => {
      // Not saved (quota, the database deleted): written with the next save; until then a reload
      // reads again what is missing.
      undo();
    });
    return this.saving;
  }

  /** Saves what is unsaved and stops following the store (its `close()` calls this). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.refreshing?.catch(() => {});
    this.closed = true;
    await this.save();
    this.dispose();
  }
}

/** Checks `store.search`'s arguments: a refusal is a ChatsyncError `invalid_input`. */
export function checkSearchArgs(query: unknown, opts: unknown): void {
  const refuse = (message: string) => {
    throw new ChatsyncError("invalid_input", `store.search: ${message}`);
  };
  if (typeof query !== "string") refuse("the query must be a string");
  if (opts === undefined || opts === null) return;
  if (typeof opts !== "object") refuse("the options must be an object");
  const o = opts as Record<string, unknown>;
  if (o.projectId !== undefined && typeof o.projectId !== "string") refuse("projectId must be a string");
  if (o.role !== undefined && !ROLES.includes(o.role as Role)) refuse(`role must be one of ${ROLES.join(", ")}`);
  for (const key of ["from", "to"]) {
    if (o[key] !== undefined && !Number.isFinite(o[key])) refuse(`${key} must be a time in ms`);
  }
  if (o.includeArchived !== undefined && typeof o.includeArchived !== "boolean") refuse("includeArchived must be a boolean");
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && (o.limit as number) >= 1 && (o.limit as number) <= MAX_LIMIT)) {
    refuse(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
}
