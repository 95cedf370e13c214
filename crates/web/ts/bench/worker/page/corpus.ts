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

/**
 * With a relay, waits until it acknowledged everything: sync() again when it times out (the relay
 * is a debug build on a loaded machine; a 5,000-message document can take it more than sync's 15 s).
 */
async function synced(): Promise<void> {
  const store = current();
  if (store.status().state === "local") return;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.sync();
      return;
    } catch (error) {
      if (attempt === 6) throw error;
      console.warn(`sync attempt ${attempt}: ${error instanceof Error ? error.message : String(error)}`);
    }
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
  await synced();
  return ids;
}

/** Appends `count` messages to an open thread at once (a burst of changes), then syncs. */
export async function appendBurst({ id, count }: { id: string; count: number }): Promise<number> {
  const open = await thread(id);
  appendMessages(open, count, open.view().messages.length);
  await current().flush();
  await synced();
  return open.view().messages.length;
}
