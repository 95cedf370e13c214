// Writing the benchmark's threads: `messages` messages of ~30 words each, alternating user and
// assistant, as worker.bench.ts writes its 5,000-message thread.
import type { Thread } from "chatsync/bundler";
import { current, thread } from "./session.js";

const words = "the quick brown fox jumps over the lazy dog while an agent reads a long transcript".split(" ");

export function appendMessages(open: Thread, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) {
    const text = Array.from({ length: 30 }, (_, k) => words[(i + k) % words.length]).join(" ");
    open.appendMessage({ role: i % 2 ? "assistant" : "user", content: `${i}: ${text}` });
  }
}

/** Creates `count` threads of `messages` messages; with a relay, resolves once it has them. */
export async function writeThreads({ count, messages }: { count: number; messages: number }): Promise<string[]> {
  const store = current();
  const ids: string[] = [];
  for (let t = 0; t < count; t++) {
    const { id } = await store.createThread({ title: `Thread ${t}` });
    appendMessages(await thread(id), messages);
    ids.push(id);
    await store.flush();
  }
  if (store.status().state !== "local") await store.sync();
  return ids;
}

/** Appends `count` messages to an open thread at once (a burst of changes), then syncs. */
export async function appendBurst({ id, count }: { id: string; count: number }): Promise<number> {
  const open = await thread(id);
  appendMessages(open, count, open.view().messages.length);
  await current().flush();
  if (current().status().state !== "local") await current().sync();
  return open.view().messages.length;
}
