// The index's place in IndexedDB: a database of its own beside the store's (named after it,
// `<dbName>/search`), so the store's schema and upgrades never involve it. Two object stores:
//   - `index`, key `snapshot`: the whole serialised index with what it was built from (each
//     thread's fingerprint and each document's updatedAt) — written when the index is first built
//     or rebuilt, and when the journal has grown (a few hundred ms for 10,000 messages);
//   - `journal`, key thread id: the thread's documents and entry as they are now, for every thread
//     that changed since the snapshot — what a streamed reply or a sync writes, one small record.
// Loading is the snapshot, then the journal over it.
import type { Role, ThreadStatus } from "../web/chatsync.js";
import type { SearchResultKind } from "./types.js";
import { request } from "../idb.js";

/** Bump when the records' shape changes: older records are rebuilt, never read. */
export const FORMAT_VERSION = 1;

/** One indexed document: a thread's title, a message, an artifact. */
export interface IndexedDoc {
  id: string;
  kind: SearchResultKind;
  threadId: string;
  messageId?: string;
  artifactId?: string;
  role?: Role;
  createdAt: number;
  text: string;
}

/** What the index holds of one thread. */
export interface ThreadEntry {
  /** The thread list's `lastActivityAt` and `messageCount` when the thread was last read. */
  fingerprint: string;
  title: string;
  status: ThreadStatus;
  projectId?: string;
  createdAt: number;
  /** Each indexed document's id and the `updatedAt` it was indexed at. */
  docs: Record<string, number>;
}

export interface Snapshot {
  format: number;
  tokenizer: number;
  /** MiniSearch's `JSON.stringify(index)`. */
  index: string;
  threads: Record<string, ThreadEntry>;
}

/** A thread as it is now (`entry: null`: it was deleted). */
export interface JournalRecord {
  format: number;
  tokenizer: number;
  entry: ThreadEntry | null;
  docs: IndexedDoc[];
}

const INDEX = "index";
const JOURNAL = "journal";
const SNAPSHOT = "snapshot";

/** The database's name for a store's `dbName`. */
export function searchDbName(dbName: string): string {
  return `${dbName}/search`;
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Opens (creating) the database; `null` where IndexedDB is refused: the index then lives in memory. */
export async function openSearchDb(name: string): Promise<IDBDatabase | null> {
  try {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => {
      for (const store of [INDEX, JOURNAL]) {
        if (!open.result.objectStoreNames.contains(store)) open.result.createObjectStore(store);
      }
    };
    const db = await request(open);
    // Someone deletes or upgrades the database: let them (the index is rebuilt when needed).
    db.onversionchange = () => db.close();
    return db;
  } catch {
    return null;
  }
}

/** The stored records as they are (`unknown`: they may be damaged; the caller checks them). */
export async function loadRecords(db: IDBDatabase): Promise<{ snapshot: unknown; journal: Map<string, unknown> }> {
  const tx = db.transaction([INDEX, JOURNAL], "readonly");
  const journal = tx.objectStore(JOURNAL);
  const [snapshot, keys, values] = await Promise.all([
    request(tx.objectStore(INDEX).get(SNAPSHOT)),
    request(journal.getAllKeys()),
    request(journal.getAll()),
  ]);
  return { snapshot, journal: new Map(keys.map((key, i) => [String(key), values[i]])) };
}

/** Writes the whole index and empties the journal, in one transaction. */
export async function saveSnapshot(db: IDBDatabase, snapshot: Snapshot): Promise<void> {
  const tx = db.transaction([INDEX, JOURNAL], "readwrite");
  tx.objectStore(INDEX).put(snapshot, SNAPSHOT);
  tx.objectStore(JOURNAL).clear();
  await done(tx);
}

/** Writes these threads' journal records, in one transaction. */
export async function saveJournal(db: IDBDatabase, records: Map<string, JournalRecord>): Promise<void> {
  const tx = db.transaction(JOURNAL, "readwrite");
  const journal = tx.objectStore(JOURNAL);
  for (const [threadId, record] of records) journal.put(record, threadId);
  await done(tx);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

function isEntry(value: unknown): value is ThreadEntry {
  return (
    isObject(value) &&
    typeof value.fingerprint === "string" &&
    typeof value.title === "string" &&
    typeof value.status === "string" &&
    typeof value.createdAt === "number" &&
    isObject(value.docs)
  );
}

function isDoc(value: unknown): value is IndexedDoc {
  return (
    isObject(value) &&
    typeof value.id === "string" &&
    typeof value.threadId === "string" &&
    typeof value.kind === "string" &&
    typeof value.createdAt === "number" &&
    typeof value.text === "string"
  );
}

/** Whether `value` is a snapshot of this version (its index is checked when loaded). */
export function isSnapshot(value: unknown, tokenizer: number): value is Snapshot {
  return (
    isObject(value) &&
    value.format === FORMAT_VERSION &&
    value.tokenizer === tokenizer &&
    typeof value.index === "string" &&
    isObject(value.threads) &&
    Object.values(value.threads).every(isEntry)
  );
}

/** Whether `value` is a journal record of this version whose documents are the ones its entry lists. */
export function isJournalRecord(value: unknown, tokenizer: number, threadId: string): value is JournalRecord {
  if (!isObject(value) || value.format !== FORMAT_VERSION || value.tokenizer !== tokenizer) return false;
  if (!Array.isArray(value.docs) || !value.docs.every(isDoc)) return false;
  if (value.entry === null) return value.docs.length === 0;
  if (!isEntry(value.entry)) return false;
  const listed = Object.keys(value.entry.docs);
  return (
    listed.length === value.docs.length &&
    value.docs.every((doc) => doc.threadId === threadId && doc.id in (value.entry as ThreadEntry).docs)
  );
}
