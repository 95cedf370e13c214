// The history calls, over the history wasm module (crates/history, built into ./chatsync_history.js
// and its wasm by scripts/build-web.sh). Each call hands the module the thread's Automerge bytes as
// they are (`thread.save()`); a restore's change comes back as bytes that the live thread merges
// (`thread.applyChanges`), so it is stored and synced like any edit. Between reading the bytes and
// merging the change nothing awaits, so no other write can come in between.
import init, * as wasm from "./chatsync_history.js";
import type { Thread, ThreadView } from "../web/chatsync.js";
import { ChatsyncError } from "../errors.js";
import type { RestoreOptions, ThreadVersion } from "./types.js";
import { noteModule } from "../internal.js";
import { openExisting, request } from "../idb.js";

// For the package's tests (../internal.ts): this module ran here, and only on the first history call.
noteModule("history");

/** Loads and starts the wasm, once. */
export function ready(): Promise<unknown> {
  return init({ module_or_path: new URL("./chatsync_history_bg.wasm", import.meta.url) });
}

function checkVersion(version: unknown): asserts version is string {
  if (typeof version !== "string") {
    throw new ChatsyncError("invalid_input", `a version must be a string from thread.history(), not ${typeof version}`);
  }
}

export function history(thread: Thread): ThreadVersion[] {
  return wasm.versions(thread.id, thread.save()) as ThreadVersion[];
}

export function viewAt(thread: Thread, version: string): ThreadView {
  checkVersion(version);
  return wasm.viewAt(thread.id, thread.save(), version) as ThreadView;
}

export async function restore(thread: Thread, dbName: string, version: string, options?: RestoreOptions): Promise<void> {
  checkVersion(version);
  const messageId = options?.messageId;
  if (messageId !== undefined && typeof messageId !== "string") {
    throw new ChatsyncError("invalid_input", `messageId must be a string, not ${typeof messageId}`);
  }
  // This device's edit, which its undo() undoes.
  const actor = await deviceActor(dbName);
  const change = wasm.restore(thread.id, thread.save(), version, messageId, actor, Date.now());
  if (change) thread.applyChanges(change);
}

export async function undo(thread: Thread, dbName: string): Promise<boolean> {
  const device = await devicePrefix(dbName);
  const actor = await deviceActor(dbName);
  // Nothing awaits from here on (see the top of this file).
  const change = wasm.undo(thread.id, thread.save(), device, actor, Date.now());
  if (!change) return false;
  thread.applyChanges(change);
  return true;
}

// This device's actor prefix, per database: what the core stores in its `meta` object store as
// `device` (crates/web/src/locks.rs, `device_actor`) and puts before each store instance's actors.
const devices = new Map<string, Promise<Uint8Array>>();

function devicePrefix(dbName: string): Promise<Uint8Array> {
  let device = devices.get(dbName);
  if (!device) {
    device = readDevice(dbName);
    device.catch(() => devices.delete(dbName));
    devices.set(dbName, device);
  }
  return device;
}

async function readDevice(dbName: string): Promise<Uint8Array> {
  const unreadable = (error: unknown) =>
    new ChatsyncError("storage", `cannot read this device's id: ${(error as Error | null)?.message}`);
  const db = await openExisting(dbName).catch((error: unknown) => {
    throw unreadable(error);
  });
  try {
    const hex: unknown = await request(db.transaction("meta", "readonly").objectStore("meta").get("device")).catch(
      (error: unknown) => {
        throw unreadable(error);
      },
    );
    if (typeof hex !== "string" || !/^([0-9a-f]{2})+$/.test(hex)) {
      throw new ChatsyncError("storage", "this store has no device id");
    }
    return Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
  } finally {
    db.close();
  }
}

/**
 * A fresh actor for the change a history call makes: this device's prefix, then 8 random bytes —
 * never the store's own actor, whose next sequence number only the store knows.
 */
async function deviceActor(dbName: string): Promise<Uint8Array> {
  const prefix = await devicePrefix(dbName);
  const actor = new Uint8Array(prefix.length + 8);
  actor.set(prefix);
  crypto.getRandomValues(actor.subarray(prefix.length));
  return actor;
}
