// replayUIMessageStream: a message of a thread as the AI SDK's UI message stream — every part it has
// so far (text, reasoning, tool calls in their states, files, sources, data parts, step boundaries)
// as the UIMessageChunks that build it, then each change as it comes (text and reasoning deltas,
// tool states, new parts, metadata), until the message ends. What `chatsyncTransport`'s
// `reconnectToStream` returns, so `useChat({ resume: true })` rebuilds the reply as it was before a
// reload, then follows it live.
//
// The chunks are worked out from the message's UIMessage (`toUIMessages`), one view after another:
// for each part, what the stream has sent of it (the text's length, the tool call's stages) and what
// is missing. The message's parts only grow, except a reset step (`thread.resetStep`), sent as
// `reset-step` when what went was the last step's.
import type { FinishReason, UIMessage, UIMessageChunk, UIMessagePart, UIDataTypes, UITools } from "ai";
import type { Message, Thread, ThreadView } from "../index.js";
import { sameJson } from "../reuse.js";
import { toUIMessage } from "./messages.js";

type Part = UIMessagePart<UIDataTypes, UITools>;

export interface ReplayOptions {
  /** Aborting it ends the stream with an `abort` chunk. */
  signal?: AbortSignal;
}

/** What the stream has sent of one part. */
interface Sent {
  /** What the part is (its type and id): a part with another identity at its place is another part. */
  identity: string;
  /** The chunks' id of a text or reasoning part. */
  streamId?: string;
  /** How much of its text went out. */
  length?: number;
  /** Whether its end went out. */
  ended?: boolean;
  /** The tool call stages sent: start, input, approval-request, approval-response, output. */
  stages?: Set<string>;
  /** A data part's data as sent. */
  data?: unknown;
}

type ToolPartLike = {
  type: string; toolName?: string; toolCallId: string; state: string; input?: unknown; output?: unknown;
  errorText?: string; approval?: { id: string; approved?: boolean; reason?: string };
};

function identity(part: Part, index: number): string {
  if ("toolCallId" in part) return `tool:${part.toolCallId}`;
  const id = (part as { id?: unknown }).id;
  if (part.type === "text" || part.type === "reasoning") return `${part.type}:${typeof id === "string" ? id : `#${index}`}`;
  if (part.type.startsWith("data-") && typeof id === "string") return `${part.type}:${id}`;
  return `${part.type}#${index}`;
}

/** The chunks that bring a tool part from the stages sent to its state, in the order the SDK needs. */
function toolChunks(part: ToolPartLike, stages: Set<string>): UIMessageChunk[] {
  const dynamic = part.type === "dynamic-tool";
  const toolName = dynamic ? (part.toolName ?? "") : part.type.slice("tool-".length);
  const common = { toolCallId: part.toolCallId, toolName, ...(dynamic ? { dynamic: true } : {}) };
  const out: UIMessageChunk[] = [];
  const stage = (name: string, chunk: UIMessageChunk) => {
    if (stages.has(name)) return;
    stages.add(name);
    out.push(chunk);
  };
  if (part.state === "input-streaming") {
    stage("start", { type: "tool-input-start", ...common });
    return out;
  }
  stage("input", { type: "tool-input-available", ...common, input: part.input });
  const approval = part.approval;
  if (approval) {
    stage("approval-request", { type: "tool-approval-request", approvalId: approval.id, toolCallId: part.toolCallId });
    if (approval.approved !== undefined) {
      stage("approval-response", {
        type: "tool-approval-response", approvalId: approval.id, approved: approval.approved,
        ...(approval.reason !== undefined ? { reason: approval.reason } : {}),
      });
    }
  }
  if (part.state === "output-available") stage("output", { type: "tool-output-available", toolCallId: part.toolCallId, output: part.output });
  else if (part.state === "output-error") {
    stage("output", { type: "tool-output-error", toolCallId: part.toolCallId, errorText: part.errorText ?? "the tool call failed" });
  } else if (part.state === "output-denied") stage("output", { type: "tool-output-denied", toolCallId: part.toolCallId });
  return out;
}

/**
 * The message `messageId` of `thread` as a UI message stream: its parts so far, then its changes,
 * ending with `finish` (complete), `error` (error) or `abort` (cancelled, interrupted, gone from the
 * active branch, or `signal` aborted). A message that has ended already gives its whole stream.
 */
