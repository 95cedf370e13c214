// Target 2: the first view of each of `threads` threads of `messages` messages, opened in turn
// after a reload (a fresh page, no worker alive), the last written included, with `pauses` between
// switches (each a run of its own: a quick switcher's, and one that lets the worker finish reading
// each document, ~230 ms+ for 1,000 messages, before the next switch). Prints p50 / p95.
import { call, targetsPage } from "./browser.mjs";

export async function firstView({ browser, base, modes, threads, messages, pauses }) {
  const context = await browser.newContext();
  const writer = await targetsPage(context, base);
  await call(writer, "open", { dbName: "first-view", mode: "none" });
  const started = Date.now();
  const ids = await call(writer, "writeThreads", { count: threads, messages });
  console.log(`first-view corpus: ${threads} × ${messages} messages written in ${Math.round((Date.now() - started) / 1000)} s`);
  await writer.close();
  for (const mode of modes) {
    for (const pauseMs of pauses) {
      const page = await targetsPage(context, base);
      await call(page, "open", { dbName: "first-view", mode });
      const { startedAt: _, ...result } = await call(page, "firstViews", { ids, pauseMs });
      console.log(JSON.stringify({ part: "firstView", mode, threads, messages, pauseMs, ...result }));
      await page.close();
    }
  }
  await context.close();
}
