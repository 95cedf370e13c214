// `thread.updateMessageMetadata(id, metadata, { merge: true })`: the core replaces a message's
// metadata (the model keeps JSON as text and never parses it), so merging is done here, in JS, as the
// AI SDK's `mergeObjects` merges `useChat`'s message metadata: objects key by key at every depth,
// anything else (arrays, scalars, null) replaces; an `undefined` value leaves the key as it was.
import { Thread } from "./web/chatsync.js";
import type { JsonValue } from "./web/chatsync.js";

type JsonObject = { [key: string]: JsonValue };

declare module "./web/chatsync.js" {
  interface Thread {
    /**
     * Replaces a message's metadata (an object; `null` removes it), whatever its status; with
     * `{ merge: true }`, merges `metadata` into what the message has (objects key by key at every
     * depth, as the AI SDK's `mergeObjects`; `null` then removes it too).
     */
    updateMessageMetadata(messageId: string, metadata: JsonObject | null, options?: { merge?: boolean }): void;
  }
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `overrides` merged into `base`, as the AI SDK's `mergeObjects`. */
export function mergeObjects(base: JsonObject, overrides: JsonObject): JsonObject {
  const result: JsonObject = { ...base };
  for (const key of Object.keys(overrides)) {
    const value = overrides[key];
    if (value === undefined) continue;
    const previous = Object.hasOwn(base, key) ? base[key] : undefined;
    result[key] = isPlainObject(value) && isPlainObject(previous) ? mergeObjects(previous, value) : value;
  }
  return result;
}

const coreUpdate = Thread.prototype.updateMessageMetadata;

Thread.prototype.updateMessageMetadata = function updateMessageMetadata(
  this: Thread,
  messageId: string,
  metadata: JsonObject | null,
  options?: { merge?: boolean },
) {
  if (options?.merge && isPlainObject(metadata)) {
    // The message wherever it is: on the active branch, else on another one.
    const find = (messages: { id: string; metadata?: JsonObject }[]) => messages.find((m) => m.id === messageId);
    const message = find(this.view().messages) ?? find(this.fullView().messages);
    if (message?.metadata) metadata = mergeObjects(message.metadata, metadata);
  }
  return coreUpdate.call(this, messageId, metadata);
};
