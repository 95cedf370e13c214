// Sharing from the browser store: shareThread / unshareThread / createShareLink against the relay
// run.mjs started (dev auth: the token is the user id), two users' stores on one page.
import { ChatStore, ChatsyncError, type Thread } from "chatsync/bundler";
import { assert, equal, eventually, freshDb, openTab, relayUrl, test } from "./harness.js";

let users = 0;
/** A user id of its own for each store pair. */
const user = (name: string) => `${name}-${Date.now()}-${++users}`;
const open = (token: string, dbName = freshDb()) =>
  ChatStore.open({ dbName, persist: false, relayUrl: relayUrl(), token });
/** Syncs once the store has joined the relay (right after opening it may still be connecting). */
const synced = (store: ChatStore) => eventually(async () => void (await store.sync()), 10_000);
const contents = (thread: Thread) => thread.view().messages.map((m) => m.content).sort();

/** Rejects with a ChatsyncError of `code`, or fails. */
async function refused(work: () => unknown, code: string, what: string): Promise<ChatsyncError> {
  try {
    await work();
  } catch (error) {
    assert(error instanceof ChatsyncError, `${what}: not a ChatsyncError: ${error}`);
    equal(error.code, code, `${what}: the code`);
    return error;
  }
  throw new Error(`${what}: not refused`);
}

/** An HTTP base beside /sync, as the store derives it. */
const httpBase = () => relayUrl().replace(/^ws/, "http").replace(/\/sync$/, "");

async function readWithLink(token: string, threadId: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${httpBase()}/api/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ path: "threads:get", args: { threadId } }),
  });
  return { status: response.status, body: await response.json() };
}

test("share: a write grantee lists, opens and edits the thread, and both stores merge both edits", async () => {
  const [aliceId, bobId] = [user("alice"), user("bob")];
  const alice = await open(aliceId);
  const bob = await open(bobId);
  const { id } = await alice.createThread({ title: "Trip plans" });
  const mine = await alice.openThread(id);
  mine.appendMessage({ role: "user", content: "from alice" });
  await synced(alice);
  const share = await alice.shareThread(id, bobId, "write");
  equal([share.userId, share.access, share.sharedBy], [bobId, "write", aliceId], "the grant");
  equal((await alice.listShares(id)).map((s) => s.userId), [bobId], "alice's grants");
  const listed = (await bob.listThreads()).find((s) => s.id === id);
  assert(listed, "the shared thread is in bob's list");
  equal([listed.sharedBy, listed.access, listed.title], [aliceId, "write", "Trip plans"], "marked shared");
  // threads() too, once the shared list's threads event is listed.
  await eventually(() => equal(bob.threads().find((s) => s.id === id)?.sharedBy, aliceId, "in threads()"));
  const theirs = await bob.openThread(id);
  equal(contents(theirs), ["from alice"], "bob opened alice's thread");
  // Both write at once, each on their own store.
  mine.appendMessage({ role: "user", content: "alice again" });
  theirs.appendMessage({ role: "user", content: "from bob" });
  await Promise.all([synced(alice), synced(bob)]);
  const all = ["alice again", "from alice", "from bob"];
  await eventually(() => equal(contents(mine), all, "alice's view"), 15_000);
  await eventually(() => equal(contents(theirs), all, "bob's view"), 15_000);
  // Alice's own list is hers: not marked shared.
  const own = (await alice.listThreads()).find((s) => s.id === id);
  equal(own?.sharedBy, undefined, "not shared for its owner");
  // Only the owner shares.
  await refused(() => bob.shareThread(id, user("carol"), "read"), "forbidden", "a grantee sharing");
  mine.close();
  theirs.close();
  await alice.close();
  await bob.close();
});

