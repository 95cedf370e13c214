// The demo's search box: `store.search` across every thread, offline (the package builds and keeps
// its index in IndexedDB). Results replace the thread list while the box holds a query; choosing one
// opens its thread and scrolls to the message that matched.
const $ = (selector) => document.querySelector(selector);
const DEBOUNCE_MS = 120;

/** Wires the search box to `store`; `openThread(id)` shows a thread. */
export function setupSearch({ store, openThread }) {
  const input = $("#search");
  const results = $("#search-results");
  let timer = 0;
  let asked = 0; // only the latest query's answer is shown

  const showList = (searching) => {
    results.hidden = !searching;
    $("#threads").hidden = searching;
  };

  const run = async () => {
    const query = input.value.trim();
    const ticket = ++asked;
    if (!query) {
      results.replaceChildren();
      showList(false);
      return;
    }
    showList(true);
    results.dataset.state = "searching";
    let found;
    try {
      found = await store.search(query, { limit: 20, includeArchived: true });
    } catch (error) {
      if (ticket !== asked) return;
      results.dataset.state = "error";
      results.replaceChildren(note(`Search failed: ${error.code ? `${error.code}: ` : ""}${error.message}`, "error"));
      return;
    }
    if (ticket !== asked) return;
    results.dataset.state = "done";
    results.replaceChildren(...(found.length ? found.map((r) => item(r)) : [note(`No chat mentions “${query}”.`, "muted")]));
  };

  const item = (result) => {
    const li = document.createElement("li");
    li.className = "search-result";
    li.dataset.threadId = result.threadId;
    if (result.messageId) li.dataset.messageId = result.messageId;
    const button = document.createElement("button");
    button.type = "button";
    const title = Object.assign(document.createElement("span"), { className: "title", textContent: result.title });
    const where = result.kind === "message" ? result.role : result.kind;
    const meta = Object.assign(document.createElement("span"), { className: "meta", textContent: where });
    const snippet = document.createElement("span");
    snippet.className = "snippet";
    snippet.append(...highlighted(result.snippet, result.highlights));
    button.append(title, meta, snippet);
    button.addEventListener("click", async () => {
      await openThread(result.threadId);
      if (result.messageId) reveal(result.messageId);
    });
    li.append(button);
    return li;
  };

  input.addEventListener("input", () => {
    results.dataset.state = "typing"; // what is shown is the previous query's answer
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    input.value = "";
    run();
  });
  // Results follow the threads as they change (a reply streaming in, a device syncing).
  store.subscribe((event) => {
    if (event.type === "threads" && input.value.trim()) {
      clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    }
  });
}

/** `text` as nodes, the `highlights` ranges in <mark> (text nodes only: the snippet is not HTML). */
function highlighted(text, highlights) {
  const nodes = [];
  let at = 0;
  for (const [start, end] of highlights) {
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    nodes.push(Object.assign(document.createElement("mark"), { textContent: text.slice(start, end) }));
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

function note(text, cls) {
  return Object.assign(document.createElement("li"), { className: `search-note ${cls}`, textContent: text });
}

/** Scrolls the open thread to a message and marks it for a moment (it may be on another branch). */
function reveal(messageId) {
  const el = document.querySelector(`.message[data-message-id="${CSS.escape(messageId)}"]`);
  if (!el) return;
  el.scrollIntoView({ block: "center" });
  el.classList.add("found");
  setTimeout(() => el.classList.remove("found"), 2000);
}
