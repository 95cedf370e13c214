// The demo's export and import: the open conversation as Markdown or JSON, every thread as JSON, and
// an import of a chatsync export or of ChatGPT's or Claude's conversations.json, through the store's
// exportThread, exportAll and importThreads (their module loads on the first call, in the store's
// worker).
const $ = (selector) => document.querySelector(selector);

/**
 * Wires the export and import controls to `store`; `threadId()` is the open thread's id,
 * `renderThreads()` redraws the thread list.
 */
export function setupTransfer({ store, threadId, openThread, renderThreads }) {
  const report = (text, error = false) => {
    const el = $("#transfer-report");
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

  const exportThread = (format) => guarded(async () => {
    const id = threadId();
    if (!id) return report("Open a conversation to export it.", true);
    const data = await store.exportThread(id, { format });
    const title = (await store.listThreads({ includeArchived: true })).find((t) => t.id === id)?.title ?? "conversation";
    const name = title.replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").toLowerCase() || "conversation";
    if (format === "markdown") download(`${name}.md`, data, "text/markdown");
    else download(`${name}.json`, JSON.stringify(data, null, 2), "application/json");
    report(`Exported “${title}”.`);
  });
  $("#export-markdown").addEventListener("click", exportThread("markdown"));
  $("#export-json").addEventListener("click", exportThread("json"));

  $("#export-all").addEventListener("click", guarded(async () => {
    const data = await store.exportAll();
    download(`chatsync-export-${new Date().toISOString().slice(0, 10)}.json`, JSON.stringify(data), "application/json");
    report(`Exported ${data.threads.length} thread${data.threads.length === 1 ? "" : "s"}.`);
  }));

  $("#import-file").addEventListener("change", guarded(async () => {
    const input = $("#import-file");
    const file = input.files?.[0];
    input.value = ""; // the same file again fires `change` again
    if (!file) return;
    report(`Importing ${file.name}…`);
    const result = await store.importThreads(await file.text());
    const lines = [`Imported ${result.imported.length} conversation${result.imported.length === 1 ? "" : "s"} from ${file.name}.`];
    if (result.skipped.length) lines.push(`Skipped ${result.skipped.length}: ${result.skipped.map((s) => s.reason).join("; ")}.`);
    for (const loss of result.lost) lines.push(`“${loss.title ?? loss.sourceId ?? loss.index}”: not carried over: ${loss.items.join(", ")}.`);
    report(lines.join("\n"));
    // Listed now, not at the store's next "threads" event: that event comes a little later, and
    // the imported conversation would open while the list does not show it yet. (A list that
    // cannot be read does not stop the conversation opening: the next event draws it.)
    if (result.imported.length) await renderThreads().catch(() => {});
    if (result.imported[0]) await openThread(result.imported[0]);
  }));
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
