// The index's place in IndexedDB: a database of its own beside the store's (named after it,
// `<dbName>/search`), so the store's schema and upgrades never involve it, holding one record — the
// serialised index together with what it was built from (each thread's fingerprint and each
// document's updatedAt), so the two are always written, and lost, together.
import type { ThreadStatus } from "../web/chatsync.js";

/** Bump when the record's shape changes: an older record is rebuilt, never read. */
export const FORMAT_VERSION = 1;

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

export interface PersistedIndex {
  format: number;
  tokenizer: number;
  /** MiniSearch's `JSON.stringify(index)`. */
  index: string;
  threads: Record<string, ThreadEntry>;
}

const STORE = "index";
const KEY = "state";

/** The database's name for a store's `dbName`. */
export function searchDbName(dbName: string): string {
  return `${dbName}/search`;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens (creating) the database; `null` where IndexedDB is refused: the index then lives in memory. */
export async function openSearchDb(name: string): Promise<IDBDatabase | null> {
  try {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
    };
    const db = await request(open);
    // Someone deletes or upgrades the database: let them (the index is rebuilt when needed).
    db.onversionchange = () => db.close();
    return db;
  } catch {
    return null;
  }
}

/** The stored record as it is (`unknown`: it may be damaged; the caller checks it). */
export async function loadRecord(db: IDBDatabase): Promise<unknown> {
  const tx = db.transaction(STORE, "readonly");
  return request(tx.objectStore(STORE).get(KEY));
}

export async function saveRecord(db: IDBDatabase, record: PersistedIndex): Promise<void> {
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).put(record, KEY);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Whether `value` has the record's shape and this version (its index is checked when loaded). */
export function isCurrentRecord(value: unknown, tokenizer: number): value is PersistedIndex {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Partial<PersistedIndex>;
  return (
    record.format === FORMAT_VERSION &&
    record.tokenizer === tokenizer &&
    typeof record.index === "string" &&
    typeof record.threads === "object" &&
    record.threads !== null &&
    Object.values(record.threads).every(
      (entry) =>
        typeof entry === "object" &&
        entry !== null &&
        typeof entry.fingerprint === "string" &&
        typeof entry.title === "string" &&
        typeof entry.docs === "object" &&
        entry.docs !== null,
    )
  );
}
