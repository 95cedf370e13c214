// What the page shows of its own writes before the worker's view of them arrives: the message
// `appendMessage` returned, streamed text, a finished status. Each is an edit of a view, kept until a
// view from the worker includes its write (thread.ts), then dropped — the worker's view is the truth.
import type {
  DeltaOptions, Feedback, JsonValue, Message, MessageEnd, MessagePart, NewMessage, NewPart, ThreadView,
} from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import { mergeObjects } from "../metadata.js";
import { titledByFirstUserMessage } from "./summary.js";

export type Edit = (view: ThreadView) => ThreadView;

const ROLES = new Set(["user", "assistant", "system", "tool"]);
const STATUSES = new Set(["pending", "streaming", "complete", "error", "cancelled"]);
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Refuses, at once, what the core would refuse for sure (the rest is refused in the worker). */
export function checkNewMessage(message: NewMessage, view: ThreadView): void {
  if (!message || typeof message !== "object") throw new ChatsyncError("invalid_input", "a message must be an object");
  if (!ROLES.has(message.role)) {
    throw new ChatsyncError("invalid_input", `invalid role ${JSON.stringify(message.role)}: user, assistant, system or tool`);
  }
  if (message.status !== undefined && !STATUSES.has(message.status)) {
    throw new ChatsyncError("invalid_input", `invalid message status ${JSON.stringify(message.status)}: pending, streaming, complete, error or cancelled`);
  }
  if (message.id !== undefined && !ID.test(message.id)) {
    throw new ChatsyncError("invalid_input", `invalid message id ${JSON.stringify(message.id)}: 1 to 128 of A-Z a-z 0-9 _ - . :`);
  }
  if (message.content && message.parts?.length) {
    throw new ChatsyncError("invalid_input", "a message has content or text parts, not both");
  }
  if (message.id !== undefined && view.messages.some((m) => m.id === message.id)) {
    throw new ChatsyncError("already_exists", `message ${message.id} already exists`);
  }
  if (message.parentId !== undefined && !ID.test(message.parentId)) {
    throw new ChatsyncError("invalid_input", `invalid parent id ${JSON.stringify(message.parentId)}`);
  }
}

function partOf(part: NewPart, open: boolean): MessagePart {
  if (part.type === "text" || part.type === "reasoning") {
    return { ...part, text: part.text ?? "", state: open ? "streaming" : "done" } as MessagePart;
  }
  return { ...part } as MessagePart;
}

/** The message `appendMessage` returns: what the core will make of `message`, as far as the page knows. */
export function newMessage(message: NewMessage, id: string, view: ThreadView, now: number): Message {
  // As the core's default (crates/model, messages.rs): an assistant message without `content` is
  // pending, parts or not.
  const status = message.status ?? (message.role === "assistant" && !message.content ? "pending" : "complete");
  const open = status === "pending" || status === "streaming";
  const parts = message.parts?.length
    ? message.parts.map((p) => partOf(p, open))
    : message.content ? [{ type: "text", text: message.content, state: open ? "streaming" : "done" } as MessagePart] : [];
  const content = parts.map((p) => (p.type === "text" ? p.text : "")).join("");
  const parentId = message.parentId ?? view.messages.at(-1)?.id;
  const result: Message = {
    id, role: message.role, content, parts, status, createdAt: now, updatedAt: now, siblings: [id], siblingIndex: 0,
  };
  if (parentId !== undefined) result.parentId = parentId;
  if (message.provider !== undefined) result.provider = message.provider;
  if (message.model !== undefined) result.model = message.model;
  if (message.metadata !== undefined) result.metadata = message.metadata;
  return result;
}

function withMessage(view: ThreadView, id: string, change: (m: Message) => Message): ThreadView {
  // From the end: the message being written is nearly always the last (a stream's), and every view
  // a 5,000-message thread's page builds replays each unacknowledged delta through here.
  const index = view.messages.findLastIndex((m) => m.id === id);
  if (index < 0) return view;
  const messages = view.messages.slice();
  messages[index] = change(messages[index]!);
  return { ...view, messages };
}

/**
 * The new message at the end of the active branch (where the core puts a message with no parent
 * given); the thread's first user message titles it, as in the core.
 */
