// Target 1's first half (worker.html, ../worker.bench.ts): a `messages`-message thread switched to
// after a reload, then a reply streamed into it (a delta every 20 ms), per mode in a fresh page.
// Prints each mode's long tasks, the first view's time and the main thread's busy time per delta.
export async function switchStream({ browser, base, modes, messages }) {
  const run = async (page, query) => {
    await page.goto(`${base}worker.html?${new URLSearchParams(query)}`);
    // Polled on a timer, not every frame: ./page/busy.ts counts animation-frame callbacks.
    const result = await page.waitForFunction(() => window.__bench, null, { timeout: 600_000, polling: 250 }).then((h) => h.jsonValue());
    if (result.error) throw new Error(result.error);
    return result;
  };
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
  const started = Date.now();
  const { big, small } = await run(page, { phase: "build", messages });
  console.log(`corpus: ${messages} messages written in ${Math.round((Date.now() - started) / 1000)} s`);
  for (const mode of modes) {
    // A fresh page each time: the thread is not in memory (a reload), nor is a previous worker's.
    const fresh = await context.newPage();
    fresh.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
    const result = await run(fresh, { phase: "measure", mode, big, small });
    console.log(JSON.stringify(result));
    await fresh.close();
  }
  await context.close();
}
