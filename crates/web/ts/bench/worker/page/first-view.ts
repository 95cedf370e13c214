// First views after a reload: each thread opened in turn (the order they were written, the last
// included), timed from openThread to its promise resolving with the first view (as worker.bench.ts
// times the switch), then closed; a pause between switches, as a person's.
import { percentiles, current, delay } from "./session.js";

export async function firstViews({ ids, pauseMs }: { ids: string[]; pauseMs: number }) {
  const store = current();
  const times: number[] = [];
  const counts: number[] = [];
  for (const id of ids) {
    await delay(pauseMs);
    const start = performance.now();
    const open = await store.openThread(id);
    times.push(performance.now() - start);
    counts.push(open.view().messages.length);
    open.close();
  }
  return { ...percentiles(times), perThreadMs: times.map((t) => Math.round(t * 10) / 10), counts: [...new Set(counts)] };
}
