// chatsync/ai-sdk against the real ai package: its stream format (createUIMessageStream, the SSE of
// createUIMessageStreamResponse parsed by DefaultChatTransport) and its Chat class driving the transport.
import { Chat } from "@ai-sdk/react";
import { createUIMessageStream, createUIMessageStreamResponse, DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { ChatStore, ChatsyncError, type Thread } from "chatsync/bundler";
import { chatsyncTransport, fromUIMessage, persistUIMessageStream, replayUIMessageStream, toUIMessages } from "chatsync/ai-sdk";
import { assert, equal, eventually, freshDb, test } from "./harness.js";

async function freshThread(): Promise<{ store: ChatStore; thread: Thread }> {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "AI SDK" });
  return { store, thread: await store.openThread(id) };
}

function streamOf(chunks: UIMessageChunk[], delayMs = 0): ReadableStream<UIMessageChunk> {
  return createUIMessageStream({
    async execute({ writer }) {
      for (const chunk of chunks) {
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        writer.write(chunk);
      }
    },
  });
}

const reply: UIMessageChunk[] = [
  { type: "start", messageId: "reply-1" },
  { type: "start-step" },
  { type: "tool-input-start", toolCallId: "call_1", toolName: "weather" },
  { type: "tool-input-delta", toolCallId: "call_1", inputTextDelta: '{"city":"Oslo"}' },
  { type: "tool-input-available", toolCallId: "call_1", toolName: "weather", input: { city: "Oslo" } },
  { type: "tool-output-available", toolCallId: "call_1", output: { celsius: 4 } },
  { type: "finish-step" },
  { type: "start-step" },
  { type: "text-start", id: "t1" },
  { type: "text-delta", id: "t1", delta: "It is " },
  { type: "text-delta", id: "t1", delta: "4 °C in Oslo." },
  { type: "text-end", id: "t1" },
  { type: "finish-step" },
  { type: "finish", finishReason: "stop" },
];

test("ai-sdk: fromUIMessage and toUIMessages round-trip a user message (id, text parts, metadata)", async () => {
  const { store, thread } = await freshThread();
  const user: UIMessage = {
    id: "ui-user-1", role: "user", metadata: { lang: "en" },
    parts: [{ type: "text", text: "Weather " }, { type: "text", text: "in Oslo?" }],
  };
  thread.appendMessage(fromUIMessage(user));
  const [back] = toUIMessages(thread.view());
  equal(back, {
    id: "ui-user-1", metadata: { lang: "en" }, role: "user",
    parts: [{ type: "text", text: "Weather ", state: "done" }, { type: "text", text: "in Oslo?", state: "done" }],
  }, "the UIMessage");
  equal(thread.view().messages[0]!.id, "ui-user-1", "the UIMessage's id is the message's own");
  let duplicate: unknown;
  try {
    thread.appendMessage(fromUIMessage(user));
  } catch (error) {
    duplicate = error;
  }
  assert(duplicate instanceof ChatsyncError && duplicate.code === "already_exists", `a second copy: ${String(duplicate)}`);
  await store.close();
});

