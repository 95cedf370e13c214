// ChatGPT's `conversations.json` (Settings → Data controls → Export): an array of conversations, each
// a `mapping` of node id → `{ id, message, parent, children }` with `current_node` the leaf shown.
// The tree becomes branches: nodes under one parent are siblings. Nodes that carry nothing to show
// (the empty root, hidden system messages, reasoning) are left out and their children hang on the
// nearest node kept; what had content is listed in the report.
import type { JsonValue, Role } from "../web/chatsync.js";
import { invalid, kindOf, millis, record, text } from "./invalid.js";
import { fitContent, Losses, type PlannedMessage, type PlannedThread } from "./plan.js";

/** A reply cut short (stopped, or the export caught it mid-stream) is kept as cancelled. */
const UNFINISHED = new Set(["in_progress", "finished_partial_completion"]);
const ROLES: Record<string, Role> = { user: "user", assistant: "assistant", system: "system", tool: "tool" };

/** Reads the export whole, or refuses it (`invalid_input`) naming the first thing wrong. */
export function planChatGPT(data: unknown): PlannedThread[] {
  const conversations = Array.isArray(data) ? data : record(data)?.mapping ? [data] : undefined;
  if (!conversations) {
    throw invalid(`a ChatGPT export is an array of conversations (conversations.json), not ${kindOf(data)}`);
  }
  return conversations.map((conversation, index) => planConversation(conversation, index));
}

interface Node {
  id: string;
  message?: Record<string, unknown>;
  parent?: string;
  children: string[];
}

function planConversation(value: unknown, index: number): PlannedThread {
  const where = `ChatGPT conversation ${index}`;
  const conversation = record(value);
  if (!conversation) throw invalid(`${where} is ${kindOf(value)}, not an object`);
  const mapping = record(conversation.mapping);
  if (!mapping) throw invalid(`${where} has no "mapping" object (got ${kindOf(conversation.mapping)})`);
  const nodes = new Map<string, Node>();
  for (const [id, raw] of Object.entries(mapping)) {
    const node = record(raw);
    if (!node) throw invalid(`${where}: node ${JSON.stringify(id)} is ${kindOf(raw)}, not an object`);
    const children = node.children ?? [];
    if (!Array.isArray(children) || !children.every((c) => typeof c === "string")) {
      throw invalid(`${where}: node ${JSON.stringify(id)} has "children" that is not a list of ids`);
    }
    if (node.parent != null && typeof node.parent !== "string") {
      throw invalid(`${where}: node ${JSON.stringify(id)} has a "parent" that is not an id`);
    }
    if (node.message != null && !record(node.message)) {
      throw invalid(`${where}: node ${JSON.stringify(id)} has a "message" that is not an object`);
    }
    nodes.set(id, {
      id,
      message: record(node.message),
      parent: text(node.parent),
      children: children as string[],
    });
  }

  const losses = new Losses();
  const messages: PlannedMessage[] = [];
  const keptAs = new Map<string, string | undefined>(); // node id → the planned message standing for it
  const seen = new Set<string>();
  // Depth first from each root, children in the export's order: parents come before children.
  const byParent = new Map<string, Node[]>();
  for (const node of nodes.values()) {
    if (node.parent !== undefined) byParent.set(node.parent, [...(byParent.get(node.parent) ?? []), node]);
  }
  // A node's children: those its list names (in that order) that name it as parent, then those
  // that name it but are missing from its list.
  const childrenOf = (node: Node): Node[] => {
    const listed = node.children.map((id) => nodes.get(id)).filter((c): c is Node => c?.parent === node.id);
    const extra = (byParent.get(node.id) ?? []).filter((c) => !node.children.includes(c.id));
    return [...listed, ...extra];
  };
  const roots = [...nodes.values()].filter((n) => n.parent === undefined || !nodes.has(n.parent));
  const stack: [Node, string | undefined][] = roots.reverse().map((n) => [n, undefined]);
  while (stack.length > 0) {
    const [node, parentKey] = stack.pop()!;
    if (seen.has(node.id)) continue;
    seen.add(node.id);
    const planned = node.message ? planMessage(node, parentKey, losses) : undefined;
    if (planned) messages.push(planned);
    const key = planned ? planned.key : parentKey;
    keptAs.set(node.id, key);
    for (const child of childrenOf(node).reverse()) stack.push([child, key]);
  }
  const unreachable = nodes.size - seen.size;
  if (unreachable > 0) losses.add(`messages in a parent cycle (no way from the root to them)`, unreachable);

  const current = text(conversation.current_node);
  const title = text(conversation.title);
  const sourceId = text(conversation.conversation_id) ?? text(conversation.id);
  const activeKey = current !== undefined ? keptAs.get(current) : undefined;
  return {
    index,
    messages,
    lost: losses.lines(),
    ...(sourceId !== undefined && { sourceId }),
    ...(title !== undefined && { title }),
    ...(activeKey !== undefined && { activeKey }),
  };
}

