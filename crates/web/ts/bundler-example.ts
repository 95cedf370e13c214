// The bundler build: no init(), the wasm is imported by the bundler.
import { ChatStore } from "chatsync/bundler";

export async function open(): Promise<ChatStore> {
  return ChatStore.open({ dbName: "chat" });
}
