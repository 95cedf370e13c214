// The chatsync demo app: it uses the `chatsync` package exactly as any app would (the built package,
// plain ES modules), against the relay that serves this page.
import init, { ChatStore } from "./pkg/index.js";
import { runReply, streamReply } from "./stand-in-model.js";
import { setupSearch } from "./search.js";
import { setupShare } from "./share.js";
import { setupTransfer } from "./transfer.js";
import { setupHistory } from "./history.js";

const $ = (selector) => document.querySelector(selector);
const SESSION_KEY = "chatsync-demo-session";

const state = {
  store: null,
  user: null,
  threadId: null,
  thread: null, // the Thread object the UI shows
  unsubscribeThread: null,
  streams: new Map(), // reply id -> AbortController, for the stop button
  editing: null, // message id being edited
  sending: false, // a message is being stored: a second Enter does not send it twice
  list: { projectId: null, trash: false }, // which threads the sidebar lists
  share: null, // share.js: the dialog, and the threads others shared with this user
  listDrawn: 0, // renderThreads calls so far: an older call's answer does not draw over a newer one's
  listing: null, // the newest renderThreads call's promise
};

// ---------- sign in ----------

async function api(path, token) {
  const url = token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
  const response = await fetch(url);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message ?? `${path}: HTTP ${response.status}`);
  return body;
}

async function showLogin(message = "") {
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  const mode = await api("/api/auth-mode").catch(() => ({ mode: "unknown" }));
  $("#dev-login").hidden = mode.mode !== "development";
}

async function signIn(token) {
  const me = await api("/api/me", token);
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token, user: me.userId }));
  await start(token, me.userId);
}

$("#dev-login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const user = $("#dev-user").value.trim();
    const { token } = await api(`/api/dev-login?user=${encodeURIComponent(user)}`);
    await signIn(token);
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});

$("#token-login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await signIn($("#token").value.trim());
  } catch (error) {
    $("#login-error").textContent = `That token was refused: ${error.message}`;
  }
});

$("#sign-out").addEventListener("click", async () => {
  localStorage.removeItem(SESSION_KEY);
  await state.store?.close();
  location.reload();
});

// ---------- the store ----------

