// Change → the other side's `subscribe` callback, measured as a ping-pong between two stores (two
// tabs on one SharedWorker, or two devices through the relay): the pinger writes ping i, the echo's
// subscriber sees it and answers pong i, the pinger's subscriber sees that. One-way ≈ RTT / 2 needs
// no shared clock; each ping also carries its send time (timeOrigin + now), so the echo reports a
// one-way figure too (the two pages' clocks agree to well under a millisecond in one browser).
// `kind`: "message" (appendMessage each way) or "delta" (appendDelta into one streaming message
// of each side, `pingId` and `echoId`); or "stream": no ping-pong, the pinger streams a delta every
// 20 ms (as a model's reply arrives) and the echo reports each delta's one-way time — within a
// stream deltas wait for the next commit (`COMMIT_EVERY_MS`), which a ping-pong's pauses hide.
import type { Thread, ThreadView } from "chatsync/bundler";
import { delay, percentiles, thread, viewWhere } from "./session.js";

export interface LatencyOptions {
  id: string;
  kind: "message" | "delta" | "stream";
  pingId: string;
  echoId: string;
}

const clock = () => performance.timeOrigin + performance.now();
const byId = (view: ThreadView, id: string) => view.messages.findLast((m) => m.id === id);

/** The pinger's stream message, then the echo's after it (so neither is the other's sibling). */
async function streams(open: Thread, { pingId, echoId }: LatencyOptions, role: "ping" | "echo") {
  if (role === "ping") open.appendMessage({ id: pingId, role: "assistant" });
  else {
    await viewWhere(open, (view) => byId(view, pingId) !== undefined, 30_000, "the pinger's message");
    open.appendMessage({ id: echoId, role: "assistant" });
  }
  await viewWhere(open, (view) => byId(view, role === "ping" ? echoId : pingId) !== undefined, 30_000, "the other stream");
}

let stopEcho: (() => number[]) | undefined;

/** Answers pings until `stopEcho`; resolves once listening. */
export async function echo(options: LatencyOptions & { samples: number }): Promise<void> {
  const open = await thread(options.id);
  if (options.kind !== "message") await streams(open, options, "echo");
  if (options.kind === "stream") return echoStream(open, options);
  const oneWay: number[] = [];
  let next = 0;
  const seen = (view: ThreadView): number | undefined => {
    const text = options.kind === "message" ? view.messages.at(-1)?.content : byId(view, options.pingId)?.content;
    const found = text?.match(new RegExp(`ping ${next}@([0-9.]+)$`));
    return found ? Number(found[1]) : undefined;
  };
  const unsubscribe = open.subscribe((view) => {
    const sent = seen(view);
    if (sent === undefined) return;
    oneWay.push(clock() - sent);
    if (options.kind === "message") open.appendMessage({ role: "assistant", content: `pong ${next}` });
    else open.appendDelta(options.echoId, ` pong ${next}`);
    next += 1;
  });
  stopEcho = () => {
    unsubscribe();
    return oneWay;
  };
}

/** Records every streamed delta's one-way time; says "done" (a delta of its own) after the last. */
function echoStream(open: Thread, options: LatencyOptions & { samples: number }) {
  const oneWay: number[] = [];
  // Where the text not yet read begins: each view is read from there on.
  let read = 0;
  const unsubscribe = open.subscribe((view) => {
    const text = byId(view, options.pingId)?.content ?? "";
    const now = clock();
    const from = read;
    for (const found of text.slice(from).matchAll(/ping ([0-9]+)@([0-9.]+)/g)) {
      if (Number(found[1]) !== oneWay.length) continue;
      oneWay.push(now - Number(found[2]));
      read = from + found.index + found[0].length;
      if (oneWay.length === options.samples) open.appendDelta(options.echoId, " done");
    }
  });
  stopEcho = () => {
    unsubscribe();
    return oneWay;
  };
}

export function echoStop() {
  const oneWay = stopEcho?.() ?? [];
  return percentiles(oneWay);
}

/** Sends `samples` pings, each once the last pong came back (and a 20–40 ms pause). */
export async function ping(options: LatencyOptions & { samples: number }) {
  const open = await thread(options.id);
  if (options.kind !== "message") await streams(open, options, "ping");
  if (options.kind === "stream") return pingStream(open, options);
  const rtt: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    await delay(20 + Math.random() * 20);
    const back = viewWhere(open, (view) => {
      const text = options.kind === "message" ? view.messages.at(-1)?.content : byId(view, options.echoId)?.content;
      return text?.endsWith(`pong ${i}`) === true;
    }, 30_000, `pong ${i}`);
    const start = performance.now();
    const text = `ping ${i}@${clock()}`;
    if (options.kind === "message") open.appendMessage({ role: "user", content: text });
    else open.appendDelta(options.pingId, ` ${text}`);
    await back;
    rtt.push(performance.now() - start);
  }
  return { rtt: percentiles(rtt), halfRtt: percentiles(rtt.map((t) => t / 2)) };
}

/** Streams `samples` deltas, one every 20 ms, then waits for the echo to have seen them all. */
async function pingStream(open: Thread, options: LatencyOptions & { samples: number }) {
  const done = viewWhere(open, (view) => byId(view, options.echoId)?.content?.endsWith("done") === true, 30_000, "the echo's done");
  for (let i = 0; i < options.samples; i++) {
    open.appendDelta(options.pingId, ` ping ${i}@${clock()}`);
    await delay(20);
  }
  await done;
  return {};
}
