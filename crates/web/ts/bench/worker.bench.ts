// The page of the worker benchmark (worker-run.mjs drives it): main-thread long tasks while a
// 5,000-message thread is switched to after a reload, and while a reply streams into it (a delta
// every 20 ms), with the store in the page (`worker: "none"`) or in a worker.
//   ?phase=build: writes the corpus (in the page) and says done;
//   ?phase=measure&mode=none|shared|dedicated: a fresh page load, then the measurements.
// Before the store: ./worker/page/busy.ts counts the main thread's time on the store's behalf.
import { busy, longPieces, timed } from "./worker/page/busy.js";
import { tasksBetween } from "./worker/page/longtasks.js";
import { ChatStore, type WorkerMode } from "chatsync/bundler";

const params = new URLSearchParams(location.search);
const MESSAGES = Number(params.get("messages") ?? 5000);
const DB = "worker-bench";
const done = (result: unknown) => ((window as unknown as { __bench: unknown }).__bench = result);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function build() {
  const store = await ChatStore.open({ dbName: DB, persist: false });
  const big = await store.createThread({ title: "Long transcript" });
  const small = await store.createThread({ title: "Short" });
  const thread = await store.openThread(big.id);
  const words = "the quick brown fox jumps over the lazy dog while an agent reads a long transcript".split(" ");
  for (let i = 0; i < MESSAGES; i++) {
    const text = Array.from({ length: 30 }, (_, k) => words[(i + k) % words.length]).join(" ");
    thread.appendMessage({ role: i % 2 ? "assistant" : "user", content: `${i}: ${text}` });
  }
  const other = await store.openThread(small.id);
  other.appendMessage({ role: "user", content: "hello" });
  await store.flush();
  await store.close();
  done({ big: big.id, small: small.id });
}

async function measure(mode: WorkerMode, big: string, small: string) {
  const opened = performance.now();
  const store = await ChatStore.open({ dbName: DB, persist: false, worker: mode });
  const openMs = performance.now() - opened;
  const current = await store.openThread(small);
  current.subscribe(() => {});
  await delay(500);

  // The switch: first view, then 3 s for what follows (the document's load).
  const switchAt = performance.now();
  const thread = await store.openThread(big);
  const firstViewMs = performance.now() - switchAt;
  const firstCount = thread.view().messages.length;
  let views = 0;
  thread.subscribe((view) => {
    views += 1;
    void view.messages.length;
  });
  current.close();
  await delay(3000);
  const switchEnd = performance.now();

  // A reply streaming into it: a delta every 20 ms for 4 s.
  const streamAt = performance.now();
  const reply = thread.appendMessage({ role: "assistant" });
  let deltaCallMs = 0;
  let deltas = 0;
  const busyAtStream = busy();
  while (performance.now() - streamAt < 4000) {
    const before = performance.now();
    timed(() => thread.appendDelta(reply.id, `token${deltas} `));
    deltaCallMs += performance.now() - before;
    deltas += 1;
    await delay(20);
  }
  thread.finishMessage(reply.id, { status: "complete" });
  await delay(1000);
  const streamEnd = performance.now();
  const streamBusyMs = busy() - busyAtStream;
  const last = thread.view().messages.at(-1);
  await store.close();
  done({
    mode,
    openMs: Math.round(openMs),
    switch: {
      firstViewMs: Math.round(firstViewMs), firstViewMessages: firstCount, longTasks: tasksBetween(switchAt, switchEnd),
      mainPiecesOver10ms: longPieces(switchAt, switchEnd),
    },
    stream: {
      deltas,
      viewsReceived: views,
      appendDeltaCallUs: Math.round((deltaCallMs / deltas) * 1000),
      longTasks: tasksBetween(streamAt, streamEnd),
      // The store's main-thread time (busy.ts) over the stream and the second after it, per delta.
      mainBusyMs: Math.round(streamBusyMs),
      mainBusyPerDeltaMs: +(streamBusyMs / deltas).toFixed(3),
      // Of that, the pieces over 10 ms (one message from the worker handled, one call).
      mainPiecesOver10ms: longPieces(streamAt, streamEnd),
      finished: last?.id === reply.id && last.status === "complete",
    },
  });
}

try {
  if (params.get("phase") === "build") await build();
  else await measure(params.get("mode") as WorkerMode, params.get("big")!, params.get("small")!);
} catch (error) {
  done({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
}
