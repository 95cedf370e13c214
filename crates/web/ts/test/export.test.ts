// chatsync/export and the store's exportThread / exportAll / importThreads: the lossless round trip
// into another store, Markdown of the active branch, ChatGPT's and Claude's exports (fixtures in
// ./fixtures), and refusals of malformed input with nothing half-imported.
import { ChatStore, ChatsyncError, type Thread, type ThreadView } from "chatsync/bundler";
import { EXPORT_VERSION, exportThread, importThreads, toMarkdown, type ChatsyncExport } from "chatsync/export";
import { assert, equal, freshDb, test } from "./harness.js";
import { branchedConversation, emptyConversation, linearConversation } from "./fixtures/chatgpt.js";
import { claudeExport } from "./fixtures/claude.js";

const open = () => ChatStore.open({ dbName: freshDb(), persist: false });

/** A thread with something of everything the API can write: branches, streams, feedback, artifacts, tools, approvals. */
async function richThread(store: ChatStore): Promise<string> {
  // A thread's project must exist in its store; an import carries the id over as it is.
  const project = await store.createProject({ name: "Travel" });
  const { id } = await store.createThread({
    title: "Trip planning",
    projectId: project.id,
    settings: { provider: "openai", model: "gpt-4o", systemPrompt: "Be brief.", temperature: 0.4, contextWindow: 128000 },
  });
  const thread = await store.openThread(id);
  try {
    const question = thread.appendMessage({ role: "user", content: "Where in March?", metadata: { draft: false, tags: ["trip"] } });
    const answer = thread.appendMessage({ role: "assistant", provider: "openai", model: "gpt-4o" });
    thread.appendDelta(answer.id, "Iceland, ");
    thread.appendDelta(answer.id, "for the northern lights.");
    thread.finishMessage(answer.id, { status: "complete", usage: { inputTokens: 12, outputTokens: 9 } });
    thread.setFeedback(answer.id, { rating: 5, text: "spot on" });
    const retry = thread.regenerateMessage(answer.id, "anthropic", "claude-x");
    thread.appendDelta(retry.id, "Japan, for the blossoms.");
    thread.finishMessage(retry.id, { status: "cancelled" });
    const edited = thread.editMessage(question.id, "Where in April?");
    const reply = thread.appendMessage({ role: "assistant", content: "Portugal.", parentId: edited.id });
    const artifact = thread.upsertArtifact({ kind: "document", title: "Packing list", content: "boots", messageId: reply.id });
    thread.upsertArtifact({ id: artifact, kind: "document", title: "Packing list", content: "boots\nshell", status: "final", messageId: reply.id });
    const call = thread.startToolCall({ messageId: reply.id, toolName: "weather", input: { city: "Lisbon" }, providerCallId: "call_1" });
    thread.finishToolCall(call, { status: "completed", output: { tempC: 19 } });
    const failed = thread.startToolCall({ messageId: reply.id, toolName: "flights", input: {} });
    thread.finishToolCall(failed, { status: "failed", error: "no route" });
    const asked = thread.requestApproval({ kind: "booking", subject: "Book the flight", messageId: reply.id });
    thread.decideApproval(asked, { approve: false, decidedBy: "ana", reason: "too dear" });
    thread.requestApproval({ kind: "booking", subject: "Book the hotel" });
    thread.setSessionState({ phase: "booking", plan: "flights, then hotel", externalId: "agent-7" });
    // The first branch shows: its answer's second variant (the cancelled one) is not the newest of all.
    thread.selectBranch(retry.id);
  } finally {
    thread.close();
  }
  await store.flush();
  return id;
}

async function read(store: ChatStore, id: string) {
  const thread = await store.openThread(id);
  try {
    const full = thread.fullView();
    return { view: thread.view(), all: full.messages, approvals: full.pendingApprovals };
  } finally {
    thread.close();
  }
}

/** A view without the one field an import must change: the thread's id (a new document). */
function withoutId(view: ThreadView): Omit<ThreadView, "id"> {
  const { id: _id, ...rest } = view;
  return rest;
}

