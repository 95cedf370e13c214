// A small test runner for the page: tests run one after another, each with a deadline; the results
// land in window.__results for run.mjs to read (and in the console for a person).
export type Test = () => Promise<void> | void;
const tests: { name: string; fn: Test }[] = [];

export function test(name: string, fn: Test): void {
  tests.push({ name, fn });
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: got ${a}, wanted ${e}`);
}

/** Resolves once `check` passes, retrying every 10 ms; fails with its last error after `ms`. */
export async function eventually(check: () => void | Promise<void>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** The relay run.mjs started for this page (ws://…/sync). */
export function relayUrl(): string {
  const url = new URLSearchParams(location.search).get("relay");
  if (!url) throw new Error("no ?relay= in the page's URL: run the tests with run.mjs");
  return url;
}

/**
 * Not API: what a store's insides say (the package's src/internal.ts) — asked of the page for a
 * store in the page, of its worker for a store in a worker.
 */
export function internal<T = unknown>(store: object, request: "searchStats" | "resources" | "modules" | "countOpens" | "opens" | "workerThreads" | "warmUps"): Promise<T> {
  const method = (store as Record<symbol, ((request: string) => Promise<T>) | undefined>)[Symbol.for("chatsync.internal")];
  if (typeof method !== "function") throw new Error("this store answers no internal requests");
  return method.call(store, request);
}

/** A second tab: an iframe of this page running ./worker-tab.ts; resolves with what it posts. */
export function openTab(params: Record<string, string>): { frame: HTMLIFrameElement; message: (type: string) => Promise<Record<string, unknown>> } {
  const frame = document.createElement("iframe");
  const received: Record<string, unknown>[] = [];
  const onMessage = (event: MessageEvent) => {
    if (event.source === frame.contentWindow) received.push(event.data as Record<string, unknown>);
  };
  window.addEventListener("message", onMessage);
  frame.src = `${location.pathname}?${new URLSearchParams({ role: "tab", ...params })}`;
  document.body.append(frame);
  return {
    frame,
    message: async (type) => {
      let found: Record<string, unknown> | undefined;
      await eventually(() => {
        found = received.find((m) => m.type === type || m.type === "failed");
        assert(found, `the tab posted no ${type} (only ${JSON.stringify(received.map((m) => m.type))})`);
      }, 15_000);
      if (found!.type === "failed") throw new Error(`the tab failed: ${String(found!.error)}`);
      return found!;
    },
  };
}

let dbCount = 0;
/** A database name of its own for each test. */
export function freshDb(): string {
  return `adapter-test-${Date.now()}-${++dbCount}`;
}

export async function run(filter: string | null): Promise<void> {
  const results: { name: string; ok: boolean; error?: string; ms: number }[] = [];
  for (const { name, fn } of tests) {
    if (filter && !name.includes(filter)) continue;
    const started = performance.now();
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 20 s")), 20_000)),
      ]);
      results.push({ name, ok: true, ms: Math.round(performance.now() - started) });
    } catch (error) {
      const text = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
      results.push({ name, ok: false, error: text, ms: Math.round(performance.now() - started) });
    }
    console.log(`${results.at(-1)!.ok ? "ok" : "FAILED"} ${name}`);
  }
  (window as unknown as { __results: unknown }).__results = results;
}
