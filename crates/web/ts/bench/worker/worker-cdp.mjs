// The store's worker as a DevTools target: found among the browser's targets (a SharedWorker is
// no page's, so playwright's page.workers() does not list it), attached without flattening so that
// playwright's browser CDP session can carry its commands (Target.sendMessageToTarget).
export async function attachWorker(browser, type) {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send("Target.getTargets");
  const found = targetInfos.filter((t) => t.type === type && /worker/.test(t.url));
  if (found.length !== 1) throw new Error(`${found.length} targets of type ${type}: ${JSON.stringify(targetInfos.map((t) => [t.type, t.url]))}`);
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: found[0].targetId, flatten: false });
  let next = 1;
  const waiting = new Map();
  cdp.on("Target.receivedMessageFromTarget", (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const waiter = waiting.get(message.id);
    if (!waiter) return;
    waiting.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.message} (${JSON.stringify(message.error)})`));
    else waiter.resolve(message.result);
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  return { send, detach: () => cdp.detach() };
}

/**
 * The worker's memory after a full GC: its V8 heap (Runtime.getHeapUsage) and the byte length of
 * every WebAssembly.Memory in it (found with Runtime.queryObjects: the wasm's linear memory).
 */
export async function workerMemory(worker) {
  await worker.send("HeapProfiler.collectGarbage");
  const heap = await worker.send("Runtime.getHeapUsage");
  const proto = await worker.send("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype" });
  const { objects } = await worker.send("Runtime.queryObjects", { prototypeObjectId: proto.result.objectId });
  const { result } = await worker.send("Runtime.callFunctionOn", {
    objectId: objects.objectId, returnByValue: true,
    functionDeclaration: "function () { return this.map((m) => m.buffer.byteLength); }",
  });
  const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
  return {
    jsHeapUsedMB: mb(heap.usedSize), jsHeapTotalMB: mb(heap.totalSize),
    ...(heap.backingStorageSize === undefined ? {} : { backingStoreMB: mb(heap.backingStorageSize) }),
    wasmMemoriesMB: result.value.map(mb),
  };
}
