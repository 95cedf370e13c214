// chatsync/react in a real browser, through React Testing Library, in StrictMode where it matters.
import { act, cleanup, render, renderHook, screen } from "@testing-library/react";
import { createElement as h, memo, StrictMode, type ReactNode } from "react";
import { ChatStore, type Message, type StoreOptions } from "chatsync/bundler";
import {
  ChatStoreProvider, useChatStore, usePreferences, useStoreStatus, useThread, useThreads,
} from "chatsync/react";
import { assert, equal, eventually, freshDb, test } from "./harness.js";

// Opens real stores, counting the calls.
function countingOpen() {
  const opened: ChatStore[] = [];
  const open = async (options: StoreOptions) => {
    const store = await ChatStore.open({ ...options, persist: false });
    opened.push(store);
    return store;
  };
  return { open, opened };
}

async function isClosed(store: ChatStore): Promise<boolean> {
  try {
    await store.listThreads();
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "closed";
  }
}

function withStore(store: ChatStore) {
  return ({ children }: { children?: ReactNode }) => h(StrictMode, null, h(ChatStoreProvider, { store }, children));
}

test("react: ChatStoreProvider in StrictMode opens one store per dbName, shared, closed after the last unmounts", async () => {
  const { open, opened } = countingOpen();
  const dbName = freshDb();
  const seen = new Set<ChatStore>();
  function Probe({ label }: { label: string }) {
    const store = useChatStore();
    seen.add(store);
    return h("p", { "data-testid": label }, "open");
  }
  const tree = (both: boolean) =>
    h(StrictMode, null,
      h(ChatStoreProvider, { dbName, open, fallback: h("p", null, "opening") }, h(Probe, { label: "a" })),
      both ? h(ChatStoreProvider, { options: { dbName }, open }, h(Probe, { label: "b" })) : null);
  const view = render(tree(true));
  await screen.findByTestId("a");
  await screen.findByTestId("b");
  equal(opened.length, 1, "stores opened");
  equal(seen.size, 1, "stores handed out");
  view.rerender(tree(false));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert(!(await isClosed(opened[0]!)), "closed while a provider still uses it");
  view.unmount();
  await eventually(async () => assert(await isClosed(opened[0]!), "not closed after the last provider left"));
  cleanup();
});

test("react: useChatStore throws the open error for an error boundary, and outside a provider", async () => {
  const failing = async () => {
    throw Object.assign(new Error("IndexedDB refused"), { code: "storage" });
  };
  const { result } = renderHook(() => {
    try {
      return useChatStore();
    } catch (error) {
      return error as Error;
    }
  }, { wrapper: ({ children }) => h(ChatStoreProvider, { dbName: freshDb(), open: failing }, children) });
  await eventually(() => equal((result.current as Error).message, "IndexedDB refused", "the thrown error"));
  const outside = renderHook(() => {
    try {
      return useChatStore();
    } catch (error) {
      return error as Error;
    }
  });
  assert(/ChatStoreProvider/.test((outside.result.current as Error).message), "outside a provider");
  cleanup();
});

test("react: useThread gives loading, then the view, follows writes; one Thread for every component of an id", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Hooks" });
  let opens = 0;
  const openThread = store.openThread.bind(store);
  store.openThread = (threadId: string) => {
    opens += 1;
    return openThread(threadId);
  };
  function Messages({ label }: { label: string }) {
    const { view, loading } = useThread(id);
    if (loading) return h("p", { "data-testid": label }, "loading");
    return h("p", { "data-testid": label }, view!.messages.map((m) => m.content).join("|"));
  }
  render(h(withStore(store), null, h(Messages, { label: "one" }), h(Messages, { label: "two" })));
  equal(screen.getByTestId("one").textContent, "loading", "first render");
  const hook = renderHook(() => useThread(id), { wrapper: withStore(store) });
  await eventually(() => assert(hook.result.current.thread, "no thread"));
  act(() => {
    hook.result.current.thread!.appendMessage({ role: "user", content: "hello" });
  });
  await eventually(() => equal(screen.getByTestId("two").textContent, "hello", "second component"));
  equal(screen.getByTestId("one").textContent, "hello", "first component");
  equal(opens, 1, "openThread calls");
  cleanup();
  await store.close();
});

test("react: useThread of an id that does not exist reports the error, loading false", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { result } = renderHook(() => useThread("4NfYJ8Zsqb2jEB4RLDTDw6LrUHso"), { wrapper: withStore(store) });
  await eventually(() => assert(result.current.error, "no error"));
  equal(result.current.loading, false, "loading");
  assert(["not_found", "invalid_input"].includes(result.current.error!.code), `code ${result.current.error!.code}`);
  const none = renderHook(() => useThread(null), { wrapper: withStore(store) });
  equal(none.result.current.loading, false, "no id: not loading");
  cleanup();
  await store.close();
});

