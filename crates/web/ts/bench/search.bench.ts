// The page of the search benchmark (run.mjs drives it): builds the corpus, then measures. The store
// runs in the page (`worker: "none"`): the index's own statistics are read here.
import { ChatStore } from "chatsync/bundler";

interface Stats {
  threadReads: number;
  docsIndexed: number;
  snapshots: number;
  journalWrites: number;
  snapshotChars: number;
  refreshes: number;
  refreshMs: number;
  lastSaveMs: number;
  documents: number;
}
const stats = (store: ChatStore) =>
  (store as unknown as Record<symbol, Stats>)[Symbol.for("chatsync.searchStats")]!;
const params = new URLSearchParams(location.search);
const THREADS = Number(params.get("threads") ?? 200);
const PER_THREAD = Number(params.get("perThread") ?? 50);
const log = (text: string) => console.log(`[bench] ${text}`);

// A deterministic corpus: words drawn from a 6,000-word vocabulary with a Zipf-like skew (as
// natural text), a few accented and CJK words; user messages of 8-40 words, replies of 40-200.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "be", "do", "fa", "gu", "ho", "ji", "pe", "qu", "ze", "ch", "st", "an"];
const vocabulary: string[] = [];
for (let i = 0; vocabulary.length < 6000; i++) {
  let word = "";
  for (let n = 2 + (i % 3); n > 0; n--) word += syllables[Math.floor(random() * syllables.length)];
  vocabulary.push(word);
}
vocabulary.push("café", "naïve", "résumé", "東京タワー", "京都", "ありがとう", "서울");
const word = () => vocabulary[Math.floor(vocabulary.length * random() ** 3)]!;
const sentence = (min: number, max: number) =>
  Array.from({ length: min + Math.floor(random() * (max - min)) }, word).join(" ");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number) => Math.round(n * 100) / 100;

// Chromium's JS heap in use (performance.memory, non-standard), after a collection when run.mjs
// gives the page --js-flags=--expose-gc.
function heapBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
}

async function idbBytes(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? 0;
}

