// An import planned before anything is written: the ChatGPT and Claude parsers turn their input into
// `PlannedThread`s (or refuse it whole), and `writePlans` writes them through the store's own API —
// so an imported thread is like any other, synced and searchable. A write the store refuses undoes
// the whole import (the threads made so far are deleted) before the error is rethrown.
import { ChatsyncError } from "../errors.js";
import type { ChatStore, JsonValue, Role, Thread } from "../web/chatsync.js";
import type { ImportLoss, ImportResult, ImportSkip } from "./format.js";

/** The store's limits (crates/model/src/limits.rs): content is cut to fit, titles too. */
export const MAX_CONTENT_BYTES = 1 << 20;
const MAX_TITLE_CHARS = 1000;

export interface PlannedToolCall {
  toolName: string;
  providerCallId?: string;
  input: JsonValue;
  output?: JsonValue;
  error?: string;
}

export interface PlannedMessage {
  /** Its id in the source: what children and `activeKey` refer to. */
  key: string;
  /** The source id of the message it answers (the nearest one imported); none at the root. */
  parentKey?: string;
  role: Role;
  content: string;
  status: "complete" | "error" | "cancelled";
  provider?: string;
  model?: string;
  metadata?: { [key: string]: JsonValue };
  toolCalls: PlannedToolCall[];
}

export interface PlannedThread {
  index: number;
  sourceId?: string;
  title?: string;
  /** Parents before their children; siblings (messages with one parent) become branches. */
  messages: PlannedMessage[];
  /** The message whose branch shows (its ancestors' too); the newest branches when absent. */
  activeKey?: string;
  /** What could not be carried over, one line per kind. */
  lost: string[];
}

/** Counts of what was left out, as the report's lines: `2 images (image_asset_pointer)`. */
export class Losses {
  private readonly counts = new Map<string, number>();

  add(what: string, count = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + count);
  }

  lines(): string[] {
    return [...this.counts].map(([what, n]) => (n === 1 ? what : `${what} ×${n}`));
  }
}

/** The store's limit on a JSON value (metadata, a tool call's input or output), with room to spare. */
export const MAX_JSON_BYTES = 200_000;

/** The UTF-8 size of `text`. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * `value` if its JSON fits the store's limit, else a small stand-in naming its size — and the loss
 * counted as `what`: one oversized tool result must not make the store refuse the whole import.
 */
export function fitJson(value: JsonValue, what: string, losses: Losses): JsonValue {
  const bytes = byteLength(JSON.stringify(value));
  if (bytes <= MAX_JSON_BYTES) return value;
  losses.add(`${what} over ${MAX_JSON_BYTES / 1000} KB`);
  return { omitted: `${bytes} bytes of JSON, over the store's limit` };
}

/** `content` cut to the store's limit (on a character boundary), and whether it was cut. */
export function fitContent(content: string): [string, boolean] {
  const bytes = new TextEncoder().encode(content);
  if (bytes.length <= MAX_CONTENT_BYTES) return [content, false];
  const cut = new TextDecoder().decode(bytes.subarray(0, MAX_CONTENT_BYTES - 4)).replace(/\uFFFD$/, "");
  return [cut, true];
}

/** Writes the planned threads; every one gets a new id. */
export async function writePlans(store: ChatStore, plans: PlannedThread[]): Promise<ImportResult> {
  const imported: string[] = [];
  const skipped: ImportSkip[] = [];
  const lost: ImportLoss[] = [];
  try {
    for (const plan of plans) {
      const who = { index: plan.index, sourceId: plan.sourceId, title: plan.title };
      if (plan.messages.length === 0) {
        skipped.push({ reason: "it has no messages to import", ...defined(who) });
        continue;
      }
      const threadId = await writePlan(store, plan, imported);
      if (plan.lost.length > 0) lost.push({ threadId, ...defined(who), items: plan.lost });
    }
  } catch (error) {
    await undo(store, imported);
    const code = error instanceof ChatsyncError ? error.code : "storage";
    const why = error instanceof Error ? error.message : String(error);
    throw new ChatsyncError(code, `the import was undone (no thread was kept): ${why}`, { cause: error });
  }
  return { imported, skipped, lost };
}

/** Deletes the threads an import made before it failed. */
export async function undo(store: ChatStore, ids: string[]): Promise<void> {
  for (const id of ids) await store.deleteThread(id).catch(() => {});
}

async function writePlan(store: ChatStore, plan: PlannedThread, made: string[]): Promise<string> {
  const title = plan.title?.trim().slice(0, MAX_TITLE_CHARS);
  const summary = await store.createThread(title ? { title } : {});
  made.push(summary.id);
  const thread = await store.openThread(summary.id);
  try {
    const ids = new Map<string, string>();
    // The first message written under each parent: later ones become its variants (branches).
    const firstChild = new Map<string | undefined, { id: string; role: Role }>();
    for (const message of plan.messages) {
      const parentId = message.parentKey === undefined ? undefined : ids.get(message.parentKey);
      const first = firstChild.get(parentId);
      let id: string;
      if (first && first.role === message.role) {
        id = writeVariant(thread, first.id, message);
      } else {
        if (first) plan.lost.push(`a ${message.role} message beside a ${first.role} one: shown after it, not as a branch`);
        id = thread.appendMessage({
          role: message.role,
          content: message.content,
          status: message.status,
          ...(parentId !== undefined && { parentId }),
          ...(message.provider !== undefined && { provider: message.provider }),
          ...(message.model !== undefined && { model: message.model }),
          ...(message.metadata !== undefined && { metadata: message.metadata }),
        }).id;
        if (!first) firstChild.set(parentId, { id, role: message.role });
      }
      ids.set(message.key, id);
      for (const call of message.toolCalls) {
        const callId = thread.startToolCall({
          messageId: id,
          toolName: call.toolName,
          input: call.input,
          status: "running",
          ...(call.providerCallId !== undefined && { providerCallId: call.providerCallId }),
        });
        if (call.error !== undefined) thread.finishToolCall(callId, { status: "failed", error: call.error });
        else if (call.output !== undefined) thread.finishToolCall(callId, { status: "completed", output: call.output });
      }
    }
    const active = plan.activeKey === undefined ? undefined : ids.get(plan.activeKey);
    if (active !== undefined) thread.selectBranch(active);
  } finally {
    thread.close();
  }
  await store.flush();
  return summary.id;
}

/**
 * A branch beside `original` (a sibling with the same parent): an assistant's through
 * `regenerateMessage` (which keeps its provider and model), any other through `editMessage`. The
 * store makes variants from their sibling, so they carry no metadata of their own.
 */
function writeVariant(thread: Thread, original: string, message: PlannedMessage): string {
  if (message.role === "assistant") {
    const id = thread.regenerateMessage(original, message.provider, message.model).id;
    if (message.content) thread.appendDelta(id, message.content);
    thread.finishMessage(id, { status: message.status });
    return id;
  }
  return thread.editMessage(original, message.content).id;
}

function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
