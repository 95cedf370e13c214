// A STAND-IN MODEL, not an AI: the chat route of this example, answering with canned words streamed
// as the AI SDK's UI message chunks (createUIMessageStream, sent as server-sent events by
// pipeUIMessageStreamToResponse, exactly what a real route's toUIMessageStreamResponse() sends). Swap
// it for `streamText({ model, messages: convertToModelMessages(messages) }).pipeUIMessageStreamToResponse(res)`.
//
// Each reply is generated independently of the request that asked for it and kept in memory until
// it ends, so a client that reloads mid-reply gets it again from GET /api/chat/:id/stream (what
// DefaultChatTransport's reconnectToStream asks): the in-memory stand-in for a resumable stream.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createUIMessageStream, pipeUIMessageStreamToResponse, type UIMessage, type UIMessageChunk } from "ai";

interface Reply {
  chunks: UIMessageChunk[];
  done: boolean;
  wake: Set<() => void>;
}
const replies = new Map<string, Reply>();

function words(prompt: string): { words: string[]; delayMs: number } {
  const intro = `Stand-in model: you said "${prompt}".`.split(" ");
  // "long" asks for a reply slow enough to reload in the middle of.
  if (/\blong\b/i.test(prompt)) {
    return { words: [...intro, ...Array.from({ length: 30 }, (_, i) => `word${i + 1}`), "The end."], delayMs: 100 };
  }
  return { words: [...intro, "Nothing", "here", "is", "generated."], delayMs: 15 };
}

async function generate(reply: Reply, prompt: string): Promise<void> {
  const push = (chunk: UIMessageChunk) => {
    reply.chunks.push(chunk);
    for (const wake of [...reply.wake]) wake();
  };
  const { words: list, delayMs } = words(prompt);
  push({ type: "start", messageId: `standin-${Date.now().toString(36)}` });
  push({ type: "start-step" });
  push({ type: "text-start", id: "text" });
  for (const [i, word] of list.entries()) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    push({ type: "text-delta", id: "text", delta: i === 0 ? word : ` ${word}` });
  }
  push({ type: "text-end", id: "text" });
  push({ type: "finish-step" });
  reply.done = true;
  push({ type: "finish", finishReason: "stop" });
}

/** The reply so far, then live until it ends. */
function replay(reply: Reply): ReadableStream<UIMessageChunk> {
  return createUIMessageStream({
    async execute({ writer }) {
      let sent = 0;
      for (;;) {
        while (sent < reply.chunks.length) writer.write(reply.chunks[sent++]!);
        if (reply.done && sent === reply.chunks.length) return;
        await new Promise<void>((resolve) => {
          const wake = () => {
            reply.wake.delete(wake);
            resolve();
          };
          reply.wake.add(wake);
        });
      }
    },
  });
}

async function body(request: IncomingMessage): Promise<{ id: string; messages: UIMessage[] }> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return JSON.parse(text);
}

/** The /api/chat routes, as connect middleware (Vite's dev and preview servers). */
export async function chatRoute(request: IncomingMessage, response: ServerResponse, next: () => void): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (request.method === "POST" && url.pathname === "/api/chat") {
    const { id, messages } = await body(request);
    const last = messages.at(-1);
    const prompt = last?.parts.map((part) => (part.type === "text" ? part.text : "")).join("") ?? "";
    const reply: Reply = { chunks: [], done: false, wake: new Set() };
    replies.set(id, reply);
    generate(reply, prompt).finally(() => setTimeout(() => replies.get(id) === reply && replies.delete(id), 60_000));
    await pipeUIMessageStreamToResponse({ response, stream: replay(reply) });
    return;
  }
  const resume = url.pathname.match(/^\/api\/chat\/([^/]+)\/stream$/);
  if (request.method === "GET" && resume) {
    const reply = replies.get(decodeURIComponent(resume[1]!));
    if (!reply || reply.done) {
      response.statusCode = 204;
      response.end();
      return;
    }
    await pipeUIMessageStreamToResponse({ response, stream: replay(reply) });
    return;
  }
  next();
}
