// A WebSocket proxy in front of a relay that closes a client's socket with code 4001 ("token
// expired") a second after it connects when its token starts with "expires-soon:" — what a chatsync
// relay does when a socket's token expires (issue 10, item 12) — and passes every frame through
// otherwise. The browser tests of the store's token refresh run against it (scripts/test-relay.sh
// starts it): `node token-expiry-proxy.mjs <port> <upstream sync URL>`. It runs until its stdin closes.
import { WebSocket, WebSocketServer } from "ws";

const PREFIX = "expires-soon:";
const [port, upstream] = process.argv.slice(2);
const server = new WebSocketServer({ host: "127.0.0.1", port: Number(port) });

server.on("connection", (client, request) => {
  const url = new URL(request.url ?? "/", "http://proxy");
  const token = url.searchParams.get("token") ?? "";
  const expiring = token.startsWith(PREFIX);
  if (expiring) url.searchParams.set("token", token.slice(PREFIX.length));
  const relay = new WebSocket(`${upstream}${url.search}`);
  // Frames the client sends before the relay connection is open wait for it.
  const early = [];
  relay.on("open", () => early.splice(0).forEach((data) => relay.send(data)));
  client.on("message", (data) => {
    if (relay.readyState === WebSocket.OPEN) relay.send(data);
    else early.push(data);
  });
  relay.on("message", (data, binary) => client.send(data, { binary }));
  relay.on("close", () => client.close());
  relay.on("error", () => client.close());
  client.on("close", () => relay.close());
  if (expiring) setTimeout(() => client.close(4001, "token expired"), 1000);
});
server.on("listening", () => console.log("ready"));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
