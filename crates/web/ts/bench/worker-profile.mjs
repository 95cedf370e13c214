// Why a worker-bench figure is what it is (docs/worker.md): not part of worker-run.mjs, since
// profiling slows what it measures.
//   firstview [pauseMs]: first views of 12 threads of 1,000 messages at a 300 ms switching pace, in a
//     SharedWorker, with a lag monitor in the worker (./worker/lag.mjs): for each switch, the
//     worker's longest block during it and when that block began after the previous switch;
//   stream: a CPU profile of the page's main thread while a reply streams into a 5,000-message
//     thread (worker.html, shared mode): the functions with the most self time.
//   incoming: a CPU profile of the page's main thread (store in a dedicated worker) while another
//     device's burst of 1,000 messages arrives into its open 5,000-message thread (a relay started here).
//   tabs [message|delta]: a CPU profile of the SharedWorker during the tab-to-tab ping-pong of
//     worker-run.mjs latency (two pages of one context, 50 samples): where a change's way from one
//     tab's write to the other tab's subscriber goes, on the worker's side.
//   devices [message|delta] [mode]: the device-to-device ping-pong through a relay started here
//     (stores in the page by default), with a CPU profile of the echoing page (or its dedicated
//     worker; the pinger's store is then in its page) and the relay's mean storage write (its /metrics).
//   node crates/web/ts/bench/worker-profile.mjs [firstview [pauseMs]|stream|incoming|tabs [kind]|devices [kind] [mode]]
import { call, randomId, startBrowser, targetsPage } from "./worker/browser.mjs";
import { attachWorker } from "./worker/worker-cdp.mjs";
import { lags, startLag } from "./worker/lag.mjs";
import { profileWhile } from "./worker/profile.mjs";
import { startRelay } from "./worker/relay.mjs";