test("share: a read-only grantee's writes are refused locally; once revoked it hears nothing new and keeps what it has", async () => {
  const [aliceId, bobId] = [user("alice"), user("bob")];
  const alice = await open(aliceId);
  const bobDb = freshDb();
  const bob = await open(bobId, bobDb);
  const { id } = await alice.createThread({ title: "Read me" });
  const mine = await alice.openThread(id);
  mine.appendMessage({ role: "user", content: "first" });
  await synced(alice);
  await alice.shareThread(id, bobId, "read");
  const listed = (await bob.listThreads()).find((s) => s.id === id);
  equal(listed?.access, "read", "listed read-only");
  const theirs = await bob.openThread(id);
  equal(contents(theirs), ["first"], "bob reads it");
  await refused(() => theirs.appendMessage({ role: "user", content: "no" }), "forbidden", "a read-only write");
  await refused(() => theirs.setTitle("mine"), "forbidden", "a read-only title");
  await refused(() => bob.archiveThread(id), "forbidden", "archiving a read-only share");
  // Live while shared.
  mine.appendMessage({ role: "user", content: "second" });
  await synced(alice);
  await eventually(() => equal(contents(theirs), ["first", "second"], "bob hears alice"), 15_000);
  // Revoked: nothing new reaches bob, and what he has stays.
  await alice.unshareThread(id, bobId);
  mine.appendMessage({ role: "user", content: "after the revoke" });
  await synced(alice);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  equal(contents(theirs), ["first", "second"], "bob kept what he had, and nothing more");
  // The list is refreshed in the background, and says so with a `threads` event.
  let told = false;
  const unsubscribe = bob.subscribe((event) => {
    if (event.type === "threads") told = true;
  });
  await eventually(async () => {
    const after = (await bob.listThreads()).find((s) => s.id === id);
    equal(after?.sharedBy, undefined, "no longer marked shared");
  });
  await eventually(() => assert(told, "a threads event for the shared list"));
  unsubscribe();
  // A new store of bob's cannot fetch it any more.
  const fresh = await open(bobId);
  await refused(() => fresh.openThread(id), "not_found", "a revoked user's new device");
  theirs.close();
  mine.close();
  await fresh.close();
  await alice.close();
  await bob.close();
});

test("share: the shared list shows offline, from what the store kept", async () => {
  const [aliceId, bobId] = [user("alice"), user("bob")];
  const alice = await open(aliceId);
  const dbName = freshDb();
  const bob = await open(bobId, dbName);
  const { id } = await alice.createThread({ title: "Offline too" });
  await synced(alice);
  await alice.shareThread(id, bobId, "write");
  assert((await bob.listThreads()).some((s) => s.id === id), "listed online");
  await bob.close();
  // The same store, opened with no relay at all.
  const offline = await ChatStore.open({ dbName, persist: false });
  const listed = (await offline.listThreads()).find((s) => s.id === id);
  equal([listed?.sharedBy, listed?.access], [aliceId, "write"], "listed offline");
  await refused(() => offline.shareThread(id, bobId, "read"), "offline", "sharing without a relay");
  await offline.close();
  await alice.close();
});

test("share: a share link reads its thread until revoked or expired; a forged one never", async () => {
  const aliceId = user("alice");
  const alice = await open(aliceId);
  const { id } = await alice.createThread({ title: "Linked" });
  const t = await alice.openThread(id);
  t.appendMessage({ role: "user", content: "for everyone with the link" });
  await synced(alice);
  const link = await alice.createShareLink(id);
  equal([link.threadId, link.access, link.expiresAt], [id, "read", undefined], "the link");
  const read = await readWithLink(link.token, id);
  equal(read.status, 200, "read with the link");
  equal(read.body.value.messages.map((m: { content: string }) => m.content), ["for everyone with the link"], "its view");
  const forged = await readWithLink(`${link.token.slice(0, -2)}xx`, id);
  equal([forged.status, forged.body.code], [401, "unauthorized"], "a forged link");
  await alice.revokeShareLink(link.linkId);
  const revoked = await readWithLink(link.token, id);
  equal([revoked.status, revoked.body.code], [403, "forbidden"], "a revoked link");
  const short = await alice.createShareLink(id, { expiresAt: new Date(Date.now() + 400) });
  equal((await readWithLink(short.token, id)).status, 200, "before it expires");
  await new Promise((resolve) => setTimeout(resolve, 600));
  const expired = await readWithLink(short.token, id);
  equal([expired.status, expired.body.code], [403, "forbidden"], "an expired link");
  await refused(() => alice.createShareLink(id, { expiresAt: Date.now() - 1 }), "invalid_input", "an expiry in the past");
  t.close();
  await alice.close();
});

