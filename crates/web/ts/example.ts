// Uses every method of the chatsync package, so `tsc --noEmit` checks the shipped .d.ts against the
// API the package promises (scripts/test.sh runs it on a fresh build). Not run; type-checked only.
import init, {
  ChatStore,
  type ChatsyncError,
  type Message,
  type ConnectionState,
  type Preferences,
  type Profile,
  type Project,
  type UsageReport,
  type StoreEvent,
  type StoreStatus,
  type SyncReport,
  type SearchOptions,
  type SearchResult,
  type Highlight,
  type ThreadVersion,
  type VersionKind,
  type RestoreOptions,
  type Thread,
  type ThreadSummary,
  type ThreadView,
} from "chatsync";

export async function tour(): Promise<void> {
  await init();
  const store: ChatStore = await ChatStore.open({
    dbName: "chat",
    relayUrl: "ws://127.0.0.1:8787/sync",
    token: "alice",
  });
  const local = await ChatStore.open();
  await local.close();
  const renewing = await ChatStore.open({
    relayUrl: "wss://chat.example/relay/sync",
    token: async () => (await fetch("/token")).text(),
  });
  const failover = await ChatStore.open({
    relayUrls: ["wss://relay-1.chat.example/sync", "wss://relay-2.chat.example/sync"],
    token: "alice",
  });
  await failover.close();
  renewing.setToken(() => "fresh");
  renewing.setToken("fixed");
  renewing.free();
  {
    // `using` needs TypeScript's esnext.disposable lib; under ES2023 the same call is made by hand.
    const disposed = await ChatStore.open({ dbName: "scratch", token: () => "t" });
    const scratch = await disposed.openThread((await disposed.createThread()).id);
    scratch[Symbol.dispose]();
    disposed[Symbol.dispose]();
  }

  const unsubscribe = store.subscribe((event: StoreEvent) => {
    if (event.type === "threads") console.log(event.source);
    if (event.type === "status") console.log(event.status.online, event.status.pendingThreads);
    if (event.type === "preferences") console.log(event.source, event.preferences.preferredModel);
    if (event.type === "error") console.log(event.code, event.message, event.threadId);
  });

  const created: ThreadSummary = await store.createThread({
    title: "Trip",
    settings: { provider: "openai", model: "gpt-4o", temperature: 0.7 },
    projectId: "p1",
  });
  await store.createThread();
  const list: ThreadSummary[] = await store.listThreads({ includeArchived: true });
  const active: ThreadSummary[] = await store.listThreads();
  console.log(list.length, active[0]?.preview, active[0]?.messageCount, active[0]?.lastActivityAt);

  const thread: Thread = await store.openThread(created.id);
  const id: string = thread.id;
  const summary: ThreadSummary = thread.summary();
  const view: ThreadView = thread.view();
  console.log(id, summary.title, view.messages.length, view.titleSource, view.settings.model);

  const question: Message = thread.appendMessage({ role: "user", content: "Where to?" });
  const reply: Message = thread.appendMessage({
    role: "assistant",
    parentId: question.id,
    status: "pending",
    provider: "openai",
    model: "gpt-4o",
    metadata: { requestId: "r1", retries: 0 },
  });
  thread.appendDelta(reply.id, "Lisbon");
  thread.finishMessage(reply.id, { status: "complete", usage: { inputTokens: 10, outputTokens: 3 } });
  const edited: Message = thread.editMessage(question.id, "Where to in May?");
  const again: Message = thread.regenerateMessage(reply.id, "anthropic", "claude");
  thread.finishMessage(again.id, { status: "cancelled" });
  thread.selectBranch(edited.siblings[0] ?? edited.id);
  thread.setTitle("Lisbon trip");
  thread.setSettings({ temperature: 0.2 });
  thread.setFeedback(reply.id, { rating: 5, text: "great" });

  const artifact: string = thread.upsertArtifact({
    kind: "plan",
    title: "Itinerary",
    content: "1. Fly",
    status: "draft",
    messageId: reply.id,
  });
  thread.upsertArtifact({ id: artifact, kind: "plan", title: "Itinerary", content: "1. Fly\n2. Eat", status: "final" });
  const call: string = thread.startToolCall({ messageId: reply.id, toolName: "search", input: { q: "flights" } });
  thread.finishToolCall(call, { status: "completed", output: { results: 3 } });
  const failed: string = thread.startToolCall({ messageId: reply.id, toolName: "book", status: "pending" });
  thread.finishToolCall(failed, { status: "failed", error: "sold out" });
  const approval: string = thread.requestApproval({ kind: "plan", subject: "Book it?", messageId: reply.id });
  thread.decideApproval(approval, { approve: true, decidedBy: "alice", reason: "fine" });
  thread.setSessionState({ externalId: "s1", phase: "planning", plan: "fly, eat" });

  const stop = thread.subscribe((v: ThreadView) => {
    for (const m of v.messages) console.log(m.role, m.content, m.status, m.siblingIndex, m.usage?.outputTokens);
    for (const a of v.artifacts) console.log(a.version, a.content);
    for (const t of v.toolCalls) console.log(t.status, t.durationMs);
    for (const p of v.pendingApprovals) console.log(p.subject);
  });
  stop();
  thread.close();

  const options: SearchOptions = { projectId: "p1", role: "assistant", from: 0, to: Date.now(), includeArchived: true, limit: 5 };
  const results: SearchResult[] = await store.search("paris", options);
  for (const r of results) {
    const [start, end]: Highlight = r.highlights[0] ?? [0, 0];
    console.log(r.threadId, r.messageId, r.artifactId, r.kind, r.title, r.role, r.createdAt, r.snippet.slice(start, end), r.score);
  }

  const versions: ThreadVersion[] = await thread.history();
  for (const v of versions) {
    const kind: VersionKind = v.kind;
    console.log(v.version, v.at, kind, v.summary);
  }
  const then: ThreadView = await thread.viewAt(versions[0]!.version);
  const restoreOptions: RestoreOptions = { messageId: then.messages[0]?.id };
  await thread.restore(versions[0]!.version);
  await thread.restore(versions[0]!.version, restoreOptions);
  const undone: boolean = await thread.undo();
  thread.applyChanges(thread.save());
  console.log(undone);

  thread.setSummary("A trip, planned");
  thread.setSummary(null);
  thread.setContext({ type: "memory", key: "seat", value: "aisle", priority: 2, expiresAt: Date.now() + 60_000 });
  thread.removeContext("memory", "seat");

  const preferences: Preferences = store.preferences();
  console.log(preferences.preferredModel, preferences.maxContextMessages, preferences.trashRetentionDays);
  await store.setPreferences({ preferredModel: "gpt-4o", dailyMessageLimit: null, responsePreferences: { tone: "dry" } });
  const profile: Profile = store.profile();
  await store.setProfile({ displayName: "Alice", avatarUrl: null });
  console.log(profile.displayName);
  const project: Project = await store.createProject({ name: "Trips", language: "en" });
  const renamed: Project = await store.updateProject(project.id, { name: "Holidays", description: null });
  console.log(renamed.threadCount, renamed.lastActivityAt);
  await store.moveThread(created.id, project.id);
  const inProject: ThreadSummary[] = await store.listThreads({ projectId: project.id, includeArchived: true });
  console.log(inProject.map((s) => [s.summary, s.totalInputTokens, s.totalOutputTokens, s.trashedAt]));
  await store.moveThread(created.id, null);
  const projects: Project[] = store.listProjects({ includeArchived: true });
  console.log(projects.length);
  await store.archiveProject(project.id);
  await store.deleteProject(project.id);
  const usage: UsageReport = store.usage();
  console.log(usage.messagesToday, usage.tokensThisMonth, usage.dailyMessageLimit, usage.monthlyTokenLimit);

  await store.archiveThread(created.id);
  await store.unarchiveThread(created.id);
  await store.deleteThread(created.id);
  const trash: ThreadSummary[] = await store.listThreads({ trashed: true });
  console.log(trash.length);
  await store.restoreThread(created.id);
  await store.purgeThread(created.id);
  await store.flush();
  store.setOnline(false);
  store.setOnline(true);
  const status: StoreStatus = store.status();
  const state: ConnectionState = status.state;
  console.log(state, status.online, status.pendingThreads, status.lastSyncedAt, status === store.status());
  try {
    const report: SyncReport = await store.sync();
    console.log(report.documents, report.syncedAt);
  } catch (e) {
    const error = e as ChatsyncError;
    if (error.code === "offline" || error.code === "unauthorized") console.log(error.message);
  }
  unsubscribe();
  await store.close();
}