test("ai-sdk: toUIMessages gives tool parts with the AI SDK's states, and approval-requested", async () => {
  const { store, thread } = await freshThread();
  const message = thread.appendMessage({ role: "assistant", content: "Done." });
  const done = thread.startToolCall({ messageId: message.id, toolName: "weather", providerCallId: "call_a", input: { city: "Oslo" }, status: "running" });
  thread.finishToolCall(done, { status: "completed", output: { celsius: 4 } });
  const failed = thread.startToolCall({ messageId: message.id, toolName: "search", input: { q: "x" } });
  thread.finishToolCall(failed, { status: "failed", error: "timeout" });
  const waiting = thread.startToolCall({ messageId: message.id, toolName: "deploy", input: {}, status: "running" });
  const approval = thread.requestApproval({ kind: "tool-call", subject: waiting, messageId: message.id, toolCallId: waiting });
  const running = thread.startToolCall({ messageId: message.id, toolName: "lookup", input: { id: 1 }, status: "running" });
  const [ui] = toUIMessages(thread.view(), { dynamicTools: (name) => name === "lookup" });
  type ToolPartShape = { type: string; state?: string; toolCallId?: string; output?: unknown; errorText?: string; approval?: { id: string } };
  const parts = ui!.parts as ToolPartShape[];
  const byType = new Map(parts.map((part) => [part.type, part]));
  equal(parts.map((part) => part.type), ["text", "tool-weather", "tool-search", "tool-deploy", "dynamic-tool"], "the parts in the order written");
  equal([...byType].map(([type, part]) => [type, part.state]).sort(), [
    ["dynamic-tool", "input-available"], ["text", "done"], ["tool-deploy", "approval-requested"],
    ["tool-search", "output-error"], ["tool-weather", "output-available"],
  ], "parts and states");
  equal(byType.get("tool-weather")!.toolCallId, "call_a", "the model's tool call id");
  equal(byType.get("tool-weather")!.output, { celsius: 4 }, "output");
  equal(byType.get("tool-search")!.errorText, "timeout", "errorText");
  equal(byType.get("tool-deploy")!.approval?.id, approval, "the approval's id");
  equal(byType.get("dynamic-tool")!.toolCallId, running, "a call without a provider id keeps chatsync's");
  await store.close();
});

test("ai-sdk: persistUIMessageStream writes text deltas, tool calls and the finish into the thread", async () => {
  const { store, thread } = await freshThread();
  const result = await persistUIMessageStream(thread, streamOf(reply));
  equal(result.status, "complete", "result status");
  const view = thread.view();
  const message = view.messages.find((m) => m.id === result.messageId)!;
  equal([message.role, message.content, message.status], ["assistant", "It is 4 °C in Oslo.", "complete"], "the message");
  equal(view.toolCalls.map((c) => [c.toolName, c.status, c.providerCallId, c.input, c.output]),
    [["weather", "completed", "call_1", { city: "Oslo" }, { celsius: 4 }]], "the tool call");
  const [ui] = toUIMessages(view);
  equal(ui!.id, "reply-1", "the stream's message id kept");
  equal(ui!.parts.map((p) => p.type), ["step-start", "tool-weather", "step-start", "text"], "its parts, in order");
  equal(message.finishReason, "stop", "the finish reason");
  await store.close();
});

test("ai-sdk: persistUIMessageStream stores reasoning, text and tool parts in order, data parts (replaced by id), sources and metadata", async () => {
  const { store, thread } = await freshThread();
  const result = await persistUIMessageStream(thread, streamOf([
    { type: "start", messageId: "reply-parts", messageMetadata: { model: "m", usage: { in: 1 } } },
    { type: "start-step" },
    { type: "reasoning-start", id: "r" },
    { type: "reasoning-delta", id: "r", delta: "The user wants " },
    { type: "reasoning-delta", id: "r", delta: "the weather." },
    { type: "reasoning-end", id: "r" },
    { type: "data-weather", id: "w", data: { status: "loading" } },
    { type: "tool-input-start", toolCallId: "call_7", toolName: "weather" },
    { type: "tool-input-delta", toolCallId: "call_7", inputTextDelta: "{}" },
    { type: "tool-input-available", toolCallId: "call_7", toolName: "weather", input: { city: "Rome" } },
    { type: "tool-output-available", toolCallId: "call_7", output: { celsius: 20 } },
    { type: "data-weather", id: "w", data: { status: "done", celsius: 20 } },
    { type: "data-progress", data: 1, transient: true },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "text-start", id: "0" },
    { type: "text-delta", id: "0", delta: "Sunny, 20 °C." },
    { type: "text-end", id: "0" },
    { type: "source-url", sourceId: "s1", url: "https://weather.example", title: "Weather" },
    { type: "message-metadata", messageMetadata: { usage: { out: 2 } } },
    { type: "finish", finishReason: "stop" },
  ]));
  equal(result.messageId, "reply-parts", "the stream's message id is the message's own");
  const message = thread.view().messages.find((m) => m.id === "reply-parts")!;
  equal(message.parts.map((p) => p.type),
    ["step-start", "reasoning", "data-weather", "tool-weather", "step-start", "text", "source-url"], "the parts in order");
  equal((message.parts[1] as { text: string }).text, "The user wants the weather.", "the reasoning");
  equal((message.parts[2] as { data: unknown }).data, { status: "done", celsius: 20 }, "the data part replaced by its id");
  const tool = message.parts[3] as { state: string; toolCallId: string; input: unknown; output: unknown };
  equal([tool.state, tool.toolCallId, tool.input, tool.output], ["output-available", "call_7", { city: "Rome" }, { celsius: 20 }], "the tool part");
  equal(message.content, "Sunny, 20 °C.", "content: the text parts");
  equal(message.metadata, { model: "m", usage: { in: 1, out: 2 } }, "metadata merged as useChat merges it");
  equal([message.status, message.finishReason], ["complete", "stop"], "finished");
  const [ui] = toUIMessages(thread.view());
  equal(ui!.id, "reply-parts", "the UIMessage id");
  equal(ui!.parts.length, 7, "the UIMessage's parts");
  await store.close();
});

