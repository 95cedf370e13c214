// A CPU profile of a DevTools target (a page's session or ./worker-cdp.mjs's worker) while `run`
// runs: the functions with the most self time, to tell which part of the store's code a long
// first view or a busy main thread is spent in. Not run by worker-run.mjs (profiling slows the
// figures); used as in docs/worker.md.
export async function profileWhile(send, run, top = 12) {
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  const result = await run();
  const { profile } = await send("Profiler.stop");
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  // Wasm has no names here: each sample in it is also counted to the wasm-bindgen glue function
  // that called into it (named after the exported method: view, summary, appendMessage, …).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const viaGlue = new Map();
  profile.samples.forEach((id, i) => {
    if (!byId.get(id).callFrame.url.endsWith(".wasm")) return;
    let at = parent.get(id);
    while (at !== undefined && byId.get(at).callFrame.url.endsWith(".wasm")) at = parent.get(at);
    const name = at === undefined ? "(no glue)" : byId.get(at).callFrame.functionName || "(anonymous)";
    viaGlue.set(name, (viaGlue.get(name) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  // Inclusive time of the store's own Rust functions (a wasm built with its name section, e.g.
  // wasm-bindgen run by hand without wasm-opt): each sample counted once per function on its stack.
  const inclusive = new Map();
  profile.samples.forEach((id, i) => {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at).callFrame.functionName.replace(/::h[0-9a-f]{16}$/, "");
      if (/chatsync_|automerge::(sync|autocommit)/.test(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + (dt[i] ?? 0) / 1000);
      }
    }
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const busy = [...self.entries()].filter(([k]) => !k.startsWith("(idle)") && !k.startsWith("(program)"));
  return {
    result,
    profiledMs: Math.round(total),
    top: busy.sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => `${ms.toFixed(1)} ms ${k}`),
    rustInclusive: [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.INCL ?? 30)).map(([k, ms]) => `${ms.toFixed(1)} ms incl. ${k}`),
    wasmByCaller: [...viaGlue.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => `${ms.toFixed(1)} ms in wasm under ${k}`),
  };
}
