// A backend that streams a reply into a user's chatsync thread, with nothing but Node's fetch
// (Node 18 or later). Every device of the user sees the reply arrive live, and it is kept even if
// no tab is open.
//
//   CHATSYNC_URL=http://127.0.0.1:8787 CHATSYNC_TOKEN=<the user's token> node stream-reply.mjs
//
// With THREAD_ID set it answers the last user message of that thread; without, it creates a thread
// with a question first. It prints the finished message as JSON.

const base = process.env.CHATSYNC_URL ?? "http://127.0.0.1:8787";
const token = process.env.CHATSYNC_TOKEN;
if (!token) throw new Error("set CHATSYNC_TOKEN to the user's token");

/** One `/api/mutation` or `/api/query` call; throws with the relay's `code` and `message`. */
async function call(kind, path, args) {
  const response = await fetch(`${base}/api/${kind}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ path, args }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${body.code}: ${body.message}`);
  return body.value;
}

/** Stands in for an LLM: yields a reply to `prompt` a word at a time. */
async function* model(prompt) {
  const reply = `You asked: "${prompt}". A CRDT is a data type that replicas can change independently and always merge without conflicts.`;
  for (const word of reply.split(/(?<= )/)) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    yield word;
  }
}

let threadId = process.env.THREAD_ID;
if (!threadId) {
  threadId = (await call("mutation", "threads:create", { title: "Asked from a backend" })).id;
  await call("mutation", "messages:append", { threadId, role: "user", content: "What is a CRDT?" });
}
// Build the prompt from the thread, as an agent would.
const view = await call("query", "threads:get", { threadId });
const question = view.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";

// The reply goes out as NDJSON while it is generated: a first line naming the message, a line per
// delta, and a last line that finishes it. The relay commits the deltas every 100 ms.
const messageId = `reply-${Date.now()}`;
const encoder = new TextEncoder();
const line = (value) => encoder.encode(`${JSON.stringify(value)}\n`);
const body = new ReadableStream({
  async start(controller) {
    controller.enqueue(line({ threadId, messageId, role: "assistant", model: "example-model" }));
    let words = 0;
    for await (const delta of model(question)) {
      controller.enqueue(line({ delta }));
      words += 1;
    }
    controller.enqueue(line({ finish: { status: "complete", usage: { inputTokens: 5, outputTokens: words } } }));
    controller.close();
  },
});
const response = await fetch(`${base}/api/stream`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" },
  body,
  duplex: "half",
});
const answer = await response.json();
if (!response.ok) throw new Error(`stream: ${response.status} ${answer.code}: ${answer.message}`);
console.log(JSON.stringify({ threadId, message: answer.value }));
