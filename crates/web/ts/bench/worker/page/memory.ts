// The 100-open-threads memory measurement's page side: opens every thread and keeps it open, then
// waits until each has the worker's summary (its document read) before the driver measures.
import { delay, thread } from "./session.js";

export async function openAll({ ids }: { ids: string[] }): Promise<number> {
  let messages = 0;
  for (const id of ids) messages += (await thread(id)).view().messages.length;
  await delay(2000);
  return messages;
}