async function start(token, user) {
  const relayUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sync`;
  state.user = user;
  state.store = await ChatStore.open({ dbName: `chatsync-demo-${user}`, relayUrl, token });
  state.share = setupShare({ relayUrl, token, threadId: () => state.threadId });
  // Threads shared with this user come from the relay: asked now (not waited for: the list shows
  // at once from IndexedDB) and again every few seconds.
  const refreshShared = async () => {
    if (await state.share.refresh()) renderThreads();
  };
  refreshShared();
  setInterval(refreshShared, 3000);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#user-name").textContent = user;
  state.store.subscribe((event) => {
    if (event.type === "threads") renderThreads();
    if (event.type === "preferences") renderSettings();
    if (event.type === "status") renderStatus();
    if (event.type === "error") console.warn("chatsync:", event.code, event.message);
  });
  setInterval(renderStatus, 1000);
  renderStatus();
  renderSettings();
  const threads = await renderThreads();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("thread");
  const first = threads.find((t) => t.id === wanted) ?? threads[0];
  if (first) await openThread(first.id);
  setupTransfer({ store: state.store, threadId: () => state.threadId, openThread, renderThreads });
  setupSearch({ store: state.store, openThread });
  setupHistory({ thread: () => state.thread });
  // Only now: a message sent earlier would race the store's opening and the first thread's.
  for (const control of ["#composer", "#send", "#new-thread"]) $(control).disabled = false;
  $("#composer").focus();
}

function renderStatus() {
  if (!state.store) return;
  const status = state.store.status();
  const offline = $("#offline-toggle").checked || !navigator.onLine;
  const el = $("#sync-status");
  const stateName = offline ? "offline" : status.online ? (status.pendingThreads ? "pending" : "online") : "connecting";
  el.dataset.state = stateName;
  el.dataset.pending = String(status.pendingThreads);
  el.textContent =
    stateName === "online" ? "online · synced" :
    stateName === "pending" ? `online · ${status.pendingThreads} pending` :
    stateName === "offline" ? `offline${status.pendingThreads ? ` · ${status.pendingThreads} pending` : ""}` :
    "connecting…";
}

addEventListener("online", renderStatus);
addEventListener("offline", renderStatus);

$("#offline-toggle").addEventListener("change", (event) => {
  state.store.setOnline(!event.target.checked);
  renderStatus();
});

// ---------- thread list ----------

function timeAgo(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/**
 * Draws the thread list; resolves with the list drawn. Calls overlap (the store's events, the shared
 * list's refresh, an import): only the newest draws, and an older one resolves with its list.
 */
function renderThreads() {
  const drawing = drawThreads(++state.listDrawn);
  state.listing = drawing;
  return drawing;
}

async function drawThreads(call) {
  renderProjects();
  const { projectId, trash } = state.list;
  const threads = await state.store.listThreads(trash ? { trashed: true } : projectId ? { projectId } : {});
  if (call !== state.listDrawn) return state.listing;
  // The threads shared with this user: marked where this device holds them, added where it does not.
  const shared = state.share?.shared() ?? new Map();
  if (!trash && !projectId) {
    const held = new Set(threads.map((t) => t.id));
    for (const s of shared.values()) if (!held.has(s.id) && s.status !== "archived") threads.push(s);
    threads.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
  }
  const list = $("#threads");
  list.replaceChildren(
    ...threads.map((t) => {
      if (trash) return trashedItem(t);
      const li = document.createElement("li");
      li.className = "thread-item" + (t.id === state.threadId ? " active" : "");
      li.dataset.threadId = t.id;
      li.innerHTML = `
        <button class="open">
          <span class="title"></span>
          <span class="meta"><span class="when"></span> · <span class="count"></span></span>
          <span class="preview"></span>
        </button>
        <span class="actions">
          <button class="archive link" title="Archive">Archive</button>
          <button class="delete link" title="Move to the trash on every device">Delete</button>
          <select class="move" aria-label="Move to project"></select>
        </span>`;
      li.querySelector(".title").textContent = t.title;
      li.querySelector(".when").textContent = timeAgo(t.lastActivityAt);
      li.querySelector(".count").textContent = `${t.messageCount} messages`;
      li.querySelector(".preview").textContent = t.preview;
      const share = shared.get(t.id);
      if (share) {
        li.dataset.sharedBy = share.sharedBy;
        li.querySelector(".meta").append(` · shared by ${share.sharedBy}${share.access === "read" ? " (read-only)" : ""}`);
      }
      li.querySelector(".open").addEventListener("click", () => openThread(t.id));
      li.querySelector(".archive").addEventListener("click", async () => {
        await state.store.archiveThread(t.id);
        if (state.threadId === t.id) closeThread();
      });
      li.querySelector(".delete").addEventListener("click", async () => {
        await state.store.deleteThread(t.id);
        if (state.threadId === t.id) closeThread();
      });
      const move = li.querySelector(".move");
      move.replaceChildren(new Option("No project", ""), ...state.store.listProjects().map((p) => new Option(p.name, p.id)));
      move.value = t.projectId ?? "";
      move.addEventListener("change", () => state.store.moveThread(t.id, move.value || null));
      return li;
    }),
  );
  return threads;
}

/** A thread in the trash: restore it, or erase it for good. */
function trashedItem(t) {
  const li = document.createElement("li");
  li.className = "thread-item trashed";
  li.dataset.threadId = t.id;
  li.innerHTML = `
    <div class="open"><span class="title"></span><span class="meta">deleted <span class="when"></span></span></div>
    <span class="actions trash-actions">
      <button class="restore link">Restore</button>
      <button class="purge link" title="Erase on every device">Delete forever</button>
    </span>`;
  li.querySelector(".title").textContent = t.title;
  li.querySelector(".when").textContent = timeAgo(t.trashedAt);
  li.querySelector(".restore").addEventListener("click", () => state.store.restoreThread(t.id));
  li.querySelector(".purge").addEventListener("click", () => state.store.purgeThread(t.id).then(renderThreads));
  return li;
}

// ---------- projects ----------

function renderProjects() {
  const choose = (list) => {
    state.list = list;
    renderThreads();
  };
  const item = (label, list, chosen, extra = {}) => {
    const li = document.createElement("li");
    li.className = chosen ? "chosen" : "";
    Object.assign(li.dataset, extra);
    const b = document.createElement("button");
    b.textContent = label;
    b.addEventListener("click", () => choose(list));
    li.append(b);
    return li;
  };
  const { projectId, trash } = state.list;
  $("#project-list").replaceChildren(
    item("All chats", { projectId: null, trash: false }, !projectId && !trash, { view: "all" }),
    ...state.store.listProjects().map((p) =>
      item(`${p.name} (${p.threadCount})`, { projectId: p.id, trash: false }, projectId === p.id, { projectId: p.id, view: "project" })),
    item("Trash", { projectId: null, trash: true }, trash, { view: "trash" }),
  );
}

$("#new-project").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#project-name").value.trim();
  if (!name) return;
  const project = await state.store.createProject({ name });
  $("#project-name").value = "";
  state.list = { projectId: project.id, trash: false };
  renderThreads();
});

// ---------- settings ----------

const NUMBER_FIELDS = ["maxContextMessages", "dailyMessageLimit", "trashRetentionDays"];
const TEXT_FIELDS = ["preferredModel", "defaultSystemPrompt"];
const FLAG_FIELDS = ["saveConversationHistory", "enableContextMemory"];

function renderSettings() {
  if (!state.store) return;
  const preferences = state.store.preferences();
  const form = $("#settings-form");
  // A field being edited keeps what is typed; the others show the merged preferences.
  for (const name of [...TEXT_FIELDS, ...NUMBER_FIELDS]) {
    if (document.activeElement !== form.elements[name]) form.elements[name].value = preferences[name] ?? "";
  }
  for (const name of FLAG_FIELDS) form.elements[name].checked = preferences[name];
  const usage = state.store.usage();
  $("#usage").textContent = `Today: ${usage.messagesToday}${usage.dailyMessageLimit != null ? ` of ${usage.dailyMessageLimit}` : ""} messages · this month: ${usage.tokensThisMonth} tokens`;
}

$("#settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const patch = {};
  for (const name of TEXT_FIELDS) patch[name] = form.elements[name].value.trim() || null;
  for (const name of NUMBER_FIELDS) patch[name] = form.elements[name].value === "" ? null : Number(form.elements[name].value);
  for (const name of FLAG_FIELDS) patch[name] = form.elements[name].checked;
  try {
    await state.store.setPreferences(patch);
    $("#settings-saved").textContent = "Saved";
  } catch (error) {
    $("#settings-saved").textContent = `Not saved: ${error.message}`;
  }
});

$("#open-settings").addEventListener("click", () => {
  renderSettings();
  $("#settings").hidden = false;
});
$("#close-settings").addEventListener("click", () => ($("#settings").hidden = true));

$("#new-thread").addEventListener("click", async () => {
  const projectId = state.list.projectId ?? undefined;
  const summary = await state.store.createThread(projectId ? { projectId } : undefined);
  await openThread(summary.id);
  $("#composer").focus();
});

$("#open-sidebar").addEventListener("click", () => document.body.classList.add("sidebar-open"));
$("#close-sidebar").addEventListener("click", () => document.body.classList.remove("sidebar-open"));

// ---------- one thread ----------

function closeThread() {
  state.unsubscribeThread?.();
  state.thread?.close();
  state.thread = null;
  state.threadId = null;
  $("#messages").replaceChildren();
  $("#approvals").replaceChildren();
  $("#artifact-panel").hidden = true;
  $("#history-panel").hidden = true;
  $("#thread-title").textContent = "New conversation";
}

async function openThread(id) {
  if (state.threadId === id) return;
  closeThread();
  const thread = await state.store.openThread(id); // one load per switch
  state.thread = thread;
  state.threadId = id;
  history.replaceState(null, "", `#thread=${id}`);
  state.unsubscribeThread = thread.subscribe(renderThread);
  renderThread(thread.view());
  // A thread shared read-only is shown with no composer (the relay refuses its writes anyway).
  const share = state.share?.shared().get(id);
  $("#shared-badge").hidden = !share;
  $("#shared-badge").textContent = share ? `shared by ${share.sharedBy}${share.access === "read" ? " · read-only" : ""}` : "";
  for (const control of ["#composer", "#send"]) $(control).disabled = share?.access === "read";
  document.body.classList.remove("sidebar-open");
  for (const li of document.querySelectorAll(".thread-item")) {
    li.classList.toggle("active", li.dataset.threadId === id);
  }
}

