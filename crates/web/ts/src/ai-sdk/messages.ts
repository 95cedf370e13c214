// Between chatsync's messages and the AI SDK's UIMessage. Today a chatsync message is one `content`
// string plus the thread's tool calls and approvals; a UIMessage is ordered parts. So a message maps
// to its tool parts (in the order the calls started) followed by one text part. Once chatsync stores
// ordered parts (`message.parts`), they are used as they are.
import type { DynamicToolUIPart, ToolUIPart, UIMessage, UIMessagePart, UIDataTypes, UITools } from "ai";
import type { Approval, JsonValue, Message, NewMessage, ToolCall, ThreadView } from "../index.js";

/** Where the UIMessage's own id is kept in a chatsync message's metadata (until ids are the caller's). */
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
type MessageWithParts = Message & { parts?: Part[] };

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A UIMessage's id and metadata from a chatsync message's metadata. */
function uiIdentity(message: Message): { id: string; metadata?: unknown } {
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
  for (const call of view.toolCalls) {
    const list = calls.get(call.messageId) ?? [];
    list.push(call);
    calls.set(call.messageId, list);
  }
  const out: M[] = [];
  for (const message of view.messages as MessageWithParts[]) {
    if (message.role === "tool") continue;
    let parts: Part[];
    if (message.parts) {
      parts = message.parts;
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

/**
 * A UIMessage as the `appendMessage` argument that stores it: its text parts joined as `content`,
 * its id and metadata in the chatsync message's metadata (so `toUIMessages` gives them back).
 * Parts other than text (files, data, …) are not stored until chatsync has ordered parts.
 */
export function fromUIMessage(message: UIMessage): NewMessage {
  const content = message.parts
    .filter((part): part is Extract<Part, { type: "text" }> => part.type === "text")
    .map((part) => part.text)
    .join("");
  const metadata: { [key: string]: JsonValue } = { [UI_MESSAGE_ID]: message.id };
  if (isObject(message.metadata)) Object.assign(metadata, message.metadata);
  else if (message.metadata !== undefined) metadata[UI_METADATA] = message.metadata as JsonValue;
  return { role: message.role, content, metadata };
}

/** The chatsync message that stores a UIMessage (by the UIMessage id kept in its metadata, or its own). */
export function findMessage(view: ThreadView, uiMessageId: string): Message | undefined {
  return view.messages.find((message) => message.metadata?.[UI_MESSAGE_ID] === uiMessageId || message.id === uiMessageId);
}
