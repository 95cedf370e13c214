// `ChatsyncError`, the class of every error chatsync throws. The wasm side throws plain `Error`s with
// a `code` (see the README's table); `instanceof ChatsyncError` is true for those too, through
// `Symbol.hasInstance`, so no call needs wrapping to re-throw them.
import type { ChatsyncError as CoreError } from "./web/chatsync.js";

/**
 * The stable codes of chatsync's errors: the core's, and `forbidden` — refused by the relay or the
 * store for this user (a write to a thread shared read-only, sharing a thread that is not theirs).
 */
export type ChatsyncErrorCode = CoreError["code"] | "forbidden";

// The runtime copy of the `code` union: what `instanceof` recognises. Kept in step with types.ts by
// the type below (it fails to compile when a code is missing here).
const codes = {
  not_found: true, invalid_input: true, already_exists: true, invalid_transition: true,
  read_only_schema: true, corrupt_document: true, corrupt: true, storage: true, purged: true,
  unauthorized: true, offline: true, token: true, closed: true, thread_closed: true, aborted: true,
  forbidden: true,
} satisfies Record<ChatsyncErrorCode, true>;

/** Whether `code` is one of chatsync's error codes. */
export function isChatsyncErrorCode(code: unknown): code is ChatsyncErrorCode {
  return typeof code === "string" && Object.hasOwn(codes, code);
}

/**
 * An error from chatsync: `error instanceof ChatsyncError` is true for every error the store throws or
 * rejects with (an `Error` whose `code` is one of {@link ChatsyncErrorCode}), and `error.code` is typed.
 */
export class ChatsyncError extends Error {
  readonly code: ChatsyncErrorCode;

  constructor(code: ChatsyncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChatsyncError";
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // Only the base class recognises the wasm side's plain errors: a subclass means its own.
    return this === ChatsyncError && value instanceof Error && isChatsyncErrorCode((value as { code?: unknown }).code);
  }
}
