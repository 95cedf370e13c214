// A local stand-in for an LLM, clearly labelled as such in the UI: it answers from a script, with
// realistic pacing, and exercises what a real agent writes — a tool call with a duration, a plan
// artifact that updates as the reply streams, an approval request, streamed tokens, usage.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits text into word-sized tokens, keeping the spaces, the way a model streams. */
function tokens(text) {
  return text.match(/\s*\S+/g) ?? [];
}

function replyFor(prompt) {
  const topic = prompt.trim().replace(/\s+/g, " ").slice(0, 60) || "that";
  return {
    plan: [
      `Understand the question about “${topic}”`,
      "Look up what is known",
      "Draft an answer",
      "Check it and reply",
    ],
    text:
      `Here is what I found about “${topic}”. ` +
      "This reply comes from the local stand-in model: it streams word by word, like a real model, " +
      "and every token is written to IndexedDB as it arrives, so closing the tab loses at most a " +
      "quarter of a second of it. Open this thread on another device and you will see the same " +
      "words appear there, merged by the relay without locks.",
  };
}

/**
 * Streams a reply into `thread` after the user message `parentId`. `signal` stops it: the message is
 * then finished as cancelled. Returns the reply's id.
 */
export async function streamReply(thread, parentId, prompt, { signal, pace = 1 } = {}) {
  const reply = thread.appendMessage({
    role: "assistant",
    parentId,
    provider: "stand-in",
    model: "scripted-1",
  });
  return runReply(thread, reply.id, prompt, { signal, pace });
}

/** Streams the reply text into an existing (pending) assistant message. */
export async function runReply(thread, replyId, prompt, { signal, pace = 1 } = {}) {
  const { plan, text } = replyFor(prompt);
  const wait = (ms) => sleep(ms * pace);
  try {
    // A tool call, with its duration recorded.
    const call = thread.startToolCall({ messageId: replyId, toolName: "search", input: { query: prompt.slice(0, 80) } });
    await wait(350);
    thread.finishToolCall(call, { status: "completed", output: { results: 3 } });

    // The plan artifact, updated step by step while the text streams.
    const artifact = thread.upsertArtifact({ kind: "plan", title: "Plan", content: `1. ${plan[0]}`, messageId: replyId });
    let step = 1;
    const words = tokens(text);
    for (let i = 0; i < words.length; i++) {
      if (signal?.aborted) {
        thread.finishMessage(replyId, { status: "cancelled" });
        return replyId;
      }
      thread.appendDelta(replyId, words[i]);
      if (step < plan.length && i === Math.floor((words.length * step) / plan.length)) {
        step += 1;
        const content = plan.slice(0, step).map((s, n) => `${n + 1}. ${s}`).join("\n");
        thread.upsertArtifact({ id: artifact, kind: "plan", title: "Plan", content, messageId: replyId });
      }
      await wait(25 + Math.random() * 35);
    }
    const content = plan.map((s, n) => `${n + 1}. ${s}`).join("\n");
    thread.upsertArtifact({ id: artifact, kind: "plan", title: "Plan", content, status: "final", messageId: replyId });
    thread.finishMessage(replyId, {
      status: "complete",
      usage: { inputTokens: tokens(prompt).length, outputTokens: words.length },
    });
    if (/\b(book|buy|send|deploy|approve)\b/i.test(prompt)) {
      thread.requestApproval({ kind: "action", subject: `Go ahead: ${prompt.slice(0, 80)}?`, messageId: replyId });
    }
  } catch (error) {
    try {
      thread.finishMessage(replyId, { status: "error" });
    } catch {
      // The thread was closed under us; the message shows as interrupted.
    }
    throw error;
  }
  return replyId;
}