async function expectInvalid(call: () => Promise<unknown>, mentions: string): Promise<ChatsyncError> {
  try {
    await call();
  } catch (error) {
    assert(error instanceof ChatsyncError, `not a ChatsyncError: ${String(error)}`);
    equal(error.code, "invalid_input", `code of "${error.message}"`);
    assert(error.message.includes(mentions), `"${error.message}" does not mention "${mentions}"`);
    return error;
  }
  throw new Error(`resolved; wanted invalid_input mentioning "${mentions}"`);
}

test("export: exportThread → JSON text → importThreads in another store gives the same views, every branch", async () => {
  const source = await open();
  const target = await open();
  try {
    const id = await richThread(source);
    const before = await read(source, id);
    const exported = await source.exportThread(id);
    equal([exported.format, exported.version, exported.threads.length], ["chatsync", EXPORT_VERSION, 1], "format, version, threads");
    const [thread] = exported.threads;
    assert(thread, "the exported thread");
    equal(thread.messages.length, 5, "every message of every branch");
    equal(thread.activePath, before.view.messages.map((m) => m.id), "the active path");
    // Both approvals may be asked in one millisecond, and then they sort by their random ids.
    equal(thread.approvals.map((a) => a.status).sort(), ["pending", "rejected"], "decided approvals too");
    equal(thread.settings, before.view.settings, "settings");
    equal([thread.title, thread.projectId, thread.session?.phase], ["Trip planning", before.view.projectId, "booking"], "title, project, session");
    assert(before.view.projectId, "the thread's project");
    assert(thread.automerge.length > 100, "the Automerge document");

    const result = await target.importThreads(JSON.stringify(exported));
    equal(result.skipped, [], "skipped");
    equal(result.lost, [], "nothing lost");
    equal(result.imported.length, 1, "imported");
    const copy = result.imported[0]!;
    assert(copy !== id, "the copy has a new id");
    const after = await read(target, copy);
    equal(withoutId(after.view), withoutId(before.view), "the view (all but id)");
    equal(after.all, before.all, "every message of every branch");
    equal(after.approvals, before.approvals, "every approval");

  } finally {
    await source.close();
    await target.close();
  }
});

test("export: an imported copy is stored whole (a reopened store shows it) and is writable", async () => {
  const source = await open();
  const db = freshDb();
  let target = await ChatStore.open({ dbName: db, persist: false });
  try {
    const id = await richThread(source);
    const before = await read(source, id);
    const bytes = await source.exportThread(id, { format: "automerge" });
    assert(bytes instanceof Uint8Array && bytes.length > 100, "automerge bytes");
    const { imported } = await target.importThreads(bytes, { format: "automerge" });
    await target.close();
    target = await ChatStore.open({ dbName: db, persist: false });
    const copy = imported[0]!;
    equal((await target.listThreads()).map((t) => t.id), [copy], "the list after reopening");
    const after = await read(target, copy);
    equal(withoutId(after.view), withoutId(before.view), "the view after reopening");
    equal(after.all, before.all, "every branch after reopening");
    const thread = await target.openThread(copy);
    thread.appendMessage({ role: "user", content: "And in May?" });
    equal(thread.view().messages.at(-1)?.content, "And in May?", "a write to the copy");
    thread.close();
  } finally {
    await source.close();
    await target.close();
  }
});

test("export: exportAll carries archived threads; importing it twice makes two copies with new ids", async () => {
  const source = await open();
  const target = await open();
  try {
    const rich = await richThread(source);
    const { id: archived } = await source.createThread({ title: "Old" });
    const old = await source.openThread(archived);
    old.appendMessage({ role: "user", content: "from last year" });
    old.close();
    await source.archiveThread(archived);
    const all = await source.exportAll();
    equal(all.threads.map((t) => t.id).sort(), [rich, archived].sort(), "threads exported");
    equal(all.threads.find((t) => t.id === archived)?.status, "archived", "its status");

    const first = await target.importThreads(all, { format: "chatsync" });
    const second = await target.importThreads(all);
    equal([first.imported.length, second.imported.length], [2, 2], "imported each time");
    const ids = [...first.imported, ...second.imported];
    equal(new Set(ids).size, 4, "four distinct ids");
    assert(!ids.includes(rich) && !ids.includes(archived), "none is an original id");
    const listed = await target.listThreads({ includeArchived: true });
    equal(listed.length, 4, "the target lists four threads");
    equal(listed.filter((t) => t.status === "archived").length, 2, "two archived copies");
    const titles = listed.map((t) => t.title).sort();
    equal(titles, ["Old", "Old", "Trip planning", "Trip planning"], "titles");
  } finally {
    await source.close();
    await target.close();
  }
});

