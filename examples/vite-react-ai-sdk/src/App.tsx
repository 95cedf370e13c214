// The app: the thread list (useThreads), the store's connection (useStoreStatus), and the open thread
// as a useChat conversation whose transport is chatsync's (the Chat's id is the thread's id).
import { useEffect, useMemo, useRef, useState } from "react";
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type UIMessage } from "ai";
import { chatsyncTransport, toUIMessages } from "chatsync/ai-sdk";
import { useChatStore, useStoreStatus, useThread, useThreads } from "chatsync/react";

function useSelectedThread(): [string | undefined, (id: string) => void] {
  const read = () => new URLSearchParams(location.hash.slice(1)).get("thread") ?? undefined;
  const [id, setId] = useState(read);
  useEffect(() => {
    const changed = () => setId(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return [id, (next) => (location.hash = `thread=${next}`)];
}

export function App() {
  const store = useChatStore();
  const threads = useThreads();
  const status = useStoreStatus();
  const [selected, select] = useSelectedThread();
  return (
    <main>
      <aside>
        <p data-testid="status">{status.state}</p>
        <button data-testid="new-thread" onClick={async () => select((await store.createThread()).id)}>New chat</button>
        <ul data-testid="threads">
          {threads.map((thread) => (
            <li key={thread.id}>
              <a href={`#thread=${thread.id}`} data-testid="thread-link">{thread.title}</a>
            </li>
          ))}
        </ul>
      </aside>
      {selected ? <Conversation key={selected} threadId={selected} /> : <p>Pick or start a chat.</p>}
    </main>
  );
}

function text(message: UIMessage): string {
  return message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function Conversation({ threadId }: { threadId: string }) {
  const { view, loading, error } = useThread(threadId);
  if (error) return <p data-testid="error">{error.message}</p>;
  if (loading || !view) return <p>Loading…</p>;
  return <Chat threadId={threadId} initial={toUIMessages(view)} />;
}

function Chat({ threadId, initial }: { threadId: string; initial: UIMessage[] }) {
  const store = useChatStore();
  const transport = useMemo(
    () => chatsyncTransport({ store, transport: new DefaultChatTransport({ api: "/api/chat" }) }),
    [store],
  );
  useEffect(() => () => transport.close(), [transport]);
  const { messages, sendMessage, setMessages, status } = useChat({ id: threadId, messages: initial, transport, resume: true });
  // Changes from another tab or device: shown when the thread changes while this tab is not
  // streaming a reply itself. Only on a change of the thread: when a reply ends, the Chat may be a
  // frame ahead of the thread, which catches up with a change of its own.
  const { view } = useThread(threadId);
  const streaming = useRef(false);
  streaming.current = status === "submitted" || status === "streaming";
  useEffect(() => {
    if (view && !streaming.current) setMessages(toUIMessages(view));
  }, [view, setMessages]);
  const [draft, setDraft] = useState("");
  return (
    <section>
      <ol data-testid="messages">
        {messages.map((message) => (
          <li key={message.id} data-role={message.role} data-testid="message">{text(message)}</li>
        ))}
      </ol>
      <p data-testid="chat-status">{status}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!draft.trim()) return;
          void sendMessage({ text: draft });
          setDraft("");
        }}
      >
        <input data-testid="input" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button data-testid="send" type="submit" disabled={status !== "ready"}>Send</button>
      </form>
    </section>
  );
}
