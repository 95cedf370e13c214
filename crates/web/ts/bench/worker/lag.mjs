// A lag monitor in the store's worker (installed through DevTools, the worker's code unchanged):
// a 5 ms interval notes every gap over 25 ms, i.e. when the worker's event loop was blocked and
// for how long, on the clock the pages share (timeOrigin + now).
export async function startLag(worker) {
  await worker.send("Runtime.evaluate", {
    expression: `globalThis.__lag = []; { let last = performance.timeOrigin + performance.now();
      setInterval(() => { const now = performance.timeOrigin + performance.now();
        if (now - last > 25) globalThis.__lag.push([last, now - last]); last = now; }, 5); }`,
  });
}

/** The gaps noted so far: [start, ms]. */
export async function lags(worker) {
  const { result } = await worker.send("Runtime.evaluate", { expression: "JSON.stringify(globalThis.__lag)", returnByValue: true });
  return JSON.parse(result.value);
}
