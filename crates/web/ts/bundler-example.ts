// The bundler entry: no init(), it initialises itself on import.
import { ChatStore } from "chatsync/bundler";

export async function open(): Promise<ChatStore> {
  return ChatStore.open({ dbName: "chat" });
}
