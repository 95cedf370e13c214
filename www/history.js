// The demo's history: a slider over the open thread's versions (`thread.history()`), the thread shown
// as it was at the chosen one (`thread.viewAt`), a button that brings that version back as a new
// change (`thread.restore`, so other devices converge), and undo of this device's last edit.
const $ = (selector) => document.querySelector(selector);

/**
 * Wires the history panel. `thread()` is the open Thread (or null); `show(view)` renders a view in
 * the messages pane; `setPast(view | null)` freezes the pane on a past view (live updates wait) or
 * thaws it back to the thread's current view.
 */
export function setupHistory({ thread, show, setPast }) {
  const panel = $("#history-panel");
  const slider = $("#history-slider");
  const label = $("#history-label");
  let versions = [];
  let asked = 0;

  const report = (text, error = false) => {
    label.textContent = text;
    label.classList.toggle("error", error);
  };
  const failed = (error) => report(`${error.code ? `${error.code}: ` : ""}${error.message}`, true);
  const latest = () => Number(slider.value) === versions.length - 1;

  const describe = (v) => `${v.summary} · ${new Date(v.at).toLocaleString()}`;

  const load = async () => {
    const open = thread();
    if (!open) return;
    versions = await open.history();
    slider.max = String(Math.max(versions.length - 1, 0));
    slider.value = slider.max;
    slider.disabled = versions.length < 2;
    panel.dataset.versions = String(versions.length);
    $("#history-restore").disabled = true;
    setPast(null);
    report(versions.length ? `Now: ${describe(versions.at(-1))}` : "No edits yet.");
  };

  const pick = async () => {
    const open = thread();
    const version = versions[Number(slider.value)];
    if (!open || !version) return;
    const ticket = ++asked;
    $("#history-restore").disabled = latest();
    if (latest()) {
      setPast(null);
      report(`Now: ${describe(version)}`);
      return;
    }
    try {
      const view = await open.viewAt(version.version);
      if (ticket !== asked) return;
      setPast(view);
      show(view);
      report(`Version ${Number(slider.value) + 1} of ${versions.length}: ${describe(version)}`);
    } catch (error) {
      failed(error);
    }
  };

  $("#open-history").addEventListener("click", async () => {
    if (!thread()) return;
    panel.hidden = !panel.hidden;
    if (panel.hidden) setPast(null);
    else await load().catch(failed);
  });
  $("#close-history").addEventListener("click", () => {
    panel.hidden = true;
    setPast(null);
  });
  slider.addEventListener("input", pick);
  $("#history-restore").addEventListener("click", async () => {
    const open = thread();
    const version = versions[Number(slider.value)];
    if (!open || !version) return;
    try {
      await open.restore(version.version);
      await load();
      report(`Restored: ${describe(version)}`);
    } catch (error) {
      failed(error);
    }
  });
  $("#undo").addEventListener("click", async () => {
    const open = thread();
    if (!open) return;
    try {
      await open.undo();
      if (!panel.hidden) await load();
    } catch (error) {
      if (panel.hidden) alert(`Nothing undone: ${error.message}`);
      else failed(error);
    }
  });

  return {
    /** The open thread changed (switched, or edited while the panel is open): re-read its history. */
    refresh() {
      if (!panel.hidden && latest()) load().catch(failed);
    },
    /** Another thread was opened: the panel starts over. */
    reset() {
      asked++;
      setPast(null);
      if (!panel.hidden) load().catch(failed);
    },
  };
}