test("export: Markdown of the active branch", async () => {
  const store = await open();
  try {
    const id = await richThread(store);
    const markdown = await store.exportThread(id, { format: "markdown" });
    const view = (await read(store, id)).view;
    equal(await exportThread(store, id, { format: "markdown" }), markdown, "the function and the method agree");
    equal(toMarkdown(view), markdown, "toMarkdown of the view");
    assert(markdown.startsWith("# Trip planning\n"), markdown.slice(0, 40));
    assert(markdown.includes("- Model: openai / gpt-4o"), "the model");
    // The active branch: the first question and the regenerated (cancelled) answer.
    assert(markdown.includes("Where in March?"), "the active question");
    assert(markdown.includes("Japan, for the blossoms."), "the active answer");
    assert(markdown.includes("### Assistant · claude-x · ") && markdown.includes("cancelled · branch 2 of 2"), "the answer's heading");
    for (const other of ["Where in April?", "Portugal.", "Iceland, for the northern lights."]) {
      assert(!markdown.includes(other), `another branch's "${other}" is not in it`);
    }
    // The artifact and tool calls belong to the other branch's reply.
    assert(!markdown.includes("Packing list") && !markdown.includes("weather"), "other branches' artifacts and tools");
    equal(markdown.split("\n---\n").length - 1, view.messages.length, "one section per message");
  } finally {
    await store.close();
  }
});

test("import: ChatGPT conversations.json — the mapping tree becomes branches, current_node the active path", async () => {
  const store = await open();
  try {
    const data = JSON.stringify([branchedConversation, linearConversation, emptyConversation]);
    const result = await store.importThreads(data, { format: "chatgpt" });
    equal(result.imported.length, 2, "imported");
    equal(result.skipped, [{ reason: "it has no messages to import", index: 2, sourceId: "conv-empty", title: "Empty" }], "skipped");

    const { view, all } = await read(store, result.imported[0]!);
    equal(view.title, "Packing for Iceland", "title");
    equal(
      view.messages.map((m) => [m.role, m.content]),
      [
        ["user", "What should I pack for Iceland in March?"],
        ["assistant", "Thermals, a shell, waterproof boots."],
        ["user", "And for this route?"],
        ["assistant", "For the Ring Road: spikes and a headlamp."],
      ],
      "the active path (current_node's)",
    );
    const [question, answer, followUp, last] = view.messages;
    const byId = new Map(all.map((m) => [m.id, m]));
    equal(question!.siblings.map((s) => byId.get(s)?.content), ["What should I pack for Iceland?", "What should I pack for Iceland in March?"], "the edited question's siblings");
    equal(answer!.siblings.map((s) => byId.get(s)?.content), ["Warm layers and crampons.", "Thermals, a shell, waterproof boots."], "the regenerated answer's siblings");
    equal([answer!.provider, answer!.model, last!.model], ["openai", "o3", "o3"], "provider and model");
    equal(followUp!.parentId, answer!.id, "the follow-up answers the second answer");
    equal(all.length, 7, "every message kept, on the path or not (the hidden, reasoning and unknown ones left out)");
    const first = all.find((m) => m.content === "What should I pack for Iceland?")!;
    equal(first.metadata?.import, { source: "chatgpt", id: "u1", createdAt: 1_760_000_001_000 }, "where it came from");
    equal(all.find((m) => m.content === "Layers.")?.parentId, first.id, "the first branch keeps its answer");

    const lost = result.lost.find((l) => l.threadId === result.imported[0]);
    assert(lost, "a report for the branched conversation");
    equal([lost.index, lost.sourceId, lost.title], [0, "conv-iceland", "Packing for Iceland"], "whose report");
    for (const item of ["reasoning (thoughts)", "images (image_asset_pointer)", 'attachment "itinerary.pdf"', 'unknown content type "hologram"']) {
      assert(lost.items.some((line) => line.includes(item)), `the report ${JSON.stringify(lost.items)} names ${item}`);
    }
    assert(!lost.items.some((line) => line.includes("system")), "the empty hidden system message is no loss");

    const linear = await read(store, result.imported[1]!);
    equal(
      linear.view.messages.map((m) => [m.role, m.content]),
      [
        ["user", "Sum 1..10 in Python"],
        ["assistant", "```python\nprint(sum(range(1, 11)))\n```"],
        ["tool", "55"],
        ["assistant", "It is 55."],
      ],
      "code and its output",
    );
    assert(!result.lost.some((l) => l.threadId === result.imported[1]), "the linear conversation lost nothing");
  } finally {
    await store.close();
  }
});