test("ai-sdk: a reset-step drops the step's parts; updateMessageMetadata replaces or merges", async () => {
  const { store, thread } = await freshThread();
  const result = await persistUIMessageStream(thread, streamOf([
    { type: "start" },
    { type: "start-step" },
    { type: "text-start", id: "0" },
    { type: "text-delta", id: "0", delta: "First try" },
    { type: "reset-step" } as unknown as UIMessageChunk,
    { type: "start-step" },
    { type: "text-start", id: "0" },
    { type: "text-delta", id: "0", delta: "Second try" },
    { type: "finish" },
  ]));
  const message = () => thread.view().messages.find((m) => m.id === result.messageId)!;
  equal(message().content, "Second try", "only the retried step's text");
  equal(message().parts.map((p) => p.type), ["step-start", "step-start", "text"], "parts after the reset");
  thread.updateMessageMetadata(result.messageId, { a: { b: 1, c: [1] } });
  thread.updateMessageMetadata(result.messageId, { a: { c: [2], d: null }, e: "x" }, { merge: true });
  equal(message().metadata, { a: { b: 1, c: [2], d: null }, e: "x" }, "merged key by key, arrays replaced");
  thread.updateMessageMetadata(result.messageId, { f: 1 });
  equal(message().metadata, { f: 1 }, "replaced");
  thread.updateMessageMetadata(result.messageId, null);
  equal(message().metadata, undefined, "removed");
  await store.close();
});

