// Claude's export (Settings → Privacy → Export data): `conversations.json`, an array of
// `{ uuid, name, created_at, updated_at, chat_messages: [{ uuid, sender, text, content, created_at,
// attachments, files }] }`. Messages follow one another; where they name a `parent_message_uuid`
// (newer exports), the tree becomes branches and `current_leaf_message_uuid` the branch shown.
// Tool use becomes tool calls; the text of attachments is kept in the message's metadata; uploaded
// files and images, whose content the export does not hold, and thinking are listed in the report.
import type { JsonValue } from "../web/chatsync.js";
import { invalid, kindOf, millis, record, text } from "./invalid.js";
import {
  byteLength, fitContent, fitJson, Losses, MAX_JSON_BYTES, type PlannedMessage, type PlannedThread, type PlannedToolCall,
} from "./plan.js";

/** Claude's parent of a conversation's first message. */
const NO_PARENT = "00000000-0000-4000-8000-000000000000";
/** Attachment text kept per message, at most, in UTF-8 bytes: the store's metadata limit is 256 KB. */
const MAX_ATTACHMENT_TEXT = MAX_JSON_BYTES - 10_000;

/** Reads the export whole, or refuses it (`invalid_input`) naming the first thing wrong. */
export function planClaude(data: unknown): PlannedThread[] {
  const conversations = Array.isArray(data) ? data : record(data)?.chat_messages ? [data] : undefined;
  if (!conversations) {
    throw invalid(`a Claude export is an array of conversations (conversations.json), not ${kindOf(data)}`);
  }
  return conversations.map((conversation, index) => planConversation(conversation, index));
}

function planConversation(value: unknown, index: number): PlannedThread {
  const where = `Claude conversation ${index}`;
  const conversation = record(value);
  if (!conversation) throw invalid(`${where} is ${kindOf(value)}, not an object`);
  const list = conversation.chat_messages;
  if (!Array.isArray(list)) throw invalid(`${where} has no "chat_messages" list (got ${kindOf(list)})`);
  const losses = new Losses();
  const known = new Set<string>();
  const raw = list.map((item, i) => {
    const message = record(item);
    if (!message) throw invalid(`${where}: message ${i} is ${kindOf(item)}, not an object`);
    const key = text(message.uuid) ?? `#${i}`;
    if (known.has(key)) throw invalid(`${where}: two messages have the uuid ${JSON.stringify(key)}`);
    known.add(key);
    return { message, key };
  });
  const branched = raw.some(({ message }) => typeof message.parent_message_uuid === "string");
  const messages: PlannedMessage[] = [];
  const keptAs = new Map<string, string | undefined>();
  let previous: string | undefined;
  // Claude lists a conversation's messages oldest first, so a parent comes before its children.
  for (const { message, key } of raw) {
    const named = text(message.parent_message_uuid);
    const parentKey = branched
      ? named && named !== NO_PARENT ? keptAs.get(named) : undefined
      : previous;
    if (branched && named && named !== NO_PARENT && !keptAs.has(named)) {
      losses.add("messages whose parent is not in the export (kept at the start)");
    }
    const planned = planMessage(message, key, parentKey, losses);
    if (planned) messages.push(planned);
    keptAs.set(key, planned ? key : parentKey);
    previous = planned ? key : previous;
  }
  const leaf = text(conversation.current_leaf_message_uuid);
  const activeKey = leaf !== undefined ? keptAs.get(leaf) : undefined;
  const title = text(conversation.name);
  const sourceId = text(conversation.uuid);
  return {
    index,
    messages,
    lost: losses.lines(),
    ...(sourceId !== undefined && { sourceId }),
    ...(title ? { title } : {}),
    ...(activeKey !== undefined && { activeKey }),
  };
}

