// The import's refusal: a ChatsyncError with code `invalid_input`, raised before anything is written.
import { ChatsyncError } from "../errors.js";

export function invalid(message: string): ChatsyncError {
  return new ChatsyncError("invalid_input", message);
}

/** `value` as a plain object, or undefined. */
export function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `value` if it is a string, else undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A time as ms since the epoch, from seconds (ChatGPT's floats) or an ISO date (Claude's). */
export function millis(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** A short description of a value's type for an error message. */
export function kindOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
