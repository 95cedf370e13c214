// Target 3: change → the other side's subscribe callback, as a ping-pong (worker/page/latency.ts):
// two tabs (two pages of one browser context, one database: one SharedWorker in "shared" mode),
// and two devices (two contexts, two databases, one user, through the relay).
import { call, randomId, targetsPage } from "./browser.mjs";

async function pingPong(label, mode, pinger, echoer, id, samples) {
  for (const kind of ["message", "delta", "stream"]) {
    const options = { id, kind, pingId: randomId(), echoId: randomId(), samples };
    const listening = call(echoer, "echo", options);
    const { rtt, halfRtt } = await call(pinger, "ping", options);
    await listening;
    const oneWay = await call(echoer, "echoStop");
    console.log(JSON.stringify({ part: "latency", between: label, mode, kind, oneWay, halfRtt, rtt }));
  }
}

export async function latency({ browser, base, relayUrl, tabModes, deviceModes, samples }) {
  for (const mode of tabModes) {
    const context = await browser.newContext();
    const [a, b] = [await targetsPage(context, base), await targetsPage(context, base)];
    await call(a, "open", { dbName: "tabs", mode });
    await call(b, "open", { dbName: "tabs", mode });
    const [id] = await call(a, "writeThreads", { count: 1, messages: 0 });
    await call(b, "listed", { id });
    await pingPong("tabs", mode, a, b, id, samples);
    await context.close();
  }
  for (const mode of deviceModes) {
    const user = `latency-${mode}-${Date.now()}`;
    const a = await targetsPage(await browser.newContext(), base);
    const b = await targetsPage(await browser.newContext(), base);
    await call(a, "open", { dbName: "device-a", mode, relayUrl, user });
    await call(b, "open", { dbName: "device-b", mode, relayUrl, user });
    const [id] = await call(a, "writeThreads", { count: 1, messages: 0 });
    await call(b, "listed", { id });
    await pingPong("devices", mode, a, b, id, samples);
    await a.context().close();
    await b.context().close();
  }
}