test("import: Claude's export — messages, branches, tool use, attachments; files and thinking reported", async () => {
  const store = await open();
  try {
    const result = await store.importThreads(claudeExport);
    equal(result.imported.length, 2, "imported (format recognised)");
    equal(result.skipped.map((s) => [s.index, s.sourceId]), [[2, "c-3"]], "the empty one skipped");

    const budget = await read(store, result.imported[0]!);
    equal(budget.view.title, "Budget review", "title");
    equal(budget.view.messages.map((m) => [m.role, m.content]), [
      ["user", "Can you check this budget?"],
      ["assistant", "Your monthly total is 1600."],
    ], "messages");
    const [question, answer] = budget.view.messages;
    equal(question!.metadata?.attachments, [{ fileName: "budget.csv", fileType: "text/csv", fileSize: 42, extractedContent: "rent,1200\nfood,400" }], "the attachment's text");
    equal(question!.metadata?.import, { source: "claude", id: "m-1", createdAt: Date.parse("2026-11-02T09:00:00Z") }, "where it came from");
    equal(budget.view.toolCalls.map((c) => [c.messageId, c.toolName, c.providerCallId, c.input, c.output, c.status]), [
      [answer!.id, "calculator", "toolu_1", { expression: "1200+400" }, [{ type: "text", text: "1600" }], "completed"],
    ], "the tool call");
    const lost = result.lost.find((l) => l.threadId === result.imported[0])!;
    equal(lost.items.sort(), ['file "receipt.png" (its content is not in the export)', "thinking"], "what the report lists");

    const haiku = await read(store, result.imported[1]!);
    equal(haiku.view.messages.map((m) => m.content), ["A haiku about rain", "Grey sky lets go now"], "current_leaf's branch");
    equal(haiku.view.messages[1]!.siblings.length, 2, "two answers");
    equal(haiku.view.messages[1]!.provider, "anthropic", "provider");
  } finally {
    await store.close();
  }
});

test("import: malformed input is refused with invalid_input and nothing is imported", async () => {
  const store = await open();
  try {
    await expectInvalid(() => store.importThreads("{not json"), "not JSON");
    await expectInvalid(() => store.importThreads({ hello: 1 }), "not an export chatsync knows");
    await expectInvalid(() => store.importThreads({ conversations: [] }, { format: "chatgpt" }), "array of conversations");
    // A good conversation before a bad one: neither is written.
    await expectInvalid(() => store.importThreads([linearConversation, { title: "no mapping" }], { format: "chatgpt" }), 'conversation 1 has no "mapping"');
    await expectInvalid(
      () => store.importThreads([{ ...linearConversation, mapping: { a: { id: "a", children: "b" } } }], { format: "chatgpt" }),
      '"children" that is not a list',
    );
    await expectInvalid(() => store.importThreads([{ uuid: "x", chat_messages: [42] }], { format: "claude" }), "message 0 is number");
    await expectInvalid(() => store.importThreads(claudeExport, { format: "chatgpt" }), 'no "mapping"');

    const id = await richThread(store);
    const good = await store.exportThread(id);
    await store.deleteThread(id);
    const thread = good.threads[0]!;
    await expectInvalid(() => store.importThreads({ ...good, version: EXPORT_VERSION + 1 }), "newer than this chatsync reads");
    await expectInvalid(() => store.importThreads({ ...good, threads: [thread, { ...thread, automerge: "%%%" }] }), "not base64");
    await expectInvalid(() => store.importThreads({ ...good, threads: [{ ...thread, automerge: undefined }] }), 'no "automerge"');
    // Base64 of bytes that are no Automerge document: found only when the store loads them, after
    // the first thread was imported — which is undone.
    const undone = await expectInvalid(
      () => store.importThreads({ ...good, threads: [thread, { ...thread, automerge: btoa("not automerge") }] }),
      "the import was undone",
    );
    assert(undone.message.includes("thread 1 of the export"), undone.message);
    await expectInvalid(async () => store.loadThread(new Uint8Array([1, 2, 3])), "not a chatsync thread");
    await expectInvalid(async () => store.loadThread(new Uint8Array()), "not a chatsync thread");
    await expectInvalid(() => store.exportThread(id, { format: "pdf" as "json" }), "unknown export format");
    await expectInvalid(() => store.importThreads("[]", { format: "automerge" }), "takes a thread's Automerge bytes");
    await expectInvalid(() => store.importThreads(new Uint8Array([1]), { format: "claude" }), "not a claude export");

    equal(await store.listThreads({ includeArchived: true }), [], "no thread was left behind");
  } finally {
    await store.close();
  }
});

