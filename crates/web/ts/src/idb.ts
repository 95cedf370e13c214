// IndexedDB's callbacks as promises, for the JS layer's own reads of the store's database (the
// core's reads and writes are crates/web/src/idb.rs).

/** A request's result, or its error. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * The store's database `dbName` as it is (no version asked: never an upgrade). Rejects when there
 * is none: the store made its database when it opened, so a new one here means there is none, and
 * the aborted upgrade leaves none behind.
 */
export function openExisting(dbName: string): Promise<IDBDatabase> {
  const open = indexedDB.open(dbName);
  open.onupgradeneeded = () => open.transaction?.abort();
  return request(open);
}