test("ai-sdk: persistUIMessageStream ends as error on an error chunk or a failing stream, cancelled on abort", async () => {
  const { store, thread } = await freshThread();
  const failed = await persistUIMessageStream(thread, streamOf([{ type: "start" }, { type: "text-delta", id: "t", delta: "Part" }, { type: "error", errorText: "model overloaded" }]));
  equal([failed.status, failed.errorText], ["error", "model overloaded"], "error chunk");
  equal(thread.view().messages[0]!.error, "model overloaded", "the error text stored");
  const broken = new ReadableStream<UIMessageChunk>({
    start(controller) {
      controller.enqueue({ type: "text-delta", id: "t", delta: "Half" });
      setTimeout(() => controller.error(new Error("connection reset")), 10);
    },
  });
  equal((await persistUIMessageStream(thread, broken)).status, "error", "a failing stream");
  const aborted = await persistUIMessageStream(thread, streamOf([{ type: "start" }, { type: "abort" }]));
  equal(aborted.status, "cancelled", "abort chunk");
  const controller = new AbortController();
  const slow = streamOf([{ type: "start" }, ...Array.from({ length: 50 }, (_, i) => ({ type: "text-delta" as const, id: "t", delta: `${i} ` })), { type: "finish" }], 20);
  const pending = persistUIMessageStream(thread, slow, { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  const stopped = await pending;
  equal(stopped.status, "cancelled", "signal aborted");
  const statuses = thread.view().messages.map((m) => m.status);
  equal(statuses, ["error", "error", "cancelled", "cancelled"], "stored statuses");
  const partial = thread.view().messages.at(-1)!.content;
  assert(partial.length > 0 && !partial.includes("49"), `the cancelled reply keeps what came: ${partial}`);
  await store.close();
});

test("ai-sdk: the Chat class drives chatsyncTransport over DefaultChatTransport's SSE: both messages stored", async () => {
  const { store, thread } = await freshThread();
  const requests: { messages: UIMessage[]; id: string }[] = [];
  const inner = new DefaultChatTransport<UIMessage>({
    api: "/api/chat",
    fetch: async (_url, init) => {
      requests.push(JSON.parse(String(init?.body)));
      return createUIMessageStreamResponse({ stream: streamOf(reply, 2) });
    },
  });
  const transport = chatsyncTransport({ store, transport: inner });
  const chat = new Chat<UIMessage>({ id: thread.id, transport });
  await chat.sendMessage({ text: "Weather in Oslo?" });
  await eventually(() => equal(chat.status, "ready", "chat status"));
  equal(requests[0]!.id, thread.id, "the request's chat id");
  await eventually(() => equal(thread.view().messages.at(-1)?.status, "complete", "stored reply status"));
  const stored = toUIMessages(thread.view());
  equal(stored.map((m) => m.role), ["user", "assistant"], "stored roles");
  equal(stored[0]!.id, chat.messages[0]!.id, "the user message keeps the Chat's id");
  equal(stored.map((m) => m.parts.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("")),
    ["Weather in Oslo?", "It is 4 °C in Oslo."], "stored text");
  const live = chat.messages[1]!.parts.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("");
  equal(live, "It is 4 °C in Oslo.", "what the Chat shows");
  // The same conversation, reopened: a new Chat starts from the document.
  const again = new Chat<UIMessage>({ id: thread.id, transport, messages: toUIMessages(thread.view()) });
  equal(again.messages.length, 2, "messages from the document");
  transport.close();
  await store.close();
});

test("ai-sdk: reconnectToStream follows a reply another writer is streaming into the thread (resume)", async () => {
  const { store, thread } = await freshThread();
  thread.appendMessage({ role: "user", content: "Tell me" });
  const writing = thread.appendMessage({ role: "assistant" });
  thread.appendDelta(writing.id, "Once ");
  const transport = chatsyncTransport({
    store,
    transport: { sendMessages: async () => { throw new Error("not used"); }, reconnectToStream: async () => null },
  });
  const chat = new Chat<UIMessage>({ id: thread.id, transport, messages: toUIMessages(thread.view()) });
  const resumed = chat.resumeStream();
  for (const word of ["upon ", "a ", "time."]) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    thread.appendDelta(writing.id, word);
  }
  thread.finishMessage(writing.id, { status: "complete" });
  await resumed;
  await eventually(() => {
    const text = chat.messages.at(-1)!.parts.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("");
    equal(text, "Once upon a time.", "the resumed reply");
  });
  equal(chat.messages.length, 2, "no duplicate of the reply");
  // Nothing unfinished: nothing to resume.
  equal(await transport.reconnectToStream({ chatId: thread.id }), null, "reconnect once finished");
  transport.close();
  await store.close();
});

test("ai-sdk: a tool approval from the stream is requested, and the Chat's answer decided through the transport", async () => {
  const { store, thread } = await freshThread();
  await persistUIMessageStream(thread, streamOf([
    { type: "start", messageId: "reply-approval" },
    { type: "tool-input-available", toolCallId: "call_9", toolName: "deploy", input: { env: "prod" } },
    { type: "tool-approval-request", approvalId: "approval_9", toolCallId: "call_9" },
    { type: "finish" },
  ]));
  const [ui] = toUIMessages(thread.view());
  const part = ui!.parts[0] as { type: string; state: string; approval: { id: string } };
  equal([part.type, part.state], ["tool-deploy", "approval-requested"], "the part");
  const approvalId = part.approval.id;
  equal(thread.view().pendingApprovals.map((a) => a.id), [approvalId], "pending approvals");
  let sent = 0;
  const transport = chatsyncTransport({
    store,
    transport: { sendMessages: async () => { sent += 1; return streamOf([{ type: "start" }, { type: "finish" }]); }, reconnectToStream: async () => null },
  });
  const chat = new Chat<UIMessage>({ id: thread.id, transport, messages: toUIMessages(thread.view()) });
  await chat.addToolApprovalResponse({ id: approvalId, approved: false, reason: "not on a Friday" });
  await chat.sendMessage();
  await eventually(() => equal(sent, 1, "requests"));
  await eventually(() => equal(thread.view().pendingApprovals.length, 0, "pending approvals after the answer"));
  transport.close();
  await store.close();
});

test("ai-sdk: a Chat whose id is no thread fails with the ChatsyncError, and nothing is sent", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  let sent = 0;
  const transport = chatsyncTransport({
    store,
    transport: { sendMessages: async () => { sent += 1; return streamOf([{ type: "finish" }]); }, reconnectToStream: async () => null },
  });
  let failure: unknown;
  const chat = new Chat<UIMessage>({ id: "not-a-thread", transport, onError: (error) => (failure = error) });
  await chat.sendMessage({ text: "hello?" });
  await eventually(() => equal(chat.status, "error", "chat status"));
  assert(failure instanceof ChatsyncError, `the error: ${String(failure)}`);
  equal(sent, 0, "requests sent");
  transport.close();
  await store.close();
});

