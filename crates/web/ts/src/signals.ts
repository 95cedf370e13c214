// Abort signals on the store's calls (./abort.ts): what rejects a call once its signal aborts. No
// side effects, so the worker proxy (./worker/store.ts) imports it without pulling abort.ts's patches
// of the store class ahead of the others' into a shared chunk of a bundler's.
import { ChatsyncError } from "./errors.js";

/** The error an aborted call rejects with. */
export function abortError(signal: AbortSignal, what: string): ChatsyncError {
  const error = new ChatsyncError("aborted", `${what} was aborted`, { cause: signal.reason });
  error.name = "AbortError";
  return error;
}

/** The `signal` of a call's options (checked), if it has one. */
export function signalOf(options: unknown): AbortSignal | undefined {
  const signal = (options as { signal?: unknown } | undefined)?.signal;
  if (signal === undefined || signal === null) return undefined;
  // By its shape, so a signal of another realm (an iframe's) or a polyfill's works too.
  const like = signal as Partial<AbortSignal>;
  if (typeof like.aborted !== "boolean" || typeof like.addEventListener !== "function") {
    throw new ChatsyncError("invalid_input", "`signal` must be an AbortSignal");
  }
  return signal as AbortSignal;
}

/**
 * `start()`'s promise, or a rejection with `aborted` as soon as `signal` aborts; what `start` gives
 * after that is handed to `discard`.
 */
export function abortable<T>(signal: AbortSignal | undefined, what: string, start: () => Promise<T>, discard: (value: T) => void): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  const work = start();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortError(signal, what));
      work.then(discard, () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
