// The export methods of `ChatStore`: `exportThread`, `exportAll` and `importThreads`, declared on the
// class and added to it here. Each loads `chatsync/export` (./index.js) on first use, so the core
// entry stays small and the import parsers load only when an app imports.
import { ChatStore } from "../web/chatsync.js";
import type { ChatsyncExport, ExportFormat, ExportFormats, ImportOptions, ImportResult } from "./format.js";

declare module "../web/chatsync.js" {
  interface ChatStore {
    /**
     * Exports one thread: `format: "json"` (the default) a lossless {@link ChatsyncExport} — every
     * branch, artifact, tool call, approval, context entry and setting, and the Automerge document
     * for an exact copy; `"markdown"` the active branch as readable Markdown; `"automerge"` the
     * Automerge document's bytes.
     */
    exportThread<F extends ExportFormat = "json">(id: string, options?: { format?: F }): Promise<ExportFormats[F]>;
    /** Exports every thread (archived ones too) as one lossless {@link ChatsyncExport}. */
    exportAll(): Promise<ChatsyncExport>;
    /**
     * Imports threads from a chatsync export (exact copies), ChatGPT's or Claude's
     * `conversations.json` (text or parsed; `format` is recognised when omitted), or a thread's
     * Automerge bytes. Every thread imported gets a new id (importing twice makes two copies). Malformed
     * input is refused (`invalid_input`) before anything is written; `lost` reports, per
     * conversation, what could not be carried over.
     */
    importThreads(data: unknown, options?: ImportOptions): Promise<ImportResult>;
  }
}

const load = () => import("./index.js");

ChatStore.prototype.exportThread = async function exportThread(this: ChatStore, id, options) {
  return (await load()).exportThread(this, id, options);
};
ChatStore.prototype.exportAll = async function exportAll(this: ChatStore) {
  return (await load()).exportAll(this);
};
ChatStore.prototype.importThreads = async function importThreads(this: ChatStore, data, options) {
  return (await load()).importThreads(this, data, options);
};