async function main() {
  const dbName = `bench-${Date.now()}`;
  let store = await ChatStore.open({ dbName, persist: false, worker: "none" });
  let started = performance.now();
  let corpusChars = 0;
  for (let t = 0; t < THREADS; t++) {
    const { id } = await store.createThread({ title: `${word()} ${word()}`, projectId: `p${t % 5}` });
    const thread = await store.openThread(id);
    for (let m = 0; m < PER_THREAD; m++) {
      const content = m % 2 ? sentence(40, 200) : sentence(8, 40);
      corpusChars += content.length;
      thread.appendMessage({ role: m % 2 ? "assistant" : "user", content });
    }
    thread.close();
    if (t % 20 === 19) await store.flush();
  }
  await store.flush();
  log(`corpus: ${THREADS * PER_THREAD} messages in ${THREADS} threads, ${Math.round(performance.now() - started)} ms`);
  const beforeIndex = await idbBytes();
  const heapBefore = heapBytes();

  started = performance.now();
  await store.search("warmup");
  const buildMs = performance.now() - started;
  log(`first search (builds the index): ${Math.round(buildMs)} ms`);
  // The first save writes the whole index (a snapshot): let it happen before the queries are timed.
  while (stats(store).snapshots === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  const snapshotMs = stats(store).lastSaveMs;
  const heapIndex = heapBytes() - heapBefore;
  const snapshotChars = stats(store).snapshotChars;

  // Queries: frequent and rare words, prefixes of 2-4 letters, two words, CJK, and with filters.
  const queries: [string, object][] = [];
  for (let i = 0; i < 300; i++) {
    const w = word();
    const kind = i % 6;
    if (kind === 0) queries.push([w, {}]);
    else if (kind === 1) queries.push([w.slice(0, 2 + (i % 3)), {}]);
    else if (kind === 2) queries.push([`${word()} ${w}`, {}]);
    else if (kind === 3) queries.push([vocabulary[Math.floor(random() * vocabulary.length)]!, {}]);
    else if (kind === 4) queries.push([w, { role: "user", projectId: `p${i % 5}` }]);
    else queries.push([["東京", "cafe", "京", "서울", "resume"][i % 5]!, { includeArchived: true }]);
  }
  const times: number[] = [];
  const byKind: number[][] = [[], [], [], [], [], []];
  let hits = 0;
  for (const [i, [query, opts]] of queries.entries()) {
    const t0 = performance.now();
    hits += (await store.search(query, opts)).length;
    times.push(performance.now() - t0);
    byKind[i % 6]!.push(times.at(-1)!);
  }
  times.sort((a, b) => a - b);
  const kinds = ["word", "prefix 2-4", "two words", "any word", "word + filters", "CJK / accents"];
  const p95ByKind = Object.fromEntries(
    byKind.map((list, i) => [kinds[i], round(percentile(list.sort((a, b) => a - b), 95))]),
  );
  log(`queries: ${times.length}, p50 ${round(percentile(times, 50))} ms, p95 ${round(percentile(times, 95))} ms`);

  // Single letters: the widest prefixes.
  const letters: number[] = [];
  for (const letter of "abcdefghijklmnopqrstuvwxyz") {
    const t0 = performance.now();
    await store.search(letter);
    letters.push(performance.now() - t0);
  }
  letters.sort((a, b) => a - b);

  // What IndexedDB grew by for the index (the snapshot; Chromium compresses what it stores).
  await store.close();
  const afterIndex = await idbBytes();

  // A reload: a new store on the same database answers from the saved index.
  store = await ChatStore.open({ dbName, persist: false, worker: "none" });
  started = performance.now();
  await store.search("warmup");
  const reloadMs = performance.now() - started;
  const reloadReads = stats(store).threadReads;

  // A streamed reply into one thread: 500 deltas of a few words, every 10 ms (a fast model).
  const [first] = await store.listThreads();
  const thread = await store.openThread(first!.id);
  const reply = thread.appendMessage({ role: "assistant" });
  const before = { ...stats(store) };
  const deltas = 500;
  started = performance.now();
  for (let i = 0; i < deltas; i++) {
    thread.appendDelta(reply.id, ` ${word()} ${word()} ${word()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  thread.finishMessage(reply.id, { status: "complete" });
  await store.flush();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const streamMs = performance.now() - started;
  const after = stats(store);
  thread.close();
  await store.close();

  const result = {
    messages: THREADS * PER_THREAD,
    threads: THREADS,
    corpusChars,
    buildMs: Math.round(buildMs),
    queries: times.length,
    queryP50Ms: round(percentile(times, 50)),
    queryP95Ms: round(percentile(times, 95)),
    queryMaxMs: round(times.at(-1)!),
    queryP95MsByKind: p95ByKind,
    resultsPerQuery: round(hits / times.length),
    singleLetterP95Ms: round(percentile(letters, 95)),
    snapshotChars,
    indexHeapBytes: heapIndex,
    snapshotSerialiseMs: Math.round(snapshotMs),
    indexedDbGrowthBytes: afterIndex - beforeIndex,
    reloadFirstSearchMs: Math.round(reloadMs),
    reloadThreadReads: reloadReads,
    stream: {
      deltas,
      wallMs: Math.round(streamMs),
      refreshes: after.refreshes - before.refreshes,
      refreshMsTotal: round(after.refreshMs - before.refreshMs),
      refreshMsPerDelta: round((after.refreshMs - before.refreshMs) / deltas),
      refreshMsPerRefresh: round((after.refreshMs - before.refreshMs) / Math.max(1, after.refreshes - before.refreshes)),
      docsReindexed: after.docsIndexed - before.docsIndexed,
      journalWrites: after.journalWrites - before.journalWrites,
      snapshots: after.snapshots - before.snapshots,
      lastJournalSaveMs: round(after.lastSaveMs),
    },
  };
  (window as unknown as { __bench: unknown }).__bench = result;
}

main().catch((error) => {
  (window as unknown as { __bench: unknown }).__bench = { error: String(error?.stack ?? error) };
});