// A stream the test writes into as it goes, as a model's would arrive.
function pushStream() {
  let controller!: ReadableStreamDefaultController<UIMessageChunk>;
  const stream = new ReadableStream<UIMessageChunk>({ start: (c) => void (controller = c) });
  return { stream, push: (...chunks: UIMessageChunk[]) => chunks.forEach((c) => controller.enqueue(c)), close: () => controller.close() };
}

/** Reads a UI message stream with the ai package: the message as it builds, and whether it ended. */
function readWithAi(stream: ReadableStream<UIMessageChunk>) {
  const state: { message?: UIMessage; done: boolean; errors: unknown[]; chunks: string[] } = { done: false, errors: [], chunks: [] };
  const [forAi, forLog] = stream.tee();
  void (async () => {
    const reader = forLog.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) state.chunks.push(next.value.type);
  })();
  void (async () => {
    for await (const message of readUIMessageStream({ stream: forAi, onError: (e) => state.errors.push(e) })) state.message = message;
    state.done = true;
  })();
  return state;
}

// The same message, as JSON compares it (fields the SDK leaves undefined dropped). A UI stream's
// text parts carry no id (its chunks' ids only route deltas): the document's are left out.
function comparable(message: UIMessage | undefined): unknown {
  const json = JSON.parse(JSON.stringify(message ?? null));
  for (const part of json?.parts ?? []) if (part.type === "text") delete part.id;
  return json;
}

function documentReply(thread: Thread, id: string): UIMessage {
  return toUIMessages(thread.view()).find((m) => m.id === id)!;
}

