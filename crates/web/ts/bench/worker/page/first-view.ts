// First views after a reload: each thread opened in turn (the order they were written, the last
// included), timed from openThread to its promise resolving with the first view (as worker.bench.ts
// times the switch), then closed; a pause between switches, as a person's. `mainMs`: of that, the
// main thread's time on the store's behalf (./busy.ts: receiving the view's chunks), the rest is
// the worker's and the messages' way there.
import { busy } from "./busy.js";
import { percentiles, current, delay } from "./session.js";

export async function firstViews({ ids, pauseMs }: { ids: string[]; pauseMs: number }) {
  const store = current();
  const times: number[] = [];
  const counts: number[] = [];
  const main: number[] = [];
  // When each switch started, on the clock a worker shares (for ../worker-profile.mjs).
  const startedAt: number[] = [];
  for (const id of ids) {
    await delay(pauseMs);
    const start = performance.now();
    startedAt.push(performance.timeOrigin + start);
    const busyBefore = busy();
    const open = await store.openThread(id);
    times.push(performance.now() - start);
    main.push(busy() - busyBefore);
    counts.push(open.view().messages.length);
    open.close();
  }
  return { ...percentiles(times), mainMs: percentiles(main), perThreadMs: times.map((t) => Math.round(t * 10) / 10), counts: [...new Set(counts)], startedAt };
}
