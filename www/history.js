// The demo's history slider: the open conversation's versions (`thread.history()`, whose module the
// package loads on the first call, in the store's worker), a slider that previews the thread as it
// was at each, a button that restores the version shown (a new edit, which syncs), and undo of this
// device's last edit.
const $ = (selector) => document.querySelector(selector);

/** Wires the history panel to the open thread (`thread()`). */
export function setupHistory({ thread }) {
  let versions = [];
  const slider = $("#history-slider");
  const report = (text, error = false) => {
    const el = $("#history-report");
    el.textContent = text;
    el.classList.toggle("error", error);
  };
  const guarded = (action) => async () => {
    try {
      await action();
    } catch (error) {
      report(`${error.code ? `${error.code}: ` : ""}${error.message}`, true);
    }
  };
  const chosen = () => versions[Number(slider.value)];

  async function preview() {
    const t = thread();
    const version = chosen();
    if (!t || !version) return;
    const at = new Date(version.at).toLocaleTimeString();
    $("#history-summary").textContent = `${Number(slider.value) + 1} / ${versions.length} · ${at} · ${version.summary}`;
    const view = await t.viewAt(version.version);
    $("#history-preview").replaceChildren(
      ...view.messages.map((m) => {
        const li = document.createElement("li");
        li.className = "history-message";
        li.textContent = `${m.role}: ${m.content}`;
        return li;
      }),
    );
  }

  async function show() {
    const t = thread();
    if (!t) return report("Open a conversation to see its history.", true);
    versions = await t.history();
    slider.max = String(versions.length - 1);
    slider.value = String(versions.length - 1);
    $("#history-panel").hidden = false;
    await preview();
  }

  $("#history-open").addEventListener("click", guarded(async () => {
    report("");
    await show();
  }));
  slider.addEventListener("input", guarded(preview));
  $("#history-restore").addEventListener("click", guarded(async () => {
    const version = chosen();
    if (!version) return;
    await thread().restore(version.version);
    report(`Restored: ${version.summary}`);
    await show();
  }));
  $("#history-undo").addEventListener("click", guarded(async () => {
    report((await thread().undo()) ? "Undone." : "Nothing of yours to undo.");
    await show();
  }));
  $("#history-close").addEventListener("click", () => {
    $("#history-panel").hidden = true;
  });
}