test("ai-sdk: reconnectToStream replays every part type (reasoning, tool states, files, sources, data, steps), then follows live", async () => {
  const { store, thread } = await freshThread();
  thread.appendMessage({ role: "user", content: "Plan my trip" });
  const model = pushStream();
  const persisted = persistUIMessageStream(thread, model.stream);
  model.push(
    { type: "start", messageId: "reply-all", messageMetadata: { model: "stand-in" } },
    { type: "start-step" },
    { type: "reasoning-start", id: "r" },
    { type: "reasoning-delta", id: "r", delta: "Weather first, " },
    { type: "reasoning-delta", id: "r", delta: "then trains." },
    { type: "reasoning-end", id: "r" },
    { type: "tool-input-available", toolCallId: "call_a", toolName: "weather", input: { city: "Oslo" } },
    { type: "tool-output-available", toolCallId: "call_a", output: { celsius: 4 } },
    { type: "tool-input-available", toolCallId: "call_c", toolName: "book", input: { seat: "12A" } },
    { type: "tool-approval-request", approvalId: "approval_c", toolCallId: "call_c" },
    { type: "tool-input-available", toolCallId: "call_d", toolName: "trains", input: { from: "Oslo" } },
    { type: "tool-output-error", toolCallId: "call_d", errorText: "no trains today" },
    { type: "tool-input-available", toolCallId: "call_e", toolName: "search", input: { q: "hotels" }, dynamic: true },
    { type: "tool-output-available", toolCallId: "call_e", output: ["Grand"], dynamic: true },
    { type: "file", url: "https://files.example/map.png", mediaType: "image/png" },
    { type: "source-url", sourceId: "s1", url: "https://weather.example", title: "Weather" },
    { type: "source-document", sourceId: "s2", mediaType: "application/pdf", title: "Timetable", filename: "tt.pdf" },
    { type: "data-plan", id: "plan", data: { step: 1 } },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "tool-input-start", toolCallId: "call_b", toolName: "hotels" },
    { type: "text-start", id: "t" },
    { type: "text-delta", id: "t", delta: "Here is " },
  );
  await eventually(() => equal(documentReply(thread, "reply-all")?.parts.length, 13, "the document's parts so far"));
  const transport = chatsyncTransport({
    store,
    transport: { sendMessages: async () => { throw new Error("not used"); }, reconnectToStream: async () => null },
  });
  const replay = await transport.reconnectToStream({ chatId: thread.id });
  assert(replay, "a stream to resume");
  const read = readWithAi(replay);
  // The replay alone rebuilds the message as the document has it.
  await eventually(() => equal(comparable(read.message), comparable(documentReply(thread, "reply-all")), "the replayed message"));
  const parts = read.message!.parts as { type: string; state?: string }[];
  equal(parts.map((p) => p.type), [
    "step-start", "reasoning", "tool-weather", "tool-book", "tool-trains", "dynamic-tool", "file", "source-url",
    "source-document", "data-plan", "step-start", "tool-hotels", "text",
  ], "every part type, in order");
  equal(parts.filter((p) => "toolCallId" in p).map((p) => p.state),
    ["output-available", "approval-requested", "output-error", "output-available", "input-streaming"], "the tool states");
  // Live: deltas, a tool going through its states, data replaced, metadata, the end.
  model.push(
    { type: "text-delta", id: "t", delta: "your plan" },
    { type: "tool-input-available", toolCallId: "call_b", toolName: "hotels", input: { city: "Oslo" } },
    { type: "data-plan", id: "plan", data: { step: 2 } },
  );
  await eventually(() => equal(comparable(read.message), comparable(documentReply(thread, "reply-all")), "after live changes"));
  model.push(
    { type: "tool-output-available", toolCallId: "call_b", output: { hotel: "Grand" } },
    { type: "text-delta", id: "t", delta: "." },
    { type: "text-end", id: "t" },
    { type: "message-metadata", messageMetadata: { usage: { out: 9 } } },
    { type: "finish", finishReason: "stop" },
  );
  model.close();
  equal((await persisted).status, "complete", "the model's stream stored");
  await eventually(() => assert(read.done, "the replay ended"));
  equal(read.errors, [], "no stream errors");
  equal(read.chunks.at(-1), "finish", "it ends with finish");
  const final = documentReply(thread, "reply-all");
  equal(comparable(read.message), comparable(final), "the resumed message is the document's");
  equal((final.parts.at(-1) as { text: string }).text, "Here is your plan.", "the text");
  equal(final.metadata, { model: "stand-in", usage: { out: 9 } }, "metadata");
  transport.close();
  await store.close();
});