function renderThread(view) {
  $("#thread-title").textContent = view.title;
  const calls = new Map();
  for (const call of view.toolCalls) {
    if (!calls.has(call.messageId)) calls.set(call.messageId, []);
    calls.get(call.messageId).push(call);
  }
  const container = $("#messages");
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  container.replaceChildren(...view.messages.map((m) => renderMessage(m, calls.get(m.id) ?? [])));
  if (atBottom) container.scrollTop = container.scrollHeight;
  // Approvals asked by a reply on another branch wait there.
  const shown = new Set(view.messages.map((m) => m.id));
  renderApprovals(view.pendingApprovals.filter((a) => !a.messageId || shown.has(a.messageId)));
  renderArtifact(view.artifacts);
  const streaming = view.messages.some((m) => state.streams.has(m.id));
  $("#send").textContent = streaming ? "Stop" : "Send";
  $("#send").classList.toggle("stop", streaming);
}

function renderMessage(m, calls) {
  const el = document.createElement("article");
  el.className = `message ${m.role}`;
  el.dataset.messageId = m.id;
  el.dataset.role = m.role;
  el.dataset.status = m.status;
  for (const call of calls) {
    const row = document.createElement("div");
    row.className = `tool-call ${call.status}`;
    row.dataset.toolCall = call.id;
    const took = call.durationMs != null ? ` · ${call.durationMs} ms` : "";
    row.textContent = `⚙ ${call.toolName} — ${call.status}${took}`;
    el.append(row);
  }
  const body = document.createElement("div");
  body.className = "content";
  if (state.editing === m.id) {
    body.innerHTML = `<textarea class="edit-box"></textarea><div class="row"><button class="save primary">Save &amp; submit</button><button class="cancel">Cancel</button></div>`;
    const box = body.querySelector(".edit-box");
    box.value = m.content;
    body.querySelector(".save").addEventListener("click", () => submitEdit(m, box.value));
    body.querySelector(".cancel").addEventListener("click", () => {
      state.editing = null;
      renderThread(state.thread.view());
    });
    queueMicrotask(() => box.focus());
  } else {
    body.textContent = m.content;
  }
  el.append(body);

  const foot = document.createElement("footer");
  foot.className = "message-foot";
  if (m.siblings.length > 1) {
    const nav = document.createElement("span");
    nav.className = "branches";
    nav.innerHTML = `<button class="prev icon" aria-label="Previous version">‹</button><span class="pos"></span><button class="next icon" aria-label="Next version">›</button>`;
    nav.querySelector(".pos").textContent = `${m.siblingIndex + 1} / ${m.siblings.length}`;
    const go = (delta) => {
      const target = m.siblings[m.siblingIndex + delta];
      if (target) state.thread.selectBranch(target);
    };
    nav.querySelector(".prev").disabled = m.siblingIndex === 0;
    nav.querySelector(".next").disabled = m.siblingIndex === m.siblings.length - 1;
    nav.querySelector(".prev").addEventListener("click", () => go(-1));
    nav.querySelector(".next").addEventListener("click", () => go(1));
    foot.append(nav);
  }
  const badge = { streaming: "streaming…", pending: "thinking…", interrupted: "interrupted", cancelled: "stopped", error: "failed" }[m.status];
  if (badge) {
    const b = document.createElement("span");
    b.className = `badge status-${m.status}`;
    b.textContent = badge;
    foot.append(b);
  }
  if (m.role === "user" && m.status === "complete") {
    foot.append(button("Edit", "edit", () => {
      state.editing = m.id;
      renderThread(state.thread.view());
    }));
  }
  if (m.role === "assistant" && !["pending", "streaming"].includes(m.status)) {
    foot.append(button("Regenerate", "regenerate", () => regenerate(m)));
    const up = button("▲ Good", "thumb-up", () => state.thread.setFeedback(m.id, { rating: 5 }));
    const down = button("▼ Bad", "thumb-down", () => state.thread.setFeedback(m.id, { rating: 1 }));
    up.classList.toggle("chosen", m.feedback?.rating === 5);
    down.classList.toggle("chosen", m.feedback?.rating === 1);
    foot.append(up, down);
  }
  if (m.usage) {
    const usage = document.createElement("span");
    usage.className = "muted small";
    usage.textContent = `${m.usage.outputTokens} tokens`;
    foot.append(usage);
  }
  el.append(foot);
  return el;
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.className = `link ${cls}`;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function renderApprovals(approvals) {
  $("#approvals").replaceChildren(
    ...approvals.map((a) => {
      const card = document.createElement("div");
      card.className = "approval";
      card.dataset.approvalId = a.id;
      card.innerHTML = `<p class="subject"></p><div class="row"><button class="approve primary">Approve</button><button class="reject">Reject</button></div>`;
      card.querySelector(".subject").textContent = a.subject;
      const decide = (approve) => state.thread.decideApproval(a.id, { approve, decidedBy: state.user });
      card.querySelector(".approve").addEventListener("click", () => decide(true));
      card.querySelector(".reject").addEventListener("click", () => decide(false));
      return card;
    }),
  );
}

function renderArtifact(artifacts) {
  const latest = [...artifacts].sort((a, b) => b.updatedAt - a.updatedAt)[0];
  $("#artifact-panel").hidden = !latest;
  if (!latest) return;
  $("#artifact-title").textContent = latest.title;
  $("#artifact-meta").textContent = `v${latest.version} · ${latest.status}`;
  $("#artifact-content").textContent = latest.content;
}

// ---------- writing ----------

/** Runs the stand-in model into `replyId` on its own Thread object, so switching threads does not stop it. */
async function stream(threadId, run) {
  const thread = await state.store.openThread(threadId);
  const controller = new AbortController();
  let replyId = null;
  try {
    await run(thread, controller.signal, (id) => {
      replyId = id;
      state.streams.set(id, controller);
      if (state.thread) renderThread(state.thread.view());
    });
  } finally {
    if (replyId) state.streams.delete(replyId);
    thread.close();
    if (state.thread) renderThread(state.thread.view());
  }
}

/** Stores the user's message (in a new thread if none is open) and returns it; throws if it was not stored. */
async function storeQuestion(text) {
  if (!state.thread) {
    const projectId = state.list.projectId ?? undefined;
    const summary = await state.store.createThread(projectId ? { projectId } : undefined);
    await openThread(summary.id);
  }
  return state.thread.appendMessage({ role: "user", content: text });
}

/** Streams the stand-in model's answer to a stored question. */
async function answer(question, text) {
  const threadId = state.threadId;
  await stream(threadId, async (thread, signal, started) => {
    const reply = thread.appendMessage({ role: "assistant", parentId: question.id, provider: "stand-in", model: "scripted-1" });
    started(reply.id);
    await runReply(thread, reply.id, text, { signal });
  });
}

async function submitEdit(m, content) {
  state.editing = null;
  const edited = state.thread.editMessage(m.id, content);
  await stream(state.threadId, async (thread, signal, started) => {
    const reply = thread.appendMessage({ role: "assistant", parentId: edited.id, provider: "stand-in", model: "scripted-1" });
    started(reply.id);
    await runReply(thread, reply.id, content, { signal });
  });
}

async function regenerate(m) {
  const view = state.thread.view();
  const prompt = view.messages.find((x) => x.id === m.parentId)?.content ?? "";
  const fresh = state.thread.regenerateMessage(m.id, "stand-in", "scripted-1");
  await stream(state.threadId, async (thread, signal, started) => {
    started(fresh.id);
    await runReply(thread, fresh.id, prompt, { signal });
  });
}

$("#composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.streams.size > 0 && $("#send").classList.contains("stop")) {
    for (const controller of state.streams.values()) controller.abort();
    return;
  }
  const box = $("#composer");
  const text = box.value.trim();
  if (!text || state.sending) return;
  state.sending = true;
  showComposerError("");
  storeQuestion(text)
    .then((question) => {
      state.sending = false;
      // The text leaves the composer only once the message is stored (and only if it was not edited since).
      if (box.value.trim() === text) {
        box.value = "";
        autosize();
      }
      return answer(question, text);
    }, (error) => {
      state.sending = false;
      // Not stored: the text stays, to send again.
      showComposerError(`Your message was not sent: ${error.message}`);
      throw error;
    })
    .catch((error) => console.error(error));
});

function showComposerError(message) {
  const el = $("#composer-error");
  el.textContent = message;
  el.hidden = !message;
}

$("#composer").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("#composer-form").requestSubmit();
  }
});

function autosize() {
  const box = $("#composer");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}
$("#composer").addEventListener("input", autosize);

// ---------- boot ----------

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((error) => console.warn("no offline shell:", error));
}
await init();
const saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
if (saved?.token) {
  start(saved.token, saved.user).catch((error) => showLogin(`Could not open your store: ${error.message}`));
} else {
  showLogin();
}
// Exposed for the end-to-end tests and for poking around in the console.
window.chatsyncDemo = { state, streamReply };
