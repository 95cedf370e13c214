// persistUIMessageStream: writes an AI SDK UI message stream (UIMessageChunks, what
// `toUIMessageStream()` / `createUIMessageStream()` make and `useChat` consumes) into a thread as one
// assistant message: text deltas stream into its content, tool calls and approvals into the thread's
// records, and the end of the stream finishes the message with the status it deserves.
import type { UIMessageChunk } from "ai";
import type { JsonValue, MessageEnd, Thread } from "../index.js";
import { isChatsyncErrorCode } from "../errors.js";
import { TOOL_APPROVAL_KIND, UI_MESSAGE_ID } from "./messages.js";

export interface PersistOptions {
  /** Aborting it stops reading and finishes the message as `cancelled`. */
  signal?: AbortSignal;
  /** Stream into this (pending) chatsync message rather than appending a new one. */
  messageId?: string;
  /** Metadata of the new message (the stream's `start` chunk adds its own). */
  metadata?: { [key: string]: JsonValue };
}

export interface PersistResult {
  /** The chatsync message the reply went into ("" if the stream ended before it began). */
  messageId: string;
  /**
   * How the message was finished; `interrupted`: not finished, because the page is going away
   * (a reload, a closed tab) and that cut the stream: the reply stays open, shown as `interrupted`,
   * and a server that still has it can resume it (`chatsyncTransport`'s `reconnectToStream`).
   */
  status: MessageEnd["status"] | "interrupted";
  /** The stream's error text, when `status` is "error". */
  errorText?: string;
}

// A page being unloaded cuts its fetches: that is no error of the reply, which goes on at the server.
let unloading = false;
globalThis.addEventListener?.("pagehide", (event) => (unloading = !(event as PageTransitionEvent).persisted));
globalThis.addEventListener?.("pageshow", () => (unloading = false));

// Ids the caller chose (the model's tool call and approval ids) are kept where chatsync accepts them;
// one it refuses as malformed is replaced by a generated id, with the original kept alongside.
function withOwnId<T>(write: (id: string | undefined) => T, id: string): T {
  try {
    return write(id);
  } catch (error) {
    if ((error as { code?: unknown }).code === "invalid_input") return write(undefined);
    throw error;
  }
}

/**
 * Reads `stream` to its end and writes it into `thread`. Resolves once the message is finished
 * (`complete` on `finish`, `cancelled` on `abort` or when `signal` aborts, `error` on an `error`
 * chunk or a stream that fails); rejects only when chatsync refuses a write (a ChatsyncError).
 */
export async function persistUIMessageStream(
  thread: Thread,
  stream: ReadableStream<UIMessageChunk>,
  options: PersistOptions = {},
): Promise<PersistResult> {
  const { signal } = options;
  let messageId = options.messageId ?? "";
  const calls = new Map<string, string>(); // the model's tool call id -> chatsync's
  const begin = (metadata?: unknown, uiId?: string) => {
    if (messageId) return messageId;
    const merged: { [key: string]: JsonValue } = { ...options.metadata };
    if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) Object.assign(merged, metadata);
    if (uiId) merged[UI_MESSAGE_ID] = uiId;
    messageId = thread.appendMessage({ role: "assistant", ...(Object.keys(merged).length ? { metadata: merged } : {}) }).id;
    return messageId;
  };
  const startCall = (toolCallId: string, toolName: string, input: unknown) => {
    const existing = calls.get(toolCallId);
    if (existing) return existing;
    const messageId = begin();
    const id = withOwnId(
      (id) => thread.startToolCall({ ...(id ? { id } : {}), messageId, toolName, providerCallId: toolCallId, input: (input ?? null) as JsonValue, status: "running" }),
      toolCallId,
    );
    calls.set(toolCallId, id);
    return id;
  };
  const finish = (end: PersistResult): PersistResult => {
    if (end.messageId && end.status !== "interrupted") thread.finishMessage(end.messageId, { status: end.status });
    return end;
  };

  const reader = stream.getReader();
  const aborted = new Promise<"aborted">((resolve) => {
    if (signal?.aborted) resolve("aborted");
    signal?.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
  try {
    for (;;) {
      let next: ReadableStreamReadResult<UIMessageChunk> | "aborted";
      try {
        next = await Promise.race([reader.read(), aborted]);
      } catch (error) {
        // The stream itself failed (a dropped connection, an aborted fetch).
        if (signal?.aborted) return finish({ messageId, status: "cancelled" });
        if (unloading) return { messageId, status: "interrupted" };
        return finish({ messageId: begin(), status: "error", errorText: String((error as Error)?.message ?? error) });
      }
      if (next === "aborted") {
        reader.cancel().catch(() => {});
        return finish({ messageId, status: "cancelled" });
      }
      if (next.done) return finish({ messageId, status: "complete" });
      const chunk = next.value;
      switch (chunk.type) {
        case "start":
          begin(chunk.messageMetadata, chunk.messageId);
          break;
        case "text-delta":
          thread.appendDelta(begin(), chunk.delta);
          break;
        case "tool-input-available":
          startCall(chunk.toolCallId, chunk.toolName, chunk.input);
          break;
        case "tool-input-error":
          thread.finishToolCall(startCall(chunk.toolCallId, chunk.toolName, chunk.input), { status: "failed", error: chunk.errorText });
          break;
        case "tool-output-available": {
          const id = calls.get(chunk.toolCallId);
          if (id && !chunk.preliminary) thread.finishToolCall(id, { status: "completed", output: (chunk.output ?? null) as JsonValue });
          break;
        }
        case "tool-output-error":
        case "tool-output-denied": {
          const id = calls.get(chunk.toolCallId);
          const error = chunk.type === "tool-output-error" ? chunk.errorText : "denied";
          if (id) thread.finishToolCall(id, { status: "failed", error });
          break;
        }
        case "tool-approval-request": {
          const subject = calls.get(chunk.toolCallId) ?? chunk.toolCallId;
          const messageId = begin();
          withOwnId(
            (id) => thread.requestApproval({ ...(id ? { id } : {}), kind: TOOL_APPROVAL_KIND, subject, messageId }),
            chunk.approvalId,
          );
          break;
        }
        case "tool-approval-response":
          decide(thread, chunk.approvalId, chunk.approved, chunk.reason);
          break;
        case "finish":
          return finish({ messageId: begin(), status: "complete" });
        case "abort":
          return finish({ messageId: begin(), status: "cancelled" });
        case "error":
          return finish({ messageId: begin(), status: "error", errorText: chunk.errorText });
        default:
          // Reasoning, files, sources, data parts and step boundaries: stored once chatsync has
          // ordered parts. Input deltas are transient: the call is recorded when its input is whole.
          break;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Records a person's decision on a tool call's approval, unless it is already decided. */
export function decide(thread: Thread, approvalId: string, approved: boolean, reason?: string): void {
  try {
    thread.decideApproval(approvalId, { approve: approved, decidedBy: "user", ...(reason ? { reason } : {}) });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Decided already (by this tab earlier, or another device), or unknown here: nothing to record.
    if (!isChatsyncErrorCode(code) || (code !== "invalid_transition" && code !== "not_found")) throw error;
  }
}