test("ai-sdk: useChat's resume (the Chat class) shows a reply's reasoning, tools and text as before, then its live end", async () => {
  const { store, thread } = await freshThread();
  thread.appendMessage({ role: "user", content: "Deploy?" });
  const model = pushStream();
  const persisted = persistUIMessageStream(thread, model.stream);
  model.push(
    { type: "start", messageId: "reply-chat" },
    { type: "start-step" },
    { type: "reasoning-start", id: "r" },
    { type: "reasoning-delta", id: "r", delta: "Checking the build." },
    { type: "reasoning-end", id: "r" },
    { type: "tool-input-available", toolCallId: "call_x", toolName: "deploy", input: { env: "prod" } },
    { type: "tool-approval-request", approvalId: "approval_x", toolCallId: "call_x" },
    { type: "tool-approval-response", approvalId: "approval_x", approved: false, reason: "Friday" },
    { type: "tool-output-denied", toolCallId: "call_x" },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "text-start", id: "t" },
    { type: "text-delta", id: "t", delta: "Not deploying" },
  );
  await eventually(() => equal(documentReply(thread, "reply-chat")?.parts.length, 5, "the document's parts so far"));
  // The page before the reload showed what the model's stream built; after it, the Chat starts from
  // the document and resumes.
  const transport = chatsyncTransport({
    store,
    transport: { sendMessages: async () => { throw new Error("not used"); }, reconnectToStream: async () => null },
  });
  const chat = new Chat<UIMessage>({ id: thread.id, transport, messages: toUIMessages(thread.view()) });
  const resumed = chat.resumeStream();
  await eventually(() => equal(comparable(chat.messages.at(-1)), comparable(documentReply(thread, "reply-chat")), "the Chat's reply while resuming"));
  const denied = chat.messages.at(-1)!.parts[2] as { state: string; approval?: { approved?: boolean; reason?: string } };
  equal([denied.state, denied.approval?.approved, denied.approval?.reason], ["output-denied", false, "Friday"], "the denied tool part");
  model.push({ type: "text-delta", id: "t", delta: " today." }, { type: "text-end", id: "t" }, { type: "finish", finishReason: "stop" });
  model.close();
  await persisted;
  await resumed;
  await eventually(() => equal(chat.status, "ready", "chat status"));
  equal(chat.messages.length, 2, "no duplicate of the reply");
  equal(comparable(chat.messages.at(-1)), comparable(documentReply(thread, "reply-chat")), "the Chat's reply at the end");
  equal(chat.messages.at(-1)!.parts.map((p) => p.type), ["step-start", "reasoning", "tool-deploy", "step-start", "text"], "its parts");
  transport.close();
  await store.close();
});

test("ai-sdk: replayUIMessageStream of a finished reply gives its whole stream; a reset step and an error end are followed", async () => {
  const { store, thread } = await freshThread();
  await persistUIMessageStream(thread, streamOf(reply));
  const done = readWithAi(replayUIMessageStream(thread, "reply-1"));
  await eventually(() => assert(done.done, "the replay of a finished reply ends"));
  equal(comparable(done.message), comparable(documentReply(thread, "reply-1")), "the whole reply");
  equal(done.chunks.filter((c) => c === "start-step" || c === "finish-step"), ["start-step", "finish-step", "start-step", "finish-step"], "step boundaries");
  // A live reset step: the stream says reset-step, and the retried step replaces the first try.
  const model = pushStream();
  const persisted = persistUIMessageStream(thread, model.stream);
  model.push({ type: "start", messageId: "reply-reset" }, { type: "start-step" }, { type: "text-start", id: "0" }, { type: "text-delta", id: "0", delta: "First try" });
  await eventually(() => equal(documentReply(thread, "reply-reset")?.parts.length, 2, "the first try stored"));
  const live = readWithAi(replayUIMessageStream(thread, "reply-reset"));
  await eventually(() => equal(comparable(live.message), comparable(documentReply(thread, "reply-reset")), "the first try replayed"));
  model.push({ type: "reset-step" } as unknown as UIMessageChunk, { type: "start-step" }, { type: "text-start", id: "0" }, { type: "text-delta", id: "0", delta: "Second" });
  await eventually(() => equal(documentReply(thread, "reply-reset")?.parts.map((p) => (p as { text?: string }).text ?? p.type), ["step-start", "step-start", "Second"], "the document after the reset"));
  await eventually(() => equal(comparable(live.message), comparable(documentReply(thread, "reply-reset")), "the replay after the reset"));
  assert(live.chunks.includes("reset-step"), "a reset-step chunk");
  model.push({ type: "error", errorText: "model overloaded" });
  model.close();
  equal((await persisted).status, "error", "stored as error");
  await eventually(() => assert(live.done, "the replay ended"));
  equal(live.chunks.at(-1), "error", "with an error chunk");
  equal(live.errors.map((e) => (e as Error).message), ["model overloaded"], "the error text");
  // Aborted: the stream ends with abort.
  const open = thread.appendMessage({ role: "assistant" });
  const controller = new AbortController();
  const aborted = readWithAi(replayUIMessageStream(thread, open.id, { signal: controller.signal }));
  controller.abort();
  await eventually(() => assert(aborted.done, "the aborted replay ended"));
  equal(aborted.chunks.at(-1), "abort", "with abort");
  await store.close();
});