function planMessage(
  message: Record<string, unknown>,
  key: string,
  parentKey: string | undefined,
  losses: Losses,
): PlannedMessage | undefined {
  const sender = text(message.sender);
  const role = sender === "human" ? "user" : sender === "assistant" ? "assistant" : undefined;
  if (!role) {
    losses.add(`messages from sender ${JSON.stringify(sender ?? null)}`);
    return undefined;
  }
  const texts: string[] = [];
  const toolCalls: PlannedToolCall[] = [];
  const blocks = Array.isArray(message.content) ? message.content : [];
  for (const item of blocks) {
    const block = record(item);
    const type = text(block?.type) ?? "unknown";
    if (type === "text") {
      if (text(block?.text)) texts.push(text(block?.text)!);
    } else if (type === "tool_use") {
      toolCalls.push({
        toolName: text(block?.name) ?? "tool",
        input: fitJson(json(block?.input) ?? {}, "tool inputs", losses),
        ...(text(block?.id) !== undefined && { providerCallId: text(block?.id)! }),
      });
    } else if (type === "tool_result") {
      const callId = text(block?.tool_use_id);
      const call = toolCalls.find((c) => callId !== undefined && c.providerCallId === callId) ??
        toolCalls.find((c) => c.output === undefined && c.error === undefined && c.toolName === text(block?.name));
      const output = fitJson(json(block?.content) ?? null, "tool results", losses);
      if (!call) losses.add("tool results without their tool call");
      else if (block?.is_error === true) call.error = typeof output === "string" ? output : JSON.stringify(output);
      else call.output = output;
    } else if (type === "thinking" || type === "redacted_thinking") {
      losses.add("thinking");
    } else {
      losses.add(type === "image" ? "images" : `content blocks of type ${JSON.stringify(type)}`);
    }
  }
  // `text` is the message's whole text in older exports, and repeats the text blocks in newer ones.
  const body = blocks.length > 0 ? texts.join("\n\n") : text(message.text) ?? "";

  const attachments: JsonValue[] = [];
  let kept = 0;
  for (const item of Array.isArray(message.attachments) ? message.attachments : []) {
    const attachment = record(item) ?? {};
    const name = text(attachment.file_name) ?? "unnamed";
    const entry: { [key: string]: JsonValue } = { fileName: name };
    if (text(attachment.file_type)) entry.fileType = text(attachment.file_type)!;
    if (typeof attachment.file_size === "number") entry.fileSize = attachment.file_size;
    const extracted = text(attachment.extracted_content);
    const size = extracted === undefined ? 0 : byteLength(extracted);
    if (extracted !== undefined && kept + size <= MAX_ATTACHMENT_TEXT) {
      entry.extractedContent = extracted;
      kept += size;
    } else if (extracted !== undefined) {
      losses.add(`the text of attachment ${JSON.stringify(name)} (the message's attachments are over ${MAX_ATTACHMENT_TEXT / 1000} KB)`);
    }
    attachments.push(entry);
  }
  for (const item of Array.isArray(message.files) ? message.files : []) {
    const name = text(record(item)?.file_name) ?? "unnamed";
    losses.add(`file ${JSON.stringify(name)} (its content is not in the export)`);
  }
  if (!body.trim() && toolCalls.length === 0 && attachments.length === 0) {
    losses.add("empty messages");
    return undefined;
  }
  const [content, cut] = fitContent(body);
  if (cut) losses.add("the end of messages over 1 MB");
  const imported: { [key: string]: JsonValue } = { source: "claude", id: key };
  const created = millis(message.created_at);
  if (created !== undefined) imported.createdAt = created;
  return {
    key,
    ...(parentKey !== undefined && { parentKey }),
    role,
    content,
    status: "complete",
    ...(role === "assistant" && { provider: "anthropic" }),
    metadata: attachments.length > 0 ? { import: imported, attachments } : { import: imported },
    toolCalls,
  };
}

/** `value` if it is JSON (what a tool call's input and output may be), else undefined. */
function json(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as JsonValue;
  } catch {
    return undefined;
  }
}
