// chatsyncTransport: a ChatTransport for the AI SDK's Chat / useChat that keeps the conversation in a
// chatsync thread. It wraps the transport that talks to your server (DefaultChatTransport unless you
// give one), writes the user's message before sending, tees the reply stream into the thread, and
// resumes an unfinished reply from the thread itself (`useChat({ resume: true })`), no stream store
// on the server needed: whatever writes the reply into the thread (another tab, a device, a backend)
// is what the resumed stream follows. Only a reply whose writer is gone (this page, reloaded) is asked
// of the inner transport's reconnectToStream, and written into a new branch of the cut-off one.
import { DefaultChatTransport, type ChatTransport, type UIMessage, type UIMessageChunk } from "ai";
import type { ChatStore, Message, Thread, ThreadView } from "../index.js";
import { findMessage, fromUIMessage, UI_MESSAGE_ID } from "./messages.js";
import { decide, persistUIMessageStream } from "./persist.js";
import { replayUIMessageStream } from "./replay.js";

export interface ChatsyncTransportOptions<M extends UIMessage> {
  /** The store holding the threads; a Chat's `id` is its thread's id (create the thread first). */
  store: ChatStore;
  /** The transport to your chat endpoint (default: `new DefaultChatTransport()`, POST /api/chat). */
  transport?: ChatTransport<M>;
  /** Called when writing a reply into the thread fails (the Chat's own stream is not affected). */
  onError?: (error: unknown) => void;
}

/** A ChatTransport that persists through chatsync; `close()` closes the threads it opened. */
export interface ChatsyncTransport<M extends UIMessage> extends ChatTransport<M> {
  close: () => void;
}

const openStatuses = new Set<Message["status"]>(["pending", "streaming"]);

/** The thread's last message, if it is an assistant reply still being written. */
function unfinishedReply(view: ThreadView): Message | undefined {
  const last = view.messages.at(-1);
  return last && last.role === "assistant" && openStatuses.has(last.status) ? last : undefined;
}

/** Stores a UIMessage under its own id; one chatsync refuses as malformed is kept in the metadata. */
function appendUIMessage(thread: Thread, message: UIMessage): void {
  const stored = fromUIMessage(message);
  try {
    thread.appendMessage(stored);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "invalid_input") throw error;
    const rest = { ...stored };
    delete rest.id;
    thread.appendMessage({ ...rest, metadata: { ...rest.metadata, [UI_MESSAGE_ID]: message.id } });
  }
}

/** A `ChatTransport<UIMessage>` that keeps every message of a Chat in the chatsync thread of its id. */
export function chatsyncTransport<M extends UIMessage = UIMessage>(options: ChatsyncTransportOptions<M>): ChatsyncTransport<M> {
  const { store } = options;
  const inner: ChatTransport<M> = options.transport ?? new DefaultChatTransport<M>();
  const onError = options.onError ?? ((error: unknown) => console.error("chatsync: persisting a reply failed", error));
  // The reply for the Chat, and the same chunks written into the thread as they come.
  const tee = (thread: Thread, stream: ReadableStream<UIMessageChunk>, signal: AbortSignal | undefined, messageId?: string) => {
    const [forChat, forThread] = stream.tee();
    persistUIMessageStream(thread, forThread, {
      ...(signal ? { signal } : {}),
      ...(messageId ? { messageId } : {}),
    }).catch(onError);
    return forChat;
  };
  const threads = new Map<string, Promise<Thread>>();
  const resuming = new Map<string, Promise<ReadableStream<UIMessageChunk> | null>>();
  const open = (id: string) => {
    let thread = threads.get(id);
    if (!thread) {
      thread = store.openThread(id);
      threads.set(id, thread);
      thread.catch(() => threads.delete(id));
    }
    return thread;
  };

  const reconnect = async (request: Parameters<ChatTransport<M>["reconnectToStream"]>[0]) => {
    const thread = await open(request.chatId);
    const view = thread.view();
    const reply = unfinishedReply(view);
    // Every part the reply has (text, reasoning, tool calls, files, sources, data, steps) as the
    // chunks that build it, then its live changes.
    if (reply) return replayUIMessageStream(thread, reply.id, request.abortSignal ? { signal: request.abortSignal } : {});
    // Nobody is writing the reply (this page was its writer, and reloaded): if the server still has
    // it, the inner transport resumes it, from its start, into a fresh branch of the cut-off one.
    const last = view.messages.at(-1);
    const cutOff = last?.role === "assistant" && last.status === "interrupted" ? last : undefined;
    if (!cutOff && last?.role !== "user") return null;
    let stream: ReadableStream<UIMessageChunk> | null;
    try {
      stream = await inner.reconnectToStream(request);
    } catch {
      return null; // a server that cannot resume: the cut-off reply stays as it is
    }
    if (!stream) return null;
    // The reply's message exists before this returns, so a second reconnect follows it.
    const replyId = cutOff ? thread.regenerateMessage(cutOff.id).id : thread.appendMessage({ role: "assistant" }).id;
    return tee(thread, stream, request.abortSignal, replyId);
  };

  return {
    resumeStreamIsReplay: true,

    async sendMessages(request) {
      const thread = await open(request.chatId);
      const view = thread.view();
      const last = request.messages.at(-1);
      let replyId: string | undefined;
      if (request.trigger === "regenerate-message" && request.messageId) {
        const previous = findMessage(view, request.messageId);
        if (previous?.role === "assistant") replyId = thread.regenerateMessage(previous.id).id;
      } else if (last?.role === "user" && !findMessage(view, last.id)) {
        appendUIMessage(thread, last);
      }
      // The person's answers to approval requests travel in the messages: record them too.
      for (const part of last?.role === "assistant" ? last.parts : []) {
        if ("state" in part && part.state === "approval-responded" && "approval" in part && part.approval) {
          decide(thread, part.approval.id, part.approval.approved, part.approval.reason);
        }
      }
      return tee(thread, await inner.sendMessages(request), request.abortSignal, replyId);
    },

    async reconnectToStream(request) {
      // One at a time per chat (StrictMode runs useChat's resume twice): a second call, made while
      // the first resumes a cut-off reply, then follows that reply in the document.
      const earlier = resuming.get(request.chatId);
      if (earlier) await earlier.catch(() => {});
      const attempt = reconnect(request);
      resuming.set(request.chatId, attempt);
      try {
        return await attempt;
      } finally {
        if (resuming.get(request.chatId) === attempt) resuming.delete(request.chatId);
      }
    },

    close() {
      for (const thread of threads.values()) thread.then((t) => t.close(), () => {});
      threads.clear();
      inner.close?.();
    },
  };
}
