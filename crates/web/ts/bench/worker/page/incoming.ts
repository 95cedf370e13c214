// An incoming sync: this page has the thread open while another device appends a burst of messages.
// `incoming` is called before the writer starts; it resolves once the view has `count` messages (and
// a second more), with the page's long tasks in that time.
import { longPieces } from "./busy.js";
import { tasksBetween } from "./longtasks.js";
import { delay, thread, viewWhere } from "./session.js";

export async function incoming({ id, count }: { id: string; count: number }) {
  const open = await thread(id);
  const start = performance.now();
  const before = open.view().messages.length;
  let views = 0;
  const stop = open.subscribe(() => (views += 1));
  await viewWhere(open, (view) => view.messages.length >= count, 120_000, `${count} messages`);
  const completeMs = performance.now() - start;
  await delay(1000);
  stop();
  const end = performance.now();
  return {
    before, after: open.view().messages.length, views, completeMs: Math.round(completeMs),
    longTasks: tasksBetween(start, end), mainPiecesOver10ms: longPieces(start, end),
  };
}
