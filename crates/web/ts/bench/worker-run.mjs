// The worker benchmark (issue 17), in Debian's headless chromium with the built package, the store
// in the page ("none"), in a SharedWorker and in a dedicated worker. Each part prints one JSON line
// per mode (docs/worker.md says what each figure is). A measurement, not a test: nothing fails on
// a slow machine.
//   switch:    a 5,000-message thread switched to after a reload, then a reply streamed into it
//              (a delta every 20 ms): long tasks, the first view, busy time per delta;
//   sync:      a cold load of a 5,000-message thread from a relay, then an incoming burst of 1,000;
//   firstview: first view of 12 threads of 1,000 messages each after a reload, p50 / p95;
//   latency:   change → subscribe callback between two tabs and between two devices (a relay);
//   memory:    the worker's JS heap and wasm memory with 100 threads open.
// The relay (for sync and latency) is started here: CHATSYNC_RELAY_BIN, default target/debug/chatsync-relay.
//   (build and install the package as for run.mjs)
//   node crates/web/ts/bench/worker-run.mjs [parts, comma-separated; default all] [messages, default 5000]
import { startBrowser } from "./worker/browser.mjs";
import { startRelay } from "./worker/relay.mjs";
import { switchStream } from "./worker/switch-stream.mjs";
import { syncLoad } from "./worker/sync-load.mjs";
import { firstView } from "./worker/first-view.mjs";
import { latency } from "./worker/latency.mjs";
import { memory } from "./worker/memory.mjs";

const [parts = "switch,sync,firstview,latency,memory", messagesArg = "5000"] = process.argv.slice(2);
const messages = Number(messagesArg);
const want = new Set(parts.split(","));
const { browser, base, close } = await startBrowser();
const relay = want.has("sync") || want.has("latency") ? await startRelay() : undefined;
const timed = async (name, run) => {
  if (!want.has(name)) return;
  const started = Date.now();
  await run();
  console.log(`(${name}: ${Math.round((Date.now() - started) / 1000)} s)`);
};
try {
  await timed("switch", () => switchStream({ browser, base, modes: ["none", "shared", "dedicated"], messages }));
  await timed("sync", () => syncLoad({ browser, base, relayUrl: relay.url, modes: ["none", "shared", "dedicated"], messages, burst: 1000 }));
  await timed("firstview", () => firstView({ browser, base, modes: ["none", "shared", "dedicated"], threads: 12, messages: 1000, pauses: [300, 1000] }));
  await timed("latency", () => latency({
    browser, base, relayUrl: relay.url, tabModes: ["shared", "none"], deviceModes: ["shared", "dedicated", "none"], samples: 50,
  }));
  await timed("memory", () => memory({ browser, base, modes: ["shared", "dedicated"], threads: 100, messages: 50 }));
} finally {
  await close();
  relay?.stop();
}
