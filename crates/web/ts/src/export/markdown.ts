// The readable export: the messages on the thread's active branch as Markdown, with their tool
// calls, then the artifacts. Message text is Markdown already and is written as it is.
import type { Message, Role, ThreadView, ToolCall } from "../web/chatsync.js";

const ROLE_NAMES: Record<Role, string> = { user: "User", assistant: "Assistant", system: "System", tool: "Tool" };

/** The thread's active branch as Markdown. */
export function toMarkdown(view: ThreadView): string {
  const out: string[] = [`# ${oneLine(view.title)}`, ""];
  const model = [view.settings.provider, view.settings.model].filter(Boolean).join(" / ");
  out.push(`- Created: ${date(view.createdAt)}`);
  if (model) out.push(`- Model: ${model}`);
  out.push(`- Messages: ${view.messages.length}`, "");
  for (const message of view.messages) {
    out.push("---", "", heading(message), "");
    if (message.content) out.push(message.content, "");
    for (const call of view.toolCalls.filter((c) => c.messageId === message.id)) out.push(...toolCall(call), "");
  }
  const artifacts = view.artifacts.filter((a) => !a.messageId || view.messages.some((m) => m.id === a.messageId));
  if (artifacts.length > 0) {
    out.push("---", "", "## Artifacts", "");
    for (const artifact of artifacts) {
      out.push(`### ${oneLine(artifact.title)} (${artifact.kind}, version ${artifact.version}, ${artifact.status})`, "");
      out.push(...fenced(artifact.content), "");
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function heading(message: Message): string {
  const details = [message.model, date(message.createdAt)];
  if (message.status !== "complete") details.push(message.status);
  if (message.siblings.length > 1) details.push(`branch ${message.siblingIndex + 1} of ${message.siblings.length}`);
  return `### ${ROLE_NAMES[message.role]} · ${details.filter(Boolean).join(" · ")}`;
}

function toolCall(call: ToolCall): string[] {
  const lines = [`**Tool call \`${call.toolName}\`** (${call.status})`, "", ...fenced(JSON.stringify(call.input, null, 2), "json")];
  if (call.output !== undefined) lines.push("", "Output:", "", ...fenced(JSON.stringify(call.output, null, 2), "json"));
  if (call.error) lines.push("", `Error: ${call.error}`);
  return lines;
}

/** `text` in a code fence longer than any run of backticks in it. */
function fenced(text: string, language = ""): string[] {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return [`${fence}${language}`, text, fence];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function date(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}
