// The demo's sharing: a dialog that grants another user read or write access to the open
// conversation, revokes it, and makes or revokes a read-only link; and the threads others shared
// with this user, listed with their owner. The demo loads the bare wasm glue (./pkg/chatsync.js),
// so it calls the package's chatsync/share client (./pkg/share/client.js, plain HTTP calls to the
// relay) itself, as `store.shareThread` and the rest do in an app that imports "chatsync".
import { sharing } from "./pkg/share/client.js";

const $ = (selector) => document.querySelector(selector);

/**
 * Wires the share dialog for the user of `token` at `relayUrl`; `threadId()` is the open thread's id.
 * Returns `shared()`, the threads shared with the user (by id: summary with sharedBy and access,
 * the last list the relay gave), and `refresh()`, which asks the relay again and says whether the
 * list changed.
 */
export function setupShare({ relayUrl, token, threadId }) {
  const relay = sharing({ relayUrl, token });
  let shared = new Map();
  const dialog = $("#share-dialog");
  const report = (text, error = false) => {
    const el = $("#share-report");
    el.textContent = text;
    el.classList.toggle("error", error);
  };
  const guarded = (action) => async (event) => {
    event?.preventDefault();
    try {
      await action();
    } catch (error) {
      report(`${error.code ? `${error.code}: ` : ""}${error.message}`, true);
    }
  };

  async function renderGrants() {
    const id = threadId();
    const grants = await relay.listShares(id);
    $("#share-list").replaceChildren(
      ...grants.map((g) => {
        const li = document.createElement("li");
        li.className = "share-grant";
        li.dataset.userId = g.userId;
        li.innerHTML = `<span class="who"></span> <span class="access muted small"></span> <button class="revoke link">Revoke</button>`;
        li.querySelector(".who").textContent = g.userId;
        li.querySelector(".access").textContent = g.access === "write" ? "can edit" : "can read";
        li.querySelector(".revoke").addEventListener("click", guarded(async () => {
          await relay.unshareThread(id, g.userId);
          report(`${g.userId} no longer has access (what they already have stays on their device).`);
          await renderGrants();
        }));
        return li;
      }),
    );
  }

  let link;
  $("#share-thread").addEventListener("click", guarded(async () => {
    const id = threadId();
    if (!id) return;
    report("");
    link = undefined;
    $("#share-link").value = "";
    $("#share-list").replaceChildren();
    dialog.showModal();
    if (shared.has(id)) report(`Shared with you by ${shared.get(id).sharedBy}: only its owner can share it.`);
    else await renderGrants();
  }));
  $("#share-close").addEventListener("click", () => dialog.close());

  $("#share-form").addEventListener("submit", guarded(async () => {
    const user = $("#share-user").value.trim();
    const access = $("#share-access").value;
    await relay.shareThread(threadId(), user, access);
    report(`Shared with ${user} (${access === "write" ? "can edit" : "can read"}).`);
    $("#share-user").value = "";
    await renderGrants();
  }));

  $("#share-make-link").addEventListener("click", guarded(async () => {
    const days = Number($("#share-link-days").value);
    const expiresAt = days > 0 ? Date.now() + days * 86_400_000 : undefined;
    link = await relay.createShareLink(threadId(), expiresAt ? { expiresAt } : {});
    $("#share-link").value = link.token;
    report(`A read-only link${expiresAt ? `, until ${new Date(expiresAt).toLocaleDateString()}` : ""}: whoever has it can read this conversation.`);
  }));
  $("#share-revoke-link").addEventListener("click", guarded(async () => {
    if (!link) return;
    await relay.revokeShareLink(link.linkId);
    $("#share-link").value = "";
    report("The link was revoked: it opens nothing any more.");
    link = undefined;
  }));

  const key = (map) => JSON.stringify([...map.values()].map((s) => [s.id, s.access, s.title]));
  return {
    shared: () => shared,
    async refresh() {
      try {
        const list = await relay.listShared();
        const next = new Map(list.map((s) => [s.id, s]));
        const changed = key(next) !== key(shared);
        shared = next;
        return changed;
      } catch {
        return false; // offline: the last list stands
      }
    },
  };
}
