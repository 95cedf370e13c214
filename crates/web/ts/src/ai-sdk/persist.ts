// persistUIMessageStream: writes an AI SDK UI message stream (UIMessageChunks, what
// `toUIMessageStream()` / `createUIMessageStream()` make and `useChat` consumes) into a thread as one
// assistant message with ordered parts: text and reasoning stream into parts of their own, tool calls
// and approvals into the thread's records (their parts in the message), sources, files, data parts
// and step boundaries as parts, metadata merged as `useChat` merges it, and the end of the stream
// finishes the message with the status (and finish reason, or error) it deserves. As the relay's
// `/api/stream` stores the same stream (docs/message-parts.md).
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
  // The stream's text and reasoning ids only route deltas (a later step may reuse one): each start
  // makes a part with an id of its own.
  const streamParts = new Map<string, string>();
  const prefix = Math.random().toString(36).slice(2, 10);
  let partCount = 0;
  const begin = (metadata?: unknown, uiId?: string) => {
    if (messageId) return messageId;
    const merged: { [key: string]: JsonValue } = { ...options.metadata };
    if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) Object.assign(merged, metadata);
    const withMetadata = Object.keys(merged).length ? { metadata: merged } : {};
    // The UIMessage's id is the message's own; one chatsync refuses is kept in the metadata instead.
    messageId = uiId
      ? withOwnId(
          (id) => thread.appendMessage(id ? { id, role: "assistant", ...withMetadata } : { role: "assistant", metadata: { ...merged, [UI_MESSAGE_ID]: uiId } }).id,
          uiId,
        )
      : thread.appendMessage({ role: "assistant", ...withMetadata }).id;
    return messageId;
  };
  const startPart = (type: "text" | "reasoning", streamId: string) => {
    const id = `${prefix}-${++partCount}`;
    thread.appendPart(begin(), { type, id });
    streamParts.set(`${type}:${streamId}`, id);
  };
  const delta = (type: "text" | "reasoning", streamId: string, text: string) => {
    let part = streamParts.get(`${type}:${streamId}`);
    if (!part) {
      // A delta with no start before it: its part begins here.
      startPart(type, streamId);
      part = streamParts.get(`${type}:${streamId}`)!;
    }
    thread.appendDelta(begin(), text, { part });
  };
  const startCall = (toolCallId: string, toolName: string, input: unknown, streaming: { dynamic?: boolean; inputStreaming?: boolean } = {}) => {
    const existing = calls.get(toolCallId);
    if (existing) return existing;
    const messageId = begin();
    const flags = { ...(streaming.dynamic ? { dynamic: true } : {}), ...(streaming.inputStreaming ? { inputStreaming: true } : {}) };
    const id = withOwnId(
      (id) => thread.startToolCall({ ...(id ? { id } : {}), messageId, toolName, providerCallId: toolCallId, input: (input ?? null) as JsonValue, status: "running", ...flags }),
      toolCallId,
    );
    calls.set(toolCallId, id);
    return id;
  };
  const mergeMetadata = (metadata: unknown) => {
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return;
    thread.updateMessageMetadata(begin(), metadata as { [key: string]: JsonValue }, { merge: true });
  };
  const finish = (end: PersistResult, finishReason?: string): PersistResult => {
    if (end.messageId && end.status !== "interrupted") {
      thread.finishMessage(end.messageId, {
        status: end.status,
        ...(finishReason ? { finishReason } : {}),
        ...(end.status === "error" && end.errorText ? { error: end.errorText } : {}),
      });
    }
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
          if (options.messageId) mergeMetadata(chunk.messageMetadata);
          break;
        case "start-step":
          thread.appendPart(begin(), { type: "step-start" });
          break;
        case "text-start":
          startPart("text", chunk.id);
          break;
        case "text-delta":
          delta("text", chunk.id, chunk.delta);
          break;
        case "reasoning-start":
          startPart("reasoning", chunk.id);
          break;
        case "reasoning-delta":
          delta("reasoning", chunk.id, chunk.delta);
          break;
        case "tool-input-start":
          startCall(chunk.toolCallId, chunk.toolName, null, { dynamic: chunk.dynamic, inputStreaming: true });
          break;
        case "tool-input-available": {
          const existing = calls.get(chunk.toolCallId);
          if (existing) thread.setToolCallInput(existing, (chunk.input ?? null) as JsonValue);
          else startCall(chunk.toolCallId, chunk.toolName, chunk.input, { dynamic: chunk.dynamic });
          break;
        }
        case "tool-input-error":
          thread.finishToolCall(startCall(chunk.toolCallId, chunk.toolName, chunk.input, { dynamic: chunk.dynamic }), { status: "failed", error: chunk.errorText });
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
          const call = calls.get(chunk.toolCallId);
          const subject = call ?? chunk.toolCallId;
          const messageId = begin();
          withOwnId(
            (id) => thread.requestApproval({ ...(id ? { id } : {}), kind: TOOL_APPROVAL_KIND, subject, messageId, ...(call ? { toolCallId: call } : {}) }),
            chunk.approvalId,
          );
          break;
        }
        case "tool-approval-response":
          decide(thread, chunk.approvalId, chunk.approved, chunk.reason);
          break;
        case "source-url":
          thread.appendPart(begin(), { type: "source-url", sourceId: chunk.sourceId, url: chunk.url, ...(chunk.title !== undefined ? { title: chunk.title } : {}) });
          break;
        case "source-document":
          thread.appendPart(begin(), {
            type: "source-document", sourceId: chunk.sourceId, mediaType: chunk.mediaType, title: chunk.title,
            ...(chunk.filename !== undefined ? { filename: chunk.filename } : {}),
          });
          break;
        case "file":
          thread.appendPart(begin(), { type: "file", mediaType: chunk.mediaType, url: chunk.url });
          break;
        case "message-metadata":
          mergeMetadata(chunk.messageMetadata);
          break;
        case "reset-step":
          if (messageId) thread.resetStep(messageId);
          break;
        case "finish":
          begin();
          mergeMetadata(chunk.messageMetadata);
          return finish({ messageId, status: "complete" }, chunk.finishReason);
        case "abort":
          return finish({ messageId: begin(), status: "cancelled" });
        case "error":
          return finish({ messageId: begin(), status: "error", errorText: chunk.errorText });
        default: {
          const data = chunk as { type: string; id?: string; data?: unknown; transient?: boolean };
          if (data.type.startsWith("data-") && !data.transient) {
            thread.appendPart(begin(), { type: data.type as `data-${string}`, ...(data.id !== undefined ? { id: data.id } : {}), data: (data.data ?? null) as JsonValue });
          }
          // Input deltas are transient: the call's input is whole with tool-input-available.
          // text-end, reasoning-end, finish-step: nothing to store.
          break;
        }
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
