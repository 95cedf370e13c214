// The `chatsync/export` entry: export and import of threads, as functions of a store. The same
// calls are store methods (`store.exportThread`, `store.exportAll`, `store.importThreads`), which
// load this module on first use, so the parsers cost an app nothing until then.
import type { ChatStore, Thread } from "../web/chatsync.js";
import { exportEverything, exportOpenThread, importChatsync, withThread, wrap } from "./chatsync.js";
import { planChatGPT } from "./chatgpt.js";
import { planClaude } from "./claude.js";
import type { ChatsyncExport, ExportFormat, ExportFormats, ImportFormat, ImportOptions, ImportResult } from "./format.js";
import { invalid, kindOf, record } from "./invalid.js";
import { toMarkdown } from "./markdown.js";
import { writePlans } from "./plan.js";

export type {
  ChatsyncExport, ExportedThread, ExportFormat, ExportFormats, ImportFormat, ImportLoss, ImportOptions,
  ImportResult, ImportSkip, ImportedFrom,
} from "./format.js";
export { EXPORT_VERSION } from "./format.js";
export { toMarkdown } from "./markdown.js";

const writers: { [F in ExportFormat]: (thread: Thread) => ExportFormats[F] } = {
  json: (thread) => wrap([exportOpenThread(thread)]),
  markdown: (thread) => toMarkdown(thread.view()),
  automerge: (thread) => thread.save(),
};

/**
 * One thread: `json` (the default) a lossless {@link ChatsyncExport} holding it, `markdown` its
 * active branch as readable Markdown, `automerge` its Automerge document.
 */
export async function exportThread<F extends ExportFormat = "json">(
  store: ChatStore,
  id: string,
  options?: { format?: F },
): Promise<ExportFormats[F]> {
  const format: ExportFormat = options?.format ?? "json";
  const write: (thread: Thread) => ExportFormats[ExportFormat] = writers[format];
  if (!Object.hasOwn(writers, format)) {
    throw invalid(`unknown export format ${JSON.stringify(format)}: "json", "markdown" or "automerge"`);
  }
  return withThread(store, id, write) as Promise<ExportFormats[F]>;
}

/** Every thread of the store (archived ones too), lossless. */
export function exportAll(store: ChatStore): Promise<ChatsyncExport> {
  return exportEverything(store);
}

/**
 * Imports threads: a chatsync export (an exact copy of each thread), ChatGPT's or Claude's
 * `conversations.json` (as text, or parsed), or a thread's Automerge bytes. Each becomes a new
 * thread with a new id. The input is read whole first: anything malformed is refused
 * (`invalid_input`) before a thread is written, and a write the store refuses undoes the import.
 */
export async function importThreads(
  store: ChatStore,
  data: unknown,
  options?: ImportOptions,
): Promise<ImportResult> {
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    const format = options?.format;
    if (format !== undefined && format !== "chatsync" && format !== "automerge") {
      throw invalid(`bytes are a chatsync thread's Automerge document, not a ${format} export`);
    }
    const id = store.loadThread(new Uint8Array(data));
    await store.flush();
    return { imported: [id], skipped: [], lost: [] };
  }
  const parsed = typeof data === "string" ? parseJson(data) : data;
  const format = options?.format ?? detect(parsed);
  switch (format) {
    case "chatsync":
      return importChatsync(store, parsed);
    case "chatgpt":
      return writePlans(store, planChatGPT(parsed));
    case "claude":
      return writePlans(store, planClaude(parsed));
    case "automerge":
      throw invalid(`format "automerge" takes a thread's Automerge bytes (a Uint8Array), not ${kindOf(parsed)}`);
    default:
      throw invalid(`unknown import format ${JSON.stringify(format)}: "chatsync", "chatgpt" or "claude"`);
  }
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    throw invalid(`the import is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The format of parsed input, from its shape. */
function detect(data: unknown): ImportFormat {
  if (record(data)?.format === "chatsync") return "chatsync";
  const first = Array.isArray(data) ? record(data[0]) : record(data);
  if (first && "mapping" in first) return "chatgpt";
  if (first && "chat_messages" in first) return "claude";
  if (Array.isArray(data) && data.length === 0) return "chatgpt"; // nothing to import either way
  throw invalid(
    `not an export chatsync knows (${kindOf(data)}): a chatsync export, or ChatGPT's or Claude's conversations.json`,
  );
}
