// A cold load from the relay: a store with a database that has never seen the thread opens, waits
// for the relay to list it, opens it and waits until its view has every message. The page's long
// tasks are counted from before `ChatStore.open` to a second after the view is complete.
import { longPieces } from "./busy.js";
import { tasksBetween } from "./longtasks.js";
import { delay, listed, open, type OpenOptions, thread, viewWhere } from "./session.js";

export async function coldLoad(options: OpenOptions & { id: string; expected: number }) {
  const start = performance.now();
  await open(options);
  const openMs = performance.now() - start;
  await listed(options);
  const listedMs = performance.now() - start;
  const opened = await thread(options.id);
  const firstViewMs = performance.now() - start;
  const firstViewMessages = opened.view().messages.length;
  await viewWhere(opened, (view) => view.messages.length >= options.expected, 120_000, `${options.expected} messages`);
  const completeMs = performance.now() - start;
  await delay(1000);
  return {
    openMs: Math.round(openMs), listedMs: Math.round(listedMs), firstViewMs: Math.round(firstViewMs), firstViewMessages,
    completeMs: Math.round(completeMs), longTasks: tasksBetween(start, performance.now()), mainPiecesOver10ms: longPieces(start, performance.now()),
  };
}