test("react: useThreads lists the threads and follows new ones and archiving", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  await store.createThread({ title: "First" });
  const { result } = renderHook(() => useThreads(), { wrapper: withStore(store) });
  await eventually(() => equal(result.current.map((t) => t.title), ["First"], "titles"));
  const second = await act(() => store.createThread({ title: "Second" }));
  await eventually(() => equal(result.current.map((t) => t.title).sort(), ["First", "Second"], "titles"));
  await act(() => store.archiveThread(second.id));
  await eventually(() => equal(result.current.map((t) => t.title), ["First"], "after archiving"));
  const all = renderHook(() => useThreads({ includeArchived: true }), { wrapper: withStore(store) });
  await eventually(() => equal(all.result.current.length, 2, "with archived"));
  cleanup();
  await store.close();
});

test("react: useThreads() is store.threads(): the list from the first render, the same array until it changes", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  await store.createThread({ title: "First" });
  let listings = 0;
  const list = store.listThreads.bind(store);
  store.listThreads = (options) => {
    listings += 1;
    return list(options);
  };
  const renders: (readonly unknown[])[] = [];
  const { result, rerender } = renderHook(() => {
    const threads = useThreads();
    renders.push(threads);
    return threads;
  }, { wrapper: withStore(store) });
  equal(renders[0]!.length, 1, "the list in the very first render");
  assert(result.current === store.threads(), "store.threads() itself");
  const first = result.current;
  rerender();
  assert(result.current === first, "the same array on a re-render");
  equal(listings, 0, "no listing of its own");
  await act(() => store.createThread({ title: "Second" }));
  equal(result.current.map((t) => t.title).sort(), ["First", "Second"], "the new thread, once createThread resolved");
  assert(result.current === store.threads() && result.current !== first, "the new list");
  cleanup();
  await store.close();
});

test("react: React.memo message rows of useThread's view skip the messages that did not change while a reply streams", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { id } = await store.createThread({ title: "Memo" });
  const setup = await store.openThread(id);
  for (let i = 0; i < 5; i++) setup.appendMessage({ role: i % 2 ? "assistant" : "user", content: `message ${i}`, status: "complete" });
  setup.close();
  const renders = new Map<string, number>();
  const Row = memo(function Row({ message }: { message: Message }) {
    renders.set(message.id, (renders.get(message.id) ?? 0) + 1);
    return h("li", { "data-testid": `row-${message.id}` }, message.content);
  });
  let thread: ReturnType<typeof useThread>["thread"];
  function Rows() {
    const state = useThread(id);
    thread = state.thread;
    return h("ul", null, (state.view?.messages ?? []).map((message) => h(Row, { key: message.id, message })));
  }
  render(h(ChatStoreProvider, { store }, h(Rows)));
  await eventually(() => assert(thread && renders.size === 5, "five rows"));
  const reply = thread!.appendMessage({ role: "assistant" });
  for (const word of ["Streaming ", "a ", "reply."]) {
    act(() => thread!.appendDelta(reply.id, word));
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  await eventually(() => equal(screen.getByTestId(`row-${reply.id}`).textContent, "Streaming a reply.", "the streamed row"));
  const earlier = [...renders].filter(([messageId]) => messageId !== reply.id).map(([, count]) => count);
  equal(earlier, [1, 1, 1, 1, 1], "each earlier row rendered once");
  assert(renders.get(reply.id)! >= 2, `the streaming row re-rendered (${renders.get(reply.id)})`);
  cleanup();
  await store.close();
});

test("react: useStoreStatus gives store.status() and re-renders when it changes", async () => {
  const storage = navigator.storage;
  const original = storage.persist;
  storage.persist = () => new Promise((resolve) => setTimeout(() => resolve(true), 100));
  try {
    const store = await ChatStore.open({ dbName: freshDb() });
    const { result } = renderHook(() => useStoreStatus(), { wrapper: withStore(store) });
    equal(result.current.state, "local", "state");
    await eventually(() => equal(result.current.persisted, true, "persisted, after the browser answered"));
    assert(result.current === store.status(), "the same object as status()");
    cleanup();
    await store.close();
  } finally {
    storage.persist = original;
  }
});

test("react: usePreferences reads store.preferences() and follows its preferences event; unsupported on a store without it", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const { result } = renderHook(() => usePreferences(), { wrapper: withStore(store) });
  equal(result.current.supported, true, "supported");
  await eventually(() => equal(result.current.preferences?.maxContextMessages, 50, "the defaults"));
  await act(async () => {
    await store.setPreferences({ preferredModel: "large" });
  });
  await eventually(() => equal(result.current.preferences?.preferredModel, "large", "after setPreferences"));
  cleanup();
  await store.close();

  // An older chatsync's store, stood in for: no preferences().
  const older = await ChatStore.open({ dbName: freshDb(), persist: false });
  Object.defineProperty(older, "preferences", { value: undefined });
  const plain = renderHook(() => usePreferences(), { wrapper: withStore(older) });
  equal(plain.result.current.supported, false, "supported without preferences()");
  cleanup();
  await older.close();
});
