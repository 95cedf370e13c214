// A second tab for worker.test.ts: this page in an iframe (?role=tab), on the same SharedWorker.
// `act=write` appends a message and reports what it then sees; `act=stream` streams a reply until
// the iframe is removed; `act=shared` (with `relay` and `token`: a grantee of a thread shared
// read-only, share.test.ts) lists and opens the thread, tries to write it and reports what it then
// sees; `act=follow` opens a shared thread and, once its threads() says read-only, tries to write it. It tells the test page how far it got with postMessage.
import { ChatStore } from "chatsync/bundler";

const params = new URLSearchParams(location.search);
const tell = (message: Record<string, unknown>) => parent.postMessage(message, "*");

tell({ type: "loaded" });
try {
  const relay = params.get("relay");
  const store = await ChatStore.open({
    dbName: params.get("db")!, persist: false, worker: "shared",
    ...(relay ? { relayUrl: relay, token: params.get("token")! } : {}),
  });
  tell({ type: "opened" });
  const id = params.get("thread")!;
  if (params.get("act") === "shared") {
    const listed = (await store.listThreads()).find((s) => s.id === id);
    const thread = await store.openThread(id);
    let refused: string | undefined;
    try {
      thread.appendMessage({ role: "user", content: "from the read-only tab" });
    } catch (error) {
      refused = (error as { code?: string }).code;
    }
    tell({
      type: "ready", access: listed?.access, sharedBy: listed?.sharedBy, refused,
      inThreads: store.threads().find((s) => s.id === id)?.access,
      contents: thread.view().messages.map((m) => m.content),
    });
    const stop = thread.subscribe((view) => {
      if (view.messages.length < 2) return;
      stop();
      tell({ type: "saw", contents: view.messages.map((m) => m.content) });
    });
  } else if (params.get("act") === "follow") {
    // A grantee's tab, idle: it hears that the share became read-only only from another tab. (Its
    // store may be new, the thread not on this device yet: fetched once the store is online.)
    for (let tries = 0; !store.status().online && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    const thread = await store.openThread(id);
    const access = () => store.threads().find((s) => s.id === id)?.access;
    tell({ type: "ready", access: access() });
    const stop = store.subscribe((event) => {
      if (event.type !== "threads" || access() !== "read") return;
      stop();
      let refused: string | undefined;
      try {
        thread.setTitle("from the tab");
      } catch (error) {
        refused = (error as { code?: string }).code;
      }
      tell({ type: "readOnly", refused });
    });
  } else if (params.get("act") === "write") {
    const thread = await store.openThread(id);
    thread.appendMessage({ role: "user", content: "from the other tab" });
    tell({ type: "ready" });
    const stop = thread.subscribe((view) => {
      if (view.messages.length < 2) return;
      stop();
      tell({ type: "saw", contents: view.messages.map((m) => m.content) });
    });
  } else {
    const thread = await store.openThread(id);
    const reply = thread.appendMessage({ role: "assistant" });
    let n = 0;
    thread.appendDelta(reply.id, "streaming ");
    setInterval(() => thread.appendDelta(reply.id, `token${n++} `), 20);
    // Once the worker has run the first deltas.
    await store.flush();
    tell({ type: "streaming", replyId: reply.id });
  }
} catch (error) {
  tell({ type: "failed", error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
}
