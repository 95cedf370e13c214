// A JS automerge-repo peer for the interop tests, driven from Rust.
//
//   node peer.mjs create <ws-url> <json>   creates a document, prints its id, keeps syncing until stdin closes
//   node peer.mjs find <ws-url> <doc-id>   finds a document through the server, prints it as JSON, exits
//   node peer.mjs server <port> <data-dir> runs the reference sync server until stdin closes
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [command, ...args] = process.argv.slice(2)

function exitWhenStdinCloses() {
  process.stdin.resume()
  process.stdin.on("end", () => process.exit(0))
  process.stdin.on("close", () => process.exit(0))
}

function repoFor(url) {
  return new Repo({ network: [new WebSocketClientAdapter(url, 200)], sharePolicy: async () => true })
}

if (command === "create") {
  const [url, json] = args
  const repo = repoFor(url)
  const handle = repo.create(JSON.parse(json))
  console.log(handle.documentId)
  exitWhenStdinCloses()
} else if (command === "find") {
  const [url, id] = args
  const repo = repoFor(url)
  const timer = setTimeout(() => {
    console.error("timed out finding " + id)
    process.exit(2)
  }, 15000)
  try {
    const handle = await repo.find(id)
    console.log(JSON.stringify(handle.doc()))
    clearTimeout(timer)
    process.exit(0)
  } catch (e) {
    console.error("find failed: " + e)
    process.exit(3)
  }
} else if (command === "server") {
  const [port, dir] = args
  process.env.PORT = port
  process.env.DATA_DIR = dir
  const { Server } = await import("@automerge/automerge-repo-sync-server/src/server.js")
  const server = new Server()
  await server.ready()
  // The server's Repo attaches its WebSocket adapter after the HTTP server listens; a peer that
  // connects in between is accepted but never answered. Give it a moment before saying ready.
  await new Promise((resolve) => setTimeout(resolve, 500))
  console.log("ready")
  exitWhenStdinCloses()
} else {
  console.error("usage: peer.mjs create|find|server …")
  process.exit(64)
}
