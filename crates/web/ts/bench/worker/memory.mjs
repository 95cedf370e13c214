// Target 5: the worker's memory with `threads` threads of `messages` messages open (the store just
// opened, then every thread open and read), per worker mode, from DevTools (./worker-cdp.mjs).
import { call, targetsPage } from "./browser.mjs";
import { attachWorker, workerMemory } from "./worker-cdp.mjs";

export async function memory({ browser, base, modes, threads, messages }) {
  const context = await browser.newContext();
  const writer = await targetsPage(context, base);
  await call(writer, "open", { dbName: "memory", mode: "none" });
  const started = Date.now();
  const ids = await call(writer, "writeThreads", { count: threads, messages });
  console.log(`memory corpus: ${threads} × ${messages} messages written in ${Math.round((Date.now() - started) / 1000)} s`);
  await writer.close();
  for (const mode of modes) {
    const page = await targetsPage(context, base);
    await call(page, "open", { dbName: "memory", mode });
    const worker = await attachWorker(browser, mode === "shared" ? "shared_worker" : "worker");
    const opened = await workerMemory(worker);
    const open = await call(page, "openAll", { ids });
    const withThreads = await workerMemory(worker);
    console.log(JSON.stringify({ part: "memory", mode, threads, messagesOpen: open, storeOpen: opened, withThreads }));
    await worker.detach();
    await page.close();
  }
  await context.close();
}
