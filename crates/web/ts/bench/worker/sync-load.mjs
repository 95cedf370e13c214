// Target 1's sync half: a cold load of a `messages`-message thread from the relay (a fresh
// database per mode, in a browser context of its own), then an incoming sync of `burst` messages
// another device (a page with the store in it, in its own context: its work is not this page's)
// appends while the thread is open. Prints each mode's long tasks.
import { call, targetsPage } from "./browser.mjs";

export async function syncLoad({ browser, base, relayUrl, modes, messages, burst }) {
  const user = `bench-${Date.now()}`;
  const writer = await targetsPage(await browser.newContext(), base);
  await call(writer, "open", { dbName: "writer", mode: "none", relayUrl, user });
  const started = Date.now();
  const [id] = await call(writer, "writeThreads", { count: 1, messages });
  console.log(`sync corpus: ${messages} messages written and synced in ${Math.round((Date.now() - started) / 1000)} s`);
  const readers = new Map();
  for (const mode of modes) {
    const context = await browser.newContext();
    const page = await targetsPage(context, base);
    const result = await call(page, "coldLoad", { dbName: `cold-${mode}`, mode, relayUrl, user, id, expected: messages });
    console.log(JSON.stringify({ part: "coldLoad", mode, messages, ...result }));
    await page.close();
    readers.set(mode, context);
  }
  let total = messages;
  for (const mode of modes) {
    const page = await targetsPage(readers.get(mode), base);
    await call(page, "open", { dbName: `cold-${mode}`, mode, relayUrl, user });
    // Caught up with the bursts of the modes before this one, then settled.
    await call(page, "incoming", { id, count: total });
    const measuring = call(page, "incoming", { id, count: total + burst });
    await new Promise((resolve) => setTimeout(resolve, 200));
    total = await call(writer, "appendBurst", { id, count: burst });
    const result = await measuring;
    console.log(JSON.stringify({ part: "incoming", mode, burst, ...result }));
    await readers.get(mode).close();
  }
  await writer.context().close();
}
