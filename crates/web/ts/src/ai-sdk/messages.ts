// Between chatsync's messages and the AI SDK's UIMessage. A chatsync message holds ordered parts in
// the UIMessage part shapes (`message.parts`), used as they are. A message without them (from a
// store of before issue 15's parts, read through an older view) maps to its tool parts, in the order
// the calls started, followed by one text part.
import type { DynamicToolUIPart, ToolUIPart, UIMessage, UIMessagePart, UIDataTypes, UITools } from "ai";
import type { Approval, JsonValue, Message, NewMessage, NewPart, ToolCall, ThreadView } from "../index.js";

/**
 * Where an older version kept the UIMessage's id in a chatsync message's metadata; read still, so
 * those messages keep their UI id. New messages take the UIMessage's id as their own.
 */
export const UI_MESSAGE_ID = "uiMessageId";
/** Where non-object UIMessage metadata is kept in a chatsync message's metadata. */
export const UI_METADATA = "uiMetadata";
/** An approval of a tool call: its `kind`; its `subject` is the tool call's id. */
export const TOOL_APPROVAL_KIND = "tool-call";

type Part = UIMessagePart<UIDataTypes, UITools>;
type ToolPart = ToolUIPart<UITools> | DynamicToolUIPart;

export interface ToUIMessagesOptions {
  /** Tools whose parts are `dynamic-tool` rather than `tool-<name>` (default: none). */
  dynamicTools?: (toolName: string) => boolean;
}

// The view of a later chatsync: ordered parts per message, every approval (not only pending ones).
type ViewWithExtras = ThreadView & { approvals?: Approval[] };
type MessageWithParts = Omit<Message, "parts"> & { parts?: Message["parts"] };

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A UIMessage's id and metadata from a chatsync message's metadata. */
function uiIdentity(message: Pick<Message, "id" | "metadata">): { id: string; metadata?: unknown } {
  const { [UI_MESSAGE_ID]: uiId, [UI_METADATA]: uiMetadata, ...rest } = message.metadata ?? {};
  const id = typeof uiId === "string" ? uiId : message.id;
  if (uiMetadata !== undefined) return { id, metadata: uiMetadata };
  return Object.keys(rest).length ? { id, metadata: rest } : { id };
}

function toolPart(call: ToolCall, approval: Approval | undefined, dynamic: boolean): ToolPart {
  const base = {
    toolCallId: call.providerCallId ?? call.id,
    ...(dynamic ? { type: "dynamic-tool" as const, toolName: call.toolName } : { type: `tool-${call.toolName}` as const }),
  };
  const input = call.input ?? undefined;
  const decided = approval && approval.status !== "pending"
    ? { id: approval.id, approved: approval.status === "approved", ...(approval.reason ? { reason: approval.reason } : {}) }
    : undefined;
  let state: object;
  if (call.status === "completed") {
    state = { state: "output-available", input, output: call.output ?? undefined, ...(decided?.approved ? { approval: decided } : {}) };
  } else if (call.status === "failed") {
    state = decided && !decided.approved
      ? { state: "output-denied", input, approval: decided }
      : { state: "output-error", input, errorText: call.error ?? "the tool call failed" };
  } else if (approval?.status === "pending") {
    state = { state: "approval-requested", input, approval: { id: approval.id } };
  } else if (decided) {
    state = { state: "approval-responded", input, approval: decided };
  } else {
    state = { state: "input-available", input };
  }
  return { ...base, ...state } as ToolPart;
}

/**
 * A thread's messages on its active branch as the AI SDK's UIMessages (`useChat({ messages })`,
 * `new Chat({ messages })`). Tool messages (role "tool") have no UIMessage and are left out.
 */