test("share: the store's token at each request — a token function is asked anew, setToken replaces it", async () => {
  const aliceId = user("alice");
  let first = 0;
  let second = 0;
  const alice = await ChatStore.open({
    dbName: freshDb(), persist: false, relayUrl: relayUrl(),
    token: () => {
      first += 1;
      return aliceId;
    },
  });
  const { id } = await alice.createThread({ title: "Tokens" });
  await synced(alice);
  const before = first;
  equal(await alice.listShares(id), [], "no grants yet");
  assert(first > before, "the token function was asked for the request");
  alice.setToken(async () => {
    second += 1;
    return aliceId;
  });
  const [was, asked] = [first, second];
  const bobId = user("bob");
  equal((await alice.shareThread(id, bobId, "read")).userId, bobId, "shared with the new token");
  assert(second > asked, "the new token function was asked");
  equal(first, was, "the old token function is asked no more");
  // A token string, as setToken takes too.
  alice.setToken(aliceId);
  equal((await alice.listShares(id)).map((s) => s.userId), [bobId], "listed with the token string");
  equal(first, was, "the old function still not asked");
  await alice.close();
});

test("share: two tabs of a grantee on one SharedWorker list, open and follow a read-only share; both refuse its writes", async () => {
  const [aliceId, bobId] = [user("alice"), user("bob")];
  const alice = await open(aliceId);
  const bobDb = freshDb();
  const bob = await ChatStore.open({ dbName: bobDb, persist: false, relayUrl: relayUrl(), token: bobId, worker: "shared" });
  const { id } = await alice.createThread({ title: "Two tabs" });
  const mine = await alice.openThread(id);
  mine.appendMessage({ role: "user", content: "first" });
  await synced(alice);
  await alice.shareThread(id, bobId, "read");
  equal((await bob.listThreads()).find((s) => s.id === id)?.access, "read", "listed in this tab");
  await eventually(() => equal(bob.threads().find((s) => s.id === id)?.access, "read", "in this tab's threads()"));
  const theirs = await bob.openThread(id);
  equal(contents(theirs), ["first"], "this tab reads it");
  await refused(() => theirs.appendMessage({ role: "user", content: "no" }), "forbidden", "a write in this tab");
  // The other tab: the same worker (its store, its copy of the document), its own shared list —
  // the one this tab kept, so its threads() has the thread from the moment it opens.
  const tab = openTab({ db: bobDb, thread: id, act: "shared", relay: relayUrl(), token: bobId });
  try {
    const ready = await tab.message("ready");
    equal([ready.access, ready.sharedBy, ready.inThreads, ready.refused], ["read", aliceId, "read", "forbidden"], "the other tab");
    equal(ready.contents, ["first"], "the other tab reads it");
    mine.appendMessage({ role: "user", content: "second" });
    await synced(alice);
    await eventually(() => equal(contents(theirs), ["first", "second"], "this tab hears alice"), 15_000);
    equal((await tab.message("saw")).contents, ["first", "second"], "the other tab hears alice");
  } finally {
    tab.frame.remove();
    theirs.close();
    mine.close();
    await bob.close();
    await alice.close();
  }
});

test("share: a tab hears at once that another tab of the origin found a share read-only", async () => {
  const [aliceId, bobId] = [user("alice"), user("bob")];
  const alice = await open(aliceId);
  const bobDb = freshDb();
  const bob = await open(bobId, bobDb);
  const { id } = await alice.createThread({ title: "Now read-only" });
  await synced(alice);
  await alice.shareThread(id, bobId, "write");
  equal((await bob.listThreads()).find((s) => s.id === id)?.access, "write", "listed writable");
  // The other tab (its store in the SharedWorker) opens the thread, then does nothing.
  const tab = openTab({ db: bobDb, thread: id, act: "follow", relay: relayUrl(), token: bobId });
  try {
    equal((await tab.message("ready")).access, "write", "the other tab: writable");
    await alice.shareThread(id, bobId, "read");
    // This tab asks the relay (listThreads refreshes a list older than a moment) and keeps the answer…
    await eventually(async () => equal((await bob.listThreads()).find((s) => s.id === id)?.access, "read", "this tab: read-only"));
    // …which the other tab takes from there, with a threads event: its writes are refused.
    equal((await tab.message("readOnly")).refused, "forbidden", "the other tab's write");
  } finally {
    tab.frame.remove();
    await bob.close();
    await alice.close();
  }
});