export function replayUIMessageStream(thread: Thread, messageId: string, options: ReplayOptions = {}): ReadableStream<UIMessageChunk> {
  const { signal } = options;
  let unsubscribe = () => {};
  let done = false;
  return new ReadableStream<UIMessageChunk>({
    start(controller) {
      const sent: Sent[] = [];
      let started = false;
      let stepOpen = false;
      let metadata: unknown;
      let lastMessage: Message | undefined;
      const send = (chunk: UIMessageChunk) => controller.enqueue(chunk);
      // The open text and reasoning parts ended, the step finished: what a stream's end sends.
      const closeParts = () => {
        for (const part of sent) {
          if (part.streamId !== undefined && !part.ended) {
            part.ended = true;
            send({ type: part.identity.startsWith("text:") ? "text-end" : "reasoning-end", id: part.streamId });
          }
        }
        if (stepOpen) send({ type: "finish-step" });
        stepOpen = false;
      };
      const end = (chunk: UIMessageChunk) => {
        if (done) return;
        done = true;
        unsubscribe();
        if (started) closeParts();
        send(chunk);
        controller.close();
      };

      const sendPart = (index: number, part: Part) => {
        let state = sent[index];
        const fresh = !state;
        state ??= sent[index] = { identity: identity(part, index) };
        switch (part.type) {
          case "text":
          case "reasoning": {
            if (fresh) {
              const id = (part as { id?: unknown }).id;
              state.streamId = typeof id === "string" ? id : `${messageId}-${index}`;
              state.length = 0;
              send({ type: `${part.type}-start`, id: state.streamId });
            }
            if (part.text.length > state.length!) {
              send({ type: `${part.type}-delta`, id: state.streamId!, delta: part.text.slice(state.length) });
              state.length = part.text.length;
            }
            if (part.state === "done" && !state.ended) {
              state.ended = true;
              send({ type: `${part.type}-end`, id: state.streamId! });
            }
            return;
          }
          case "step-start":
            if (!fresh) return;
            if (stepOpen) send({ type: "finish-step" });
            stepOpen = true;
            send({ type: "start-step" });
            return;
          case "file":
            // A file stored by reference has that as its url (a chunk has no other field for it).
            if (fresh) send({ type: "file", url: part.url ?? (part as { reference?: string }).reference ?? "", mediaType: part.mediaType });
            return;
          case "source-url":
            if (fresh) send({ type: "source-url", sourceId: part.sourceId, url: part.url, ...(part.title !== undefined ? { title: part.title } : {}) });
            return;
          case "source-document":
            if (fresh) {
              send({
                type: "source-document", sourceId: part.sourceId, mediaType: part.mediaType, title: part.title,
                ...(part.filename !== undefined ? { filename: part.filename } : {}),
              });
            }
            return;
          default:
            if ("toolCallId" in part) {
              state.stages ??= new Set();
              for (const chunk of toolChunks(part as ToolPartLike, state.stages)) send(chunk);
            } else if (part.type.startsWith("data-")) {
              const data = part as { type: `data-${string}`; id?: string; data: unknown };
              // A data part with an id takes new data in place; one without has no way to.
              if (fresh || (data.id !== undefined && !sameJson(state.data, data.data))) {
                state.data = data.data;
                send({ type: data.type, ...(data.id !== undefined ? { id: data.id } : {}), data: data.data } as UIMessageChunk);
              }
            }
            // Anything else (a part type of a later AI SDK) has no chunk here.
            return;
        }
      };

      const sendMessage = (ui: UIMessage) => {
        if (!started) {
          started = true;
          metadata = ui.metadata;
          send({ type: "start", messageId: ui.id, ...(ui.metadata !== undefined ? { messageMetadata: ui.metadata } : {}) });
        } else if (ui.metadata !== undefined && !sameJson(ui.metadata, metadata)) {
          metadata = ui.metadata;
          send({ type: "message-metadata", messageMetadata: ui.metadata });
        }
        let kept = 0;
        while (kept < sent.length && kept < ui.parts.length && sent[kept]!.identity === identity(ui.parts[kept]!, kept)) kept++;
        if (kept < sent.length) {
          // Parts went: a stream can say so only of the last step's parts (`reset-step`).
          let lastStep = sent.length - 1;
          while (lastStep >= 0 && sent[lastStep]!.identity !== `step-start#${lastStep}`) lastStep--;
          if (kept <= lastStep) return end({ type: "abort", reason: "the reply's earlier parts changed" });
          send({ type: "reset-step" });
          sent.length = lastStep + 1;
        }
        ui.parts.forEach((part, index) => sendPart(index, part));
      };

      const update = (view: ThreadView) => {
        if (done) return;
        const message = view.messages.find((m) => m.id === messageId);
        if (!message) return end({ type: "abort", reason: "the reply is no longer on the active branch" });
        // An unchanged message keeps its object between views: nothing to send.
        if (message !== lastMessage) {
          lastMessage = message;
          const ui = toUIMessage(view, messageId);
          if (ui) sendMessage(ui);
          if (done) return;
        }
        if (message.status === "complete") {
          end({ type: "finish", ...(message.finishReason ? { finishReason: message.finishReason as FinishReason } : {}) });
        } else if (message.status === "error") end({ type: "error", errorText: message.error ?? "the reply ended with an error" });
        else if (message.status === "cancelled" || message.status === "interrupted") end({ type: "abort", reason: message.status });
      };

      if (signal?.aborted) return end({ type: "abort", reason: "aborted" });
      unsubscribe = thread.subscribe(update);
      signal?.addEventListener("abort", () => end({ type: "abort", reason: "aborted" }), { once: true });
      update(thread.view());
    },
    cancel() {
      done = true;
      unsubscribe();
    },
  });
}
