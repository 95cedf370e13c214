// The page's store for the targets benchmark, opened once per page (the driver calls `open`), and
// the helpers every measurement shares: its open threads by id, waiting on a thread's view.
import { ChatStore, type Thread, type ThreadView, type WorkerMode } from "chatsync/bundler";

export interface OpenOptions {
  dbName: string;
  mode: WorkerMode;
  /** With a relay: its URL and the user (dev auth: the token is the user's id). */
  relayUrl?: string;
  user?: string;
}

let store: ChatStore | undefined;
const threads = new Map<string, Thread>();

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens this page's store; with a relay, resolves once it is online. */
export async function open({ dbName, mode, relayUrl, user }: OpenOptions): Promise<ChatStore> {
  store = await ChatStore.open({ dbName, persist: false, worker: mode, ...(relayUrl ? { relayUrl, token: user } : {}) });
  if (relayUrl) await until(() => store!.status().state === "online", 30_000, "online");
  return store;
}

export function current(): ChatStore {
  if (!store) throw new Error("open the store first");
  return store;
}

/** The thread, opened once and kept open. */
export async function thread(id: string): Promise<Thread> {
  let open = threads.get(id);
  if (!open) threads.set(id, (open = await current().openThread(id)));
  return open;
}

/** Polls `ok` every 20 ms until it holds, for at most `ms`. */
export async function until(ok: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Resolves with the first view (the current one included) `ok` accepts. */
export function viewWhere(open: Thread, ok: (view: ThreadView) => boolean, ms: number, what: string): Promise<ThreadView> {
  return new Promise((resolve, reject) => {
    if (ok(open.view())) return resolve(open.view());
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what} (the view has ${open.view().messages.length} messages)`));
    }, ms);
    const stop = open.subscribe((view) => {
      if (!ok(view)) return;
      clearTimeout(timer);
      stop();
      resolve(view);
    });
  });
}

/** The p50, p95 and max of samples (ms, one decimal). */
export function percentiles(samples: number[]) {
  const sorted = samples.slice().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN) };
}

/** Resolves once the store's thread list has the thread (synced from the relay). */
export async function listed({ id }: { id: string }): Promise<void> {
  await until(async () => (await current().listThreads()).some((t) => t.id === id), 60_000, "the thread in the list");
}