test("import: the same ChatGPT export twice makes two copies (new ids each time)", async () => {
  const store = await open();
  try {
    const first = await importThreads(store, [linearConversation]);
    const second = await importThreads(store, JSON.stringify([linearConversation]));
    equal([first.imported.length, second.imported.length], [1, 1], "imported");
    assert(first.imported[0] !== second.imported[0], "different ids");
    const a = await read(store, first.imported[0]!);
    const b = await read(store, second.imported[0]!);
    equal(b.view.messages.map((m) => m.content), a.view.messages.map((m) => m.content), "the same content");
    equal((await store.listThreads()).length, 2, "two threads listed");
    const exported: ChatsyncExport = await store.exportAll();
    equal(exported.threads.length, 2, "both exported");
  } finally {
    await store.close();
  }
});

test("import: a write the store refuses midway undoes the threads that import made", async () => {
  const store = await open();
  try {
    // The store as the import sees it, whose fifth appendMessage fails: the second conversation's first.
    let appends = 0;
    const failing = Object.create(store) as ChatStore;
    failing.openThread = async (id: string) => {
      const thread = await store.openThread(id);
      const wrapped = Object.create(thread) as Thread;
      wrapped.appendMessage = (message) => {
        if (++appends === 5) throw new ChatsyncError("storage", "the disk is full");
        return thread.appendMessage(message);
      };
      return wrapped;
    };
    try {
      await importThreads(failing, [linearConversation, { ...linearConversation, title: "Second" }], { format: "chatgpt" });
      throw new Error("the import resolved");
    } catch (error) {
      assert(error instanceof ChatsyncError, String(error));
      equal(error.code, "storage", "the store's code");
      assert(error.message.includes("the import was undone") && error.message.includes("the disk is full"), error.message);
    }
    equal(appends, 5, "appends tried");
    equal(await store.listThreads({ includeArchived: true }), [], "the first conversation's thread was deleted again");
  } finally {
    await store.close();
  }
});

test("import: values over the store's limits are cut or left out and reported, not refused", async () => {
  const store = await open();
  try {
    const big = "词".repeat(120_000); // 360 KB of UTF-8
    const conversation = {
      uuid: "c-big",
      name: "Big",
      chat_messages: [
        { uuid: "b-1", sender: "human", text: "Read this", attachments: [{ file_name: "book.txt", extracted_content: big }], files: [] },
        {
          uuid: "b-2",
          sender: "assistant",
          text: "",
          content: [
            { type: "tool_use", id: "t1", name: "read", input: { path: "book.txt" } },
            { type: "tool_result", tool_use_id: "t1", content: big },
            { type: "text", text: "Done." },
          ],
        },
      ],
    };
    const result = await store.importThreads([conversation], { format: "claude" });
    equal(result.imported.length, 1, "imported");
    const { view } = await read(store, result.imported[0]!);
    equal(view.messages[0]!.metadata?.attachments, [{ fileName: "book.txt" }], "the attachment without its text");
    const output = view.toolCalls[0]!.output as { omitted?: string };
    assert(output.omitted?.includes("over the store's limit"), JSON.stringify(output));
    const items = result.lost[0]!.items;
    assert(items.some((i) => i.startsWith('the text of attachment "book.txt"')), JSON.stringify(items));
    assert(items.includes("tool results over 200 KB"), JSON.stringify(items));
  } finally {
    await store.close();
  }
});
