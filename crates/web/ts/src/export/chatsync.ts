// chatsync's own export and import: every branch, artifact, tool call, approval, context entry and
// setting as JSON, with the Automerge document from which an import makes an exact copy.
import type { ChatStore, Thread } from "../web/chatsync.js";
import { fromBase64, toBase64 } from "./base64.js";
import { EXPORT_VERSION, type ChatsyncExport, type ExportedThread, type ImportResult } from "./format.js";
import { invalid, kindOf, record, text } from "./invalid.js";
import { undo } from "./plan.js";
import { ChatsyncError } from "../errors.js";

/** One open thread, exported. */
export function exportOpenThread(thread: Thread): ExportedThread {
  const active = thread.view().messages;
  const { messages, pendingApprovals: approvals, readOnly: _readOnly, ...fields } = thread.fullView();
  return {
    ...fields,
    messages,
    activePath: active.map((m) => m.id),
    approvals,
    automerge: toBase64(thread.save()),
  };
}

/** Opens the thread, gives it to `read`, and closes it again. */
export async function withThread<T>(store: ChatStore, id: string, read: (thread: Thread) => T): Promise<T> {
  const thread = await store.openThread(id);
  try {
    return read(thread);
  } finally {
    thread.close();
  }
}

export function wrap(threads: ExportedThread[]): ChatsyncExport {
  return { format: "chatsync", version: EXPORT_VERSION, exportedAt: Date.now(), threads };
}

/** Every thread of the store, archived ones too (deleted ones are gone). */
export async function exportEverything(store: ChatStore): Promise<ChatsyncExport> {
  const list = await store.listThreads({ includeArchived: true });
  const threads: ExportedThread[] = [];
  for (const summary of list) threads.push(await withThread(store, summary.id, exportOpenThread));
  return wrap(threads);
}

/**
 * Imports a chatsync export: each thread is an exact copy from its Automerge bytes, under a new id.
 * The whole export is checked first; a thread the store refuses undoes the ones imported before it.
 */
export async function importChatsync(store: ChatStore, data: unknown): Promise<ImportResult> {
  const documents = readExport(data);
  const imported: string[] = [];
  try {
    for (const bytes of documents) imported.push(store.loadThread(bytes));
    await store.flush();
  } catch (error) {
    await undo(store, imported);
    const code = error instanceof ChatsyncError ? error.code : "storage";
    const why = error instanceof Error ? error.message : String(error);
    throw new ChatsyncError(code, `thread ${imported.length} of the export: ${why}; the import was undone (no thread was kept)`, {
      cause: error,
    });
  }
  return { imported, skipped: [], lost: [] };
}

/** The Automerge documents of a chatsync export, or its refusal naming what is wrong. */
function readExport(data: unknown): Uint8Array[] {
  const root = record(data);
  if (!root || root.format !== "chatsync") {
    throw invalid(`a chatsync export is an object with format "chatsync" (got ${root ? JSON.stringify(root.format ?? null) : kindOf(data)})`);
  }
  if (typeof root.version !== "number" || !Number.isInteger(root.version) || root.version < 1) {
    throw invalid(`a chatsync export has a version number (got ${JSON.stringify(root.version ?? null)})`);
  }
  if (root.version > EXPORT_VERSION) {
    throw invalid(`this export is format version ${root.version}, newer than this chatsync reads (${EXPORT_VERSION}): update chatsync first`);
  }
  if (!Array.isArray(root.threads)) throw invalid(`a chatsync export has a "threads" list (got ${kindOf(root.threads)})`);
  return root.threads.map((value, i) => {
    const thread = record(value);
    const encoded = text(thread?.automerge);
    if (encoded === undefined) throw invalid(`thread ${i} of the export has no "automerge" document (base64)`);
    const bytes = fromBase64(encoded);
    if (!bytes || bytes.length === 0) throw invalid(`thread ${i} of the export: "automerge" is not base64 bytes`);
    return bytes;
  });
}
