// The targets page of the worker benchmark (worker/*.mjs drive it with page.evaluate): each
// measurement a function on `window.bench`. ./busy.js and ./longtasks.js load first, so they see
// everything the store does.
import "./busy.js";
import "./longtasks.js";
import { listed, open } from "./session.js";
import { appendBurst, writeThreads } from "./corpus.js";
import { coldLoad } from "./cold-load.js";
import { incoming } from "./incoming.js";
import { firstViews } from "./first-view.js";
import { echo, echoStop, ping } from "./latency.js";
import { openAll } from "./memory.js";

(window as unknown as { bench: unknown }).bench = {
  open: async (options: Parameters<typeof open>[0]) => void (await open(options)),
  listed, writeThreads, appendBurst, coldLoad, incoming, firstViews, echo, echoStop, ping, openAll,
};
