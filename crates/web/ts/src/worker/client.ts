// The page's side of the connection to the store's worker: requests and their answers, the batch
// of synchronous writes (sent once per task, consecutive deltas of one message joined into one),
// and the worker's pushes routed to the stores and threads they are for.
import type { ChatStore as CoreStore, Message } from "../web/chatsync.js";
import type { FromWorker, OpBatch, StoreMirror, ThreadOp, ToWorker, WireError } from "./protocol.js";

/** How the store runs: in a SharedWorker, a dedicated Worker, or in this page (`"none"`). */
export type WorkerMode = "shared" | "dedicated" | "none";

/** What a connection hands its pushes to (implemented by store.ts). */
export interface StoreSink {
  event(event: Parameters<Parameters<CoreStore["subscribe"]>[0]>[0]): void;
  mirror(mirror: StoreMirror): void;
  opError(error: Error, threadId?: string): void;
  token(): Promise<string>;
}
export interface ThreadSink {
  patch(message: Extract<FromWorker, { t: "view" }>): void;
}

/** An `Error` with the worker's error's code, message and name, as the core throws them. */
export function fromWire(error: WireError): Error {
  const rebuilt = new Error(error.message) as Error & { code?: string };
  rebuilt.name = error.name;
  if (error.code !== undefined) rebuilt.code = error.code;
  return rebuilt;
}

