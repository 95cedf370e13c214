// The store's worker script (`ChatStore.open({ worker: "shared" | "dedicated" })`): the wasm, the
// Automerge documents, IndexedDB and the relay connection live here, off the page's main thread.
// Run as a SharedWorker, every tab of the origin connects to this one script; as a dedicated Worker,
// its page is its only one. The package loads it with `new URL("./worker.js", import.meta.url)`
// (./connect.ts), which Vite and the `web` target resolve with no configuration.
import init from "../index.js";
import { Connection, type Port } from "./server.js";
import type { ToWorker } from "./protocol.js";

interface MessageTarget extends Port {
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
  addEventListener(type: "close", listener: () => void): void;
  start?(): void;
}

// The core finds `fetch` (the relay's `GET /api/me`, which names the user's index document: without
// it every device keeps an index of its own, and none sees another's threads), `navigator.onLine` and
// the online/offline events through `web_sys::window()`, which is `globalThis instanceof Window` — never
// so in a worker. A worker's global scope has all three: `Window` here says it is one. (The rest the
// core asks of a window, requestAnimationFrame, is replaced below.)
// Remove once the core takes these from the global scope itself.
if (typeof (globalThis as { Window?: unknown }).Window === "undefined") {
  const scope = globalThis;
  Object.defineProperty(globalThis, "Window", {
    value: class {
      static [Symbol.hasInstance](value: unknown): boolean {
        return value === scope;
      }
    },
    configurable: true,
  });
}

// The core repaints a thread's subscribers at the next animation frame, so that a burst of writes is
// one view. Here the next task is the frame — the pages paint at their own: a SharedWorker has no
// frames (the core would fall back on a 16 ms timer, which is most of a tab-to-tab change's time),
// and a dedicated worker's follow its page's, up to 16 ms after a change from the relay arrived. A
// burst still repaints once: the page's writes of one task arrive as one message.
Object.assign(globalThis, {
  requestAnimationFrame: (callback: (time: number) => void) => setTimeout(() => callback(performance.now()), 0),
  cancelAnimationFrame: (handle: number) => clearTimeout(handle),
});

// Messages that arrive while the wasm loads wait for it, in order.
let ready = false;
/** Why the wasm did not load: every call is answered with it (`worker_failed`), so no page waits on. */
let failed: string | undefined;
const waiting: (() => void)[] = [];
init().then(
  () => {
    ready = true;
    for (const run of waiting.splice(0)) run();
  },
  (error: unknown) => {
    failed = error instanceof Error ? error.message : String(error);
    console.error("chatsync: the worker could not load its wasm", error);
    for (const run of waiting.splice(0)) run();
  },
);

function refuse(port: MessageTarget, message: ToWorker): void {
  if (message.t !== "call") return;
  port.postMessage({
    t: "reply", id: message.id, ok: false,
    error: { name: "Error", message: `the store's worker could not load its wasm: ${failed}`, code: "worker_failed" },
  });
}

function serve(port: MessageTarget): void {
  const connection = new Connection(port);
  const handle = (message: ToWorker) => (failed === undefined ? connection.handle(message) : refuse(port, message));
  port.addEventListener("message", (event) => {
    const message = event.data;
    if (ready || failed !== undefined) handle(message);
    else waiting.push(() => handle(message));
  });
  // A port's `close` event (Chromium 122+): its page went away. Where there is none, the tab's Web
  // Lock says so (the `hello` message).
  port.addEventListener("close", () => connection.close());
  port.start?.();
}

const scope = globalThis as unknown as MessageTarget & {
  addEventListener(type: "connect", listener: (event: MessageEvent) => void): void;
};
if (typeof (globalThis as { SharedWorkerGlobalScope?: unknown }).SharedWorkerGlobalScope === "function" &&
  globalThis instanceof (globalThis as unknown as { SharedWorkerGlobalScope: new () => object }).SharedWorkerGlobalScope) {
  scope.addEventListener("connect", (event) => serve(event.ports[0] as unknown as MessageTarget));
} else {
  serve(scope);
}