export const appendEdit = (message: Message): Edit => (view) => {
  if (view.messages.some((m) => m.id === message.id)) return view;
  const titled = message.role === "user" ? titledByFirstUserMessage(view, view.messages, message.content) : {};
  return { ...view, ...titled, lastMessageAt: message.createdAt, messages: [...view.messages, message] };
};

/** Streamed text, where the core puts it (its last part when that is text, else a new text part). */
export const deltaEdit = (id: string, text: string, options: DeltaOptions | undefined, now: number): Edit => (view) =>
  withMessage(view, id, (message) => {
    const parts = message.parts.slice();
    const index = options?.part !== undefined
      ? parts.findIndex((p) => (p.type === "text" || p.type === "reasoning") && p.id === options.part)
      : parts.length - 1;
    const target = parts[index];
    if (target && (target.type === "text" || (options?.part !== undefined && target.type === "reasoning"))) {
      parts[index] = { ...target, text: target.text + text, state: "streaming" } as MessagePart;
    } else if (options?.part === undefined) {
      parts.push({ type: "text", text, state: "streaming" });
    } else {
      return message;
    }
    const isText = options?.part === undefined || target?.type === "text";
    return {
      ...message, parts, status: "streaming", updatedAt: now,
      content: isText ? message.content + text : message.content,
    };
  });

/** A finished message: its status, and its text parts done. */
export const finishEdit = (id: string, end: MessageEnd, now: number): Edit => (view) =>
  withMessage(view, id, (message) => {
    const next: Message = {
      ...message, status: end.status, updatedAt: now,
      parts: message.parts.map((p) => (p.type === "text" || p.type === "reasoning") && p.state !== "done" ? { ...p, state: "done" } : p),
    };
    if (end.finishReason !== undefined) next.finishReason = end.finishReason;
    if (end.usage !== undefined) next.usage = end.usage;
    if (end.error !== undefined) next.error = end.error;
    return next;
  });

/** A part at the end of the message (a data part with the type and id of one it has replaces its data). */
export const partEdit = (id: string, part: NewPart, now: number): Edit => (view) =>
  withMessage(view, id, (message) => {
    const parts = message.parts.slice();
    const isData = part.type.startsWith("data-") && "id" in part && part.id !== undefined;
    const same = isData ? parts.findIndex((p) => p.type === part.type && "id" in p && p.id === (part as { id?: string }).id) : -1;
    if (same >= 0) parts[same] = { ...parts[same]!, data: (part as { data: JsonValue }).data } as MessagePart;
    else parts.push(partOf(part, true));
    const text = part.type === "text" ? part.text ?? "" : "";
    return { ...message, parts, updatedAt: now, content: message.content + text };
  });

/** The parts of the message's current step (after its last `step-start`) gone. */
export const resetEdit = (id: string, now: number): Edit => (view) =>
  withMessage(view, id, (message) => {
    const start = message.parts.map((p) => p.type).lastIndexOf("step-start");
    const parts = message.parts.slice(0, start + 1);
    const content = parts.map((p) => (p.type === "text" ? p.text : "")).join("");
    return { ...message, parts, content, updatedAt: now };
  });

/** New metadata: replaced, or with `merge` merged as the package's updateMessageMetadata merges it. */
export const metadataEdit = (id: string, metadata: { [key: string]: JsonValue } | null, merge: boolean, now: number): Edit =>
  (view) =>
    withMessage(view, id, (message) => {
      const next: Message = { ...message, updatedAt: now };
      const value = merge && metadata && message.metadata ? mergeObjects(message.metadata, metadata) : metadata;
      if (value) next.metadata = value;
      else delete next.metadata;
      return next;
    });

/** A message's new feedback. */
export const feedbackEdit = (id: string, feedback: Feedback): Edit => (view) =>
  withMessage(view, id, (message) => ({ ...message, feedback }));

/**
 * editMessage / regenerateMessage: the new sibling in the original's place, selected, so the
 * active branch ends there (the new message has no replies yet).
 */
export const branchEdit = (originalId: string, made: Message): Edit => (view) => {
  const index = view.messages.findIndex((m) => m.id === originalId);
  if (index < 0 || view.messages.some((m) => m.id === made.id)) return view;
  const before = view.messages.slice(0, index);
  const titled = made.role === "user" ? titledByFirstUserMessage(view, before, made.content) : {};
  return { ...view, ...titled, lastMessageAt: made.createdAt, messages: [...before, made] };
};
