// The "chatsync" entry's JS layer: ChatsyncError and persistent storage.
import { ChatStore, ChatsyncError, isChatsyncErrorCode, onStoreEvent, type StoreEventOf } from "chatsync/bundler";
import * as plain from "chatsync";
import { assert, equal, eventually, freshDb, test } from "./harness.js";

test("ChatsyncError: instanceof holds for the store's own errors, code typed", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  try {
    await store.openThread("no-such-thread");
    throw new Error("openThread of an unknown id resolved");
  } catch (error) {
    assert(error instanceof ChatsyncError, `not a ChatsyncError: ${String(error)}`);
    assert(isChatsyncErrorCode(error.code), `unknown code ${error.code}`);
    assert(["not_found", "invalid_input"].includes(error.code), `code ${error.code}`);
  } finally {
    await store.close();
  }
  assert(plain.ChatsyncError === ChatsyncError && plain.ChatStore === ChatStore, "both entries share one module");
  const made = new ChatsyncError("offline", "the relay is away");
  assert(made instanceof ChatsyncError && made instanceof Error, "a constructed ChatsyncError");
  equal(made.code, "offline", "its code");
  assert(!(new Error("plain") instanceof ChatsyncError), "a plain Error is no ChatsyncError");
  const other = Object.assign(new Error("node"), { code: "ECONNREFUSED" });
  assert(!(other instanceof ChatsyncError), "an Error with a foreign code is no ChatsyncError");
});

test("persist: open asks navigator.storage.persist(), status() reports it and a status event fires", async () => {
  const storage = navigator.storage;
  let asked = 0;
  const original = storage.persist;
  storage.persist = () => {
    asked += 1;
    return new Promise((resolve) => setTimeout(() => resolve(true), 50));
  };
  try {
    const store = await ChatStore.open({ dbName: freshDb() });
    const statuses: (boolean | undefined)[] = [];
    const stop = store.subscribe((event) => event.type === "status" && statuses.push(event.status.persisted));
    await eventually(() => equal(store.status().persisted, true, "status().persisted"));
    equal(asked, 1, "persist() calls");
    assert(store.status() === store.status(), "status() keeps its identity");
    await eventually(() => assert(statuses.includes(true), `status events: ${JSON.stringify(statuses)}`));
    stop();
    await store.close();
  } finally {
    storage.persist = original;
  }
});

test("persist: false never asks, and reports what navigator.storage.persisted() says", async () => {
  const storage = navigator.storage;
  const original = storage.persist;
  let asked = 0;
  storage.persist = async () => {
    asked += 1;
    return true;
  };
  try {
    const store = await ChatStore.open({ dbName: freshDb(), persist: false });
    const persisted = await storage.persisted();
    await eventually(() => equal(store.status().persisted, persisted, "status().persisted"));
    equal(asked, 0, "persist() calls");
    await store.close();
  } finally {
    storage.persist = original;
  }
});

test("onStoreEvent: only the events of one kind, typed as that kind", async () => {
  const store = await ChatStore.open({ dbName: freshDb(), persist: false });
  const seen: StoreEventOf<"threads">[] = [];
  const stop = onStoreEvent(store, "threads", (event) => seen.push(event));
  await store.createThread({ title: "Typed" });
  await eventually(() => assert(seen.length > 0, "no threads event"));
  assert(seen.every((event) => event.type === "threads" && event.source === "local"), JSON.stringify(seen));
  stop();
  const before = seen.length;
  await store.createThread({ title: "After" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  equal(seen.length, before, "events after unsubscribing");
  await store.close();
});