interface Channel {
  postMessage(message: ToWorker): void;
  addEventListener(type: "message", listener: (event: MessageEvent<FromWorker>) => void): void;
  start?(): void;
}

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly stores = new Map<number, StoreSink>();
  /** Weakly: a thread the app dropped is collected (and then closed in the worker, see store.ts). */
  readonly threads = new Map<number, WeakRef<ThreadSink>>();
  /** Each open thread's id, by its number (for the errors of writes that could not be sent). */
  readonly threadIds = new Map<number, string>();
  private queue = new Map<number, OpBatch>();
  private armed = false;
  /** The first messages of views `openThread` is receiving, by request. */
  private readonly chunks = new Map<number, Message[][]>();
  /** How many `ops` messages were sent: the one being gathered is `sent + 1`. */
  private sent = 0;

  /** Why the worker could not start (its script or its wasm did not load): every call fails so. */
  private failure: Error | undefined;
  /** Whether the worker has answered anything yet (an `error` event before that means it never started). */
  private heard = false;

  constructor(private readonly channel: Channel, readonly mode: Exclude<WorkerMode, "none">) {
    channel.addEventListener("message", (event) => {
      this.heard = true;
      this.receive(event.data);
    });
    channel.start?.();
    // The worker learns this page is gone when its port closes; where ports have no `close` event,
    // from this lock, which the browser frees when the page goes.
    // The worker hears of the lock once it is held: asked for earlier, it could be granted to the
    // worker first, which would take this page for gone.
    const locks = globalThis.navigator?.locks;
    if (locks) {
      const tab = `chatsync:tab:${randomId()}`;
      locks.request(tab, () => {
        channel.postMessage({ t: "hello", tab });
        return new Promise<never>(() => {});
      }).catch(() => {});
    }
  }

  /** A new number for a store or thread of this page. */
  newId(): number {
    return this.nextId++;
  }

  /**
   * The worker's script did not load (a 404, a Content-Security-Policy without `worker-src`) or
   * threw before it answered: every call waiting and to come rejects with `worker_failed`.
   */
  fail(cause: string, stop?: () => void): void {
    if (this.heard || this.failure) return;
    // A worker that threw while it opened may still be running: it must not open the database the
    // store in the page is about to open.
    stop?.();
    const error = new Error(`the store's worker could not start: ${cause}`) as Error & { code: string };
    error.code = "worker_failed";
    this.failure = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    clients.delete(this.mode);
  }

  /** Calls a method in the worker; the writes batched before it go first. */
  call<T>(store: number, method: string, args: unknown[], thread?: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      try {
        this.channel.postMessage({ t: "call", id, store, method, args, ...(thread === undefined ? {} : { thread }) });
      } catch (error) {
        // An argument that cannot cross (a function, a DOM node): refused as the core refuses input.
        return reject(uncloneable(method, error));
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Queues a thread's synchronous write. */
  op(store: number, op: ThreadOp): void {
    const batch = this.batch(store);
    const last = batch.ops.at(-1);
    // Consecutive deltas into one message (and part) travel as one: O(delta) whatever the rate.
    if (op.method === "appendDelta" && last?.method === "appendDelta" && last.thread === op.thread &&
      last.args[0] === op.args[0] && samePart(last.args[2], op.args[2])) {
      last.args[1] = String(last.args[1]) + String(op.args[1]);
    } else {
      batch.ops.push(op);
    }
    this.arm();
  }

  /** Queues a store's synchronous write (setOnline, setToken). */
  storeOp(store: number, method: string, args: unknown[]): void {
    this.batch(store).storeOps.push({ method, args });
    this.arm();
  }

  /** The number of the `ops` message a write queued now goes in (see `acked` in a view). */
  nextBatch(): number {
    return this.sent + 1;
  }

  private batch(store: number): OpBatch {
    let batch = this.queue.get(store);
    if (!batch) this.queue.set(store, (batch = { store, ops: [], storeOps: [] }));
    return batch;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends the queued writes now. */
  flush(): void {
    this.armed = false;
    if (this.queue.size === 0) return;
    const batches = [...this.queue.values()];
    this.queue = new Map();
    this.sent += 1;
    try {
      this.channel.postMessage({ t: "ops", batches });
    } catch {
      // Some write has an argument that cannot cross: the others go (in one message, so the count
      // of `ops` messages stays right), that one is the store's `error` event.
      const sendable = batches.map((batch) => {
        const ok = (entry: unknown, method: string, thread?: number) => {
          try {
            structuredClone(entry);
            return true;
          } catch (error) {
            const threadId = thread === undefined ? undefined : this.threadIds.get(thread);
            this.stores.get(batch.store)?.opError(uncloneable(method, error), threadId);
            return false;
          }
        };
        return {
          store: batch.store,
          ops: batch.ops.filter((op) => ok(op, op.method, op.thread)),
          storeOps: batch.storeOps.filter((op) => ok(op, op.method)),
        };
      });
      this.channel.postMessage({ t: "ops", batches: sendable });
    }
  }

  private receive(message: FromWorker): void {
    switch (message.t) {
      case "reply": {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!waiter) return;
        if (message.ok) waiter.resolve(message.value);
        else waiter.reject(fromWire(message.error));
        return;
      }
      case "chunk": {
        let chunks = this.chunks.get(message.id);
        if (!chunks) this.chunks.set(message.id, (chunks = []));
        chunks.push(message.messages);
        return;
      }
      case "opened": {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        const chunks = this.chunks.get(message.id);
        this.chunks.delete(message.id);
        const view = chunks ? { ...message.view, messages: [...chunks.flat(), ...message.view.messages] } : message.view;
        waiter?.resolve({ view, summary: message.summary, full: message.full });
        return;
      }
      case "event":
        this.stores.get(message.store)?.event(message.event);
        return;
      case "mirror":
        this.stores.get(message.store)?.mirror(message.mirror);
        return;
      case "opError":
        this.stores.get(message.store)?.opError(fromWire(message.error), message.threadId);
        return;
      case "view":
        this.threads.get(message.thread)?.deref()?.patch(message);
        return;
      case "token": {
        const store = this.stores.get(message.store);
        const answer = store ? store.token() : Promise.reject(new Error("the store is closed"));
        answer.then(
          (value) => this.channel.postMessage({ t: "token", id: message.id, ok: true, value }),
          (error: unknown) => this.channel.postMessage({
            t: "token", id: message.id, ok: false,
            error: { name: "Error", message: error instanceof Error ? error.message : String(error), code: "token" },
          }),
        );
        return;
      }
    }
  }
}

function uncloneable(method: string, error: unknown): Error {
  const rebuilt = new Error(`${method}: an argument cannot be sent to the store's worker (${error instanceof Error ? error.message : String(error)})`) as Error & { code: string };
  rebuilt.code = "invalid_input";
  return rebuilt;
}

function samePart(a: unknown, b: unknown): boolean {
  const part = (o: unknown) => (o && typeof o === "object" ? (o as { part?: unknown }).part : undefined);
  return part(a) === part(b);
}

/** A fresh id as the core makes them: 16 random bytes in hex. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

// One connection per page and mode: every store of the page shares it.
const clients = new Map<string, WorkerClient>();

/**
 * The page's connection to the store's worker, started on first use. `"shared"` falls back on a
 * dedicated worker where the browser has no SharedWorker (Chrome on Android).
 */
export function connect(mode: Exclude<WorkerMode, "none">): WorkerClient {
  const actual = mode === "shared" && typeof SharedWorker === "undefined" ? "dedicated" : mode;
  let client = clients.get(actual);
  if (!client) {
    // Written out in full, twice, so that bundlers (Vite) see the pattern and ship the script.
    // `extendedLifetime`: the browser keeps the worker a little after the last tab closes, so
    // what was written just before is still stored (Chromium; others ignore the option).
    let worker: Worker | SharedWorker;
    try {
      worker = actual === "shared"
        ? new SharedWorker(new URL("./worker.js", import.meta.url), { type: "module", name: "chatsync", extendedLifetime: true } as WorkerOptions)
        : new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "chatsync" });
    } catch (error) {
      throw Object.assign(new Error(`the store's worker could not start: ${error instanceof Error ? error.message : String(error)}`), { code: "worker_failed" });
    }
    const started = new WorkerClient(worker instanceof Worker ? worker : worker.port, actual);
    worker.addEventListener("error", (event) => {
      const stop = () => (worker instanceof Worker ? worker.terminate() : worker.port.close());
      started.fail(event instanceof ErrorEvent && event.message ? event.message : "its script did not load", stop);
    });
    client = started;
    clients.set(actual, client);
  }
  return client;
}