const part = process.argv[2] ?? "firstview";
const pauseMs = Number(process.argv[3] ?? 300);
const { browser, base, close } = await startBrowser();
try {
  const context = await browser.newContext();
  if (part === "firstview") {
    const writer = await targetsPage(context, base);
    await call(writer, "open", { dbName: "first-view", mode: "none" });
    const ids = await call(writer, "writeThreads", { count: 12, messages: 1000 });
    await writer.close();
    const page = await targetsPage(context, base);
    await call(page, "open", { dbName: "first-view", mode: "shared" });
    const worker = await attachWorker(browser, "shared_worker");
    await startLag(worker);
    // CPU=1: a CPU profile of the worker over the switches too (the store's Rust functions are
    // named only in a wasm built with its name section).
    const profiled = process.env.CPU === "1"
      ? await profileWhile(worker.send, () => call(page, "firstViews", { ids, pauseMs }), 25)
      : { result: await call(page, "firstViews", { ids, pauseMs }) };
    const { perThreadMs, startedAt } = profiled.result;
    for (const line of [...(profiled.top ?? []), ...(profiled.wasmByCaller ?? []), ...(profiled.rustInclusive ?? [])]) console.log(line);
    const gaps = await lags(worker);
    perThreadMs.forEach((ms, i) => {
      const [start, end] = [startedAt[i], startedAt[i] + ms];
      const during = gaps.filter(([s, d]) => s < end && s + d > start).sort((a, b) => b[1] - a[1])[0];
      const previousEnd = i > 0 ? startedAt[i - 1] + perThreadMs[i - 1] : undefined;
      console.log(JSON.stringify({
        thread: i, firstViewMs: ms,
        workerBlockedMs: during ? Math.round(during[1]) : 0,
        blockBeganAfterPreviousSwitchMs: during && previousEnd !== undefined ? Math.round(during[0] - previousEnd) : undefined,
      }));
    });
    await worker.detach();
  } else if (part === "tabs") {
    const kind = process.argv[3] ?? "message";
    const [a, b] = [await targetsPage(context, base), await targetsPage(context, base)];
    await call(a, "open", { dbName: "tabs", mode: "shared" });
    await call(b, "open", { dbName: "tabs", mode: "shared" });
    const [id] = await call(a, "writeThreads", { count: 1, messages: 0 });
    await call(b, "listed", { id });
    const worker = await attachWorker(browser, "shared_worker");
    const options = { id, kind, pingId: randomId(), echoId: randomId() };
    const { result, top, profiledMs, wasmByCaller } = await profileWhile(worker.send, async () => {
      const listening = call(b, "echo", options);
      const { halfRtt } = await call(a, "ping", { ...options, samples: 50 });
      await listening;
      return { halfRtt, oneWay: await call(b, "echoStop") };
    }, 25);
    console.log(JSON.stringify({ ...result, profiledMs }));
    for (const line of [...top, ...wasmByCaller]) console.log(line);
    await worker.detach();
  } else if (part === "devices") {
    const kind = process.argv[3] ?? "message";
    const mode = process.argv[4] ?? "none";
    const relay = await startRelay();
    try {
      const user = `profile-${Date.now()}`;
      const a = await targetsPage(await browser.newContext(), base);
      const b = await targetsPage(await browser.newContext(), base);
      // The pinger's store is in its page in every mode: the echo's worker is then the one worker.
      await call(a, "open", { dbName: "device-a", mode: mode === "dedicated" ? "none" : mode, relayUrl: relay.url, user });
      await call(b, "open", { dbName: "device-b", mode, relayUrl: relay.url, user });
      const [id] = await call(a, "writeThreads", { count: 1, messages: 0 });
      await call(b, "listed", { id });
      const metrics = async () => {
        const text = await (await fetch(relay.url.replace(/^ws/, "http").replace(/\/sync$/, "/metrics"))).text();
        const read = (name) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m"))?.[1] ?? NaN);
        return { writes: read("chatsync_storage_writes_total"), seconds: read("chatsync_storage_write_seconds_total") };
      };
      const before = await metrics();
      const send = mode === "none"
        ? ((session) => (m, p) => session.send(m, p))(await b.context().newCDPSession(b))
        : (await attachWorker(browser, "worker")).send;
      const options = { id, kind, pingId: randomId(), echoId: randomId() };
      const { result, top, profiledMs, wasmByCaller, rustInclusive } = await profileWhile(send, async () => {
        const listening = call(b, "echo", options);
        const { halfRtt } = await call(a, "ping", { ...options, samples: 50 });
        await listening;
        return { halfRtt, oneWay: await call(b, "echoStop") };
      }, 20);
      const after = await metrics();
      const writes = after.writes - before.writes;
      console.log(JSON.stringify({ ...result, profiledMs, relayStorageWrites: writes, relayMeanWriteMs: Math.round(((after.seconds - before.seconds) / writes) * 1e4) / 10 }));
      for (const line of [...top, ...wasmByCaller, ...rustInclusive]) console.log(line);
    } finally {
      relay.stop();
    }
  } else if (part === "incoming") {
    const relay = await startRelay();
    try {
      const user = `profile-${Date.now()}`;
      const writer = await targetsPage(await browser.newContext(), base);
      await call(writer, "open", { dbName: "writer", mode: "none", relayUrl: relay.url, user });
      const [id] = await call(writer, "writeThreads", { count: 1, messages: 5000 });
      const page = await targetsPage(context, base);
      await call(page, "coldLoad", { dbName: "reader", mode: "dedicated", relayUrl: relay.url, user, id, expected: 5000 });
      const session = await context.newCDPSession(page);
      const { result, top } = await profileWhile((m, p) => session.send(m, p), async () => {
        const measuring = call(page, "incoming", { id, count: 6000 });
        await call(writer, "appendBurst", { id, count: 1000 });
        return measuring;
      }, 15);
      console.log(JSON.stringify(result));
      for (const line of top) console.log(line);
    } finally {
      relay.stop();
    }
  } else {
    const run = async (page, query) => {
      await page.goto(`${base}worker.html?${new URLSearchParams(query)}`);
      return page.waitForFunction(() => window.__bench, null, { timeout: 600_000, polling: 250 }).then((h) => h.jsonValue());
    };
    const { big, small } = await run(await context.newPage(), { phase: "build", messages: 5000 });
    const page = await context.newPage();
    const session = await context.newCDPSession(page);
    const { result, top } = await profileWhile((m, p) => session.send(m, p), () => run(page, { phase: "measure", mode: "shared", big, small }), 15);
    console.log(JSON.stringify(result.stream));
    for (const line of top) console.log(line);
  }
} finally {
  await close();
}