export function toUIMessages<M extends UIMessage = UIMessage>(view: ThreadView, options: ToUIMessagesOptions = {}): M[] {
  const dynamic = options.dynamicTools ?? (() => false);
  const approvals = new Map<string, Approval>();
  for (const approval of (view as ViewWithExtras).approvals ?? view.pendingApprovals) {
    if (approval.kind === TOOL_APPROVAL_KIND) approvals.set(approval.subject, approval);
  }
  const calls = new Map<string, ToolCall[]>();
  const byId = new Map<string, ToolCall>();
  for (const call of view.toolCalls) {
    byId.set(call.id, call);
    const list = calls.get(call.messageId) ?? [];
    list.push(call);
    calls.set(call.messageId, list);
  }
  const out: M[] = [];
  for (const message of view.messages as MessageWithParts[]) {
    if (message.role === "tool") continue;
    let parts: Part[];
    if (message.parts) {
      // The same shapes (a data part's `data` is any JSON, as the UI part's); a tool part names its
      // call by the model's id where chatsync had to give the call one of its own.
      // `dynamicTools` makes a `tool-<name>` part a `dynamic-tool` one, as for messages without parts.
      parts = message.parts.map((part) => {
        if (!("toolCallId" in part)) return part as Part;
        const call = byId.get(part.toolCallId);
        let out: typeof part = call?.providerCallId ? { ...part, toolCallId: call.providerCallId } : part;
        const name = out.type.startsWith("tool-") ? out.type.slice("tool-".length) : undefined;
        if (name !== undefined && dynamic(name)) out = { ...out, type: "dynamic-tool", toolName: name };
        return out as Part;
      });
    } else {
      parts = (calls.get(message.id) ?? [])
        .slice()
        .sort((a, b) => a.startedAt - b.startedAt)
        .map((call) => toolPart(call, approvals.get(call.id), dynamic(call.toolName)));
      const open = message.status === "pending" || message.status === "streaming";
      if (message.content || (parts.length === 0 && message.role !== "assistant")) {
        // As the AI SDK makes them: a streamed (assistant) text part has a state, a typed one none.
        const state = message.role === "assistant" ? { state: open ? ("streaming" as const) : ("done" as const) } : {};
        parts.push({ type: "text", text: message.content, ...state });
      }
    }
    out.push({ ...uiIdentity(message), role: message.role, parts } as M);
  }
  return out;
}

/** One message of `view` (by its chatsync id) as a UIMessage; `undefined` if it is not there or a tool message. */
export function toUIMessage<M extends UIMessage = UIMessage>(view: ThreadView, messageId: string, options: ToUIMessagesOptions = {}): M | undefined {
  const message = view.messages.find((m) => m.id === messageId);
  return message ? toUIMessages<M>({ ...view, messages: [message] }, options)[0] : undefined;
}

/** A UIMessage part as the part `appendMessage` stores; `undefined` for one it does not take. */
function toNewPart(part: Part): NewPart | undefined {
  switch (part.type) {
    case "text":
    case "reasoning":
      return { type: part.type, text: part.text };
    case "file":
      return { type: "file", mediaType: part.mediaType, url: part.url, ...(part.filename !== undefined ? { filename: part.filename } : {}) };
    case "source-url":
      return { type: "source-url", sourceId: part.sourceId, url: part.url, ...(part.title !== undefined ? { title: part.title } : {}) };
    case "source-document":
      return {
        type: "source-document", sourceId: part.sourceId, mediaType: part.mediaType, title: part.title,
        ...(part.filename !== undefined ? { filename: part.filename } : {}),
      };
    case "step-start":
      return { type: "step-start" };
    default:
      if (part.type.startsWith("data-")) {
        const data = part as { type: `data-${string}`; id?: string; data: unknown };
        return { type: data.type, ...(data.id !== undefined ? { id: data.id } : {}), data: (data.data ?? null) as JsonValue };
      }
      // Tool parts are the thread's tool calls (`startToolCall`), not parts of an appended message.
      return undefined;
  }
}

/**
 * A UIMessage as the `appendMessage` argument that stores it: its id (the chatsync message's own),
 * its parts (text, reasoning, files, sources, data, step boundaries; tool parts are the thread's
 * tool calls, written by `persistUIMessageStream`), and its metadata (an object as it is; anything
 * else under `uiMetadata`).
 */
export function fromUIMessage(message: UIMessage): NewMessage {
  const parts = message.parts.map(toNewPart).filter((part): part is NewPart => part !== undefined);
  const out: NewMessage = { id: message.id, role: message.role, parts };
  if (isObject(message.metadata)) out.metadata = message.metadata;
  else if (message.metadata !== undefined) out.metadata = { [UI_METADATA]: message.metadata as JsonValue };
  return out;
}

/** The chatsync message that stores a UIMessage (by the UIMessage id kept in its metadata, or its own). */
export function findMessage(view: ThreadView, uiMessageId: string): Message | undefined {
  return view.messages.find((message) => message.metadata?.[UI_MESSAGE_ID] === uiMessageId || message.id === uiMessageId);
}