/** A node's message as chatsync keeps it, or undefined when it is left out (counted in `losses`). */
function planMessage(node: Node, parentKey: string | undefined, losses: Losses): PlannedMessage | undefined {
  const message = node.message!;
  const author = record(message.author);
  const roleName = text(author?.role) ?? "unknown";
  const role = ROLES[roleName];
  const metadata = record(message.metadata) ?? {};
  const content = record(message.content) ?? {};
  const type = text(content.content_type) ?? "unknown";
  const hidden = metadata.is_visually_hidden_from_conversation === true || message.weight === 0;
  const body = contentText(content, type, losses);

  for (const attachment of Array.isArray(metadata.attachments) ? metadata.attachments : []) {
    const name = text(record(attachment)?.name) ?? "unnamed";
    losses.add(`attachment ${JSON.stringify(name)} (files are not in conversations.json)`);
  }
  if (body === undefined) return undefined; // a content type left out: counted by contentText
  if (!body.trim()) {
    if (!(roleName === "system" || hidden)) losses.add("empty messages");
    return undefined;
  }
  if (hidden) {
    losses.add(`hidden ${roleName} messages (${type})`);
    return undefined;
  }
  if (!role) {
    losses.add(`messages with role ${JSON.stringify(roleName)}`);
    return undefined;
  }
  const [fitted, cut] = fitContent(body);
  if (cut) losses.add("the end of messages over 1 MB");
  const model = text(metadata.model_slug);
  const created = millis(message.create_time);
  const imported: { [key: string]: JsonValue } = { source: "chatgpt", id: text(message.id) ?? node.id };
  if (created !== undefined) imported.createdAt = created;
  const recipient = text(message.recipient);
  if (recipient && recipient !== "all") imported.recipient = recipient;
  return {
    key: node.id,
    ...(parentKey !== undefined && { parentKey }),
    role,
    content: fitted,
    status: role === "assistant" && UNFINISHED.has(text(message.status) ?? "") ? "cancelled" : "complete",
    ...(role === "assistant" && model !== undefined && { provider: "openai", model }),
    metadata: { import: imported },
    toolCalls: [],
  };
}

/**
 * The text of a message's content, or undefined for content types chatsync cannot show (reasoning,
 * memory, custom instructions, unknown ones), which are counted in `losses`.
 */
function contentText(content: Record<string, unknown>, type: string, losses: Losses): string | undefined {
  const parts = Array.isArray(content.parts) ? content.parts : [];
  switch (type) {
    case "text":
      return parts.filter((p): p is string => typeof p === "string").join("\n");
    case "multimodal_text":
      return parts
        .map((part) => {
          if (typeof part === "string") return part;
          const inner = record(part);
          const kind = text(inner?.content_type) ?? "unknown";
          if (kind === "audio_transcription" && text(inner?.text)) return text(inner?.text)!;
          losses.add(kind === "image_asset_pointer" ? "images (image_asset_pointer)" : `${kind} parts`);
          return "";
        })
        .filter((part) => part !== "")
        .join("\n");
    case "code": {
      const language = text(content.language);
      const code = text(content.text) ?? "";
      const fence = code.includes("```") ? "````" : "```";
      return `${fence}${language && language !== "unknown" ? language : ""}\n${code}\n${fence}`;
    }
    case "execution_output":
      return text(content.text) ?? "";
    case "tether_quote": {
      const quote = (text(content.text) ?? "").replace(/^/gm, "> ");
      const source = [text(content.title), text(content.url)].filter(Boolean).join(" — ");
      return source ? `${quote}\n\n${source}` : quote;
    }
    case "tether_browsing_display":
      return text(content.result) ?? text(content.summary) ?? "";
    case "thoughts":
    case "reasoning_recap":
      losses.add(`reasoning (${type})`);
      return undefined;
    case "user_editable_context":
    case "model_editable_context":
      losses.add(`${type === "user_editable_context" ? "custom instructions" : "memory"} (${type})`);
      return undefined;
    default:
      losses.add(`messages of unknown content type ${JSON.stringify(type)}`);
      return undefined;
  }
}
