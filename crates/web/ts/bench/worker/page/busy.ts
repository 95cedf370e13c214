// The main thread's time spent on the store's behalf, summed where it can be seen from outside the
// package: every `message` listener on a Worker or MessagePort (the client's receive: patching the
// view, view(), the subscribers), every postMessage to one (the structured clone of the queued
// writes), and every requestAnimationFrame callback (the in-page store's flush). Calls into the
// store the bench makes itself (appendDelta) it times around the call. Installed on import, so it
// must load before the store opens its worker.
let busyMs = 0;
let inside = 0;
/** The timed pieces over 10 ms: where a long task on the store's behalf would be. */
const long: { start: number; ms: number }[] = [];

/** Runs `work`, adding its time to the total unless it runs inside another timed piece. */
export function timed<T>(work: () => T): T {
  if (inside > 0) return work();
  inside += 1;
  const start = performance.now();
  try {
    return work();
  } finally {
    const ms = performance.now() - start;
    busyMs += ms;
    if (ms > 10) long.push({ start, ms });
    inside -= 1;
  }
}

/** The timed pieces over 10 ms that began in [from, to]: how many, the longest (ms). */
export function longPieces(from: number, to: number): { count: number; maxMs: number } {
  const pieces = long.filter((p) => p.start >= from && p.start <= to);
  return { count: pieces.length, maxMs: Math.round(Math.max(0, ...pieces.map((p) => p.ms))) };
}

/** The main-thread time counted so far, ms. */
export function busy(): number {
  return busyMs;
}

const isChannel = (target: unknown) =>
  target instanceof MessagePort || (typeof Worker !== "undefined" && target instanceof Worker);

const listen = EventTarget.prototype.addEventListener;
EventTarget.prototype.addEventListener = function (this: EventTarget, type, listener, options) {
  if (type === "message" && typeof listener === "function" && isChannel(this)) {
    const inner = listener;
    listener = function (this: unknown, event: Event) {
      timed(() => inner.call(this, event));
    };
  }
  return listen.call(this, type, listener, options);
} as typeof EventTarget.prototype.addEventListener;

for (const proto of [MessagePort.prototype, Worker.prototype] as { postMessage: (...args: unknown[]) => void }[]) {
  const post = proto.postMessage;
  proto.postMessage = function (this: unknown, ...args: unknown[]) {
    timed(() => post.apply(this, args));
  };
}

const frame = window.requestAnimationFrame;
window.requestAnimationFrame = (callback) => frame.call(window, (time) => timed(() => callback(time)));
