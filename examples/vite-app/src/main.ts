// A user's app as the package README describes it: the bundler entry (no init(), no Vite config), a
// local-only store, one thread, one message, shown on the page.
import { ChatStore, type ChatsyncError, type WorkerMode } from "chatsync/bundler";

const app = document.getElementById("app")!;

async function main(): Promise<void> {
  // ?worker=shared or ?worker=dedicated: the store in a worker (scripts/test-package.sh loads both).
  const worker = new URLSearchParams(location.search).get("worker") as WorkerMode | null;
  const store = await ChatStore.open({ dbName: "vite-example", ...(worker ? { worker } : {}) });
  const { id } = await store.createThread({ title: "Hello" });
  const thread = await store.openThread(id);
  const sent = thread.appendMessage({ role: "user", content: "Hello from a Vite app" });
  const shown = thread.view().messages.find((message) => message.id === sent.id);
  const line = document.createElement("p");
  line.id = "message";
  line.textContent = shown?.content ?? "";
  app.replaceChildren(line);
  thread.close();
  await store.close();
}

main().catch((error: ChatsyncError) => {
  app.textContent = `chatsync failed: ${error.code ?? ""} ${error.message}`;
  throw error;
});
