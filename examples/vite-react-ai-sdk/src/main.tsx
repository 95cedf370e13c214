// Vite + React + the AI SDK's useChat, with chatsync keeping every conversation: in IndexedDB (the
// history is there offline), synced through a relay to the user's other devices and tabs.
//   ?user=alice               whose threads (the token, with a relay in --insecure-dev-auth mode)
//   ?relay=ws://host/sync     the chatsync relay; without it the store is local only
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ChatStoreProvider } from "chatsync/react";
import { App } from "./App.js";

const params = new URLSearchParams(location.search);
const user = params.get("user") ?? "demo";
const relayUrl = params.get("relay") ?? undefined;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ChatStoreProvider dbName={`chat-${user}`} token={user} {...(relayUrl ? { relayUrl } : {})} fallback={<p>Opening…</p>}>
      <App />
    </ChatStoreProvider>
  </StrictMode>,
);
