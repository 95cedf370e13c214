// Several relays on one PostgreSQL database, for the browser tests across relays
// (crates/web/tests/browser/relays.rs; scripts/test-relays.sh starts it):
// `node relays-on-postgres.mjs <control port> <relay binary> <database URL> <count>`.
// It starts <count> relays (development auth, free loopback ports), prints `ready <their sync URLs as
// JSON>`, and answers on http://127.0.0.1:<control port> — a browser cannot start or kill a process,
// so a test asks this:
//   GET /start?count=N     N more relays on the same database: {"urls": [...]}
//   GET /kill?url=<url>    `kill -9` of the relay at that sync URL, answered once it is gone
// A test that kills a relay starts its own first, so the shared ones stay up for the others. Every
// relay is killed when this ends: when its stdin closes (the test run ended), or on SIGTERM.
import { spawn } from "node:child_process";
import { createServer } from "node:http";

const [controlPort, relayBin, databaseUrl, count] = process.argv.slice(2);
/** Sync URL → its relay process. */
const relays = new Map();
const STARTUP_MS = 30_000;

/** Starts one relay; resolves to its sync URL once it listens. */
function startRelay() {
  return new Promise((resolve, reject) => {
    const child = spawn(relayBin, ["serve", "--insecure-dev-auth", "--listen", "127.0.0.1:0"], {
      env: { ...process.env, NO_COLOR: "1", CHATSYNC_DATABASE_URL: databaseUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`a relay did not start in ${STARTUP_MS} ms:\n${log}`));
    }, STARTUP_MS);
    const read = (chunk) => {
      if (log.length < 100_000) log += chunk;
      const addr = /relay listening addr=([0-9.:]+)/.exec(log);
      if (addr && !relays.has(`ws://${addr[1]}/sync`)) {
        clearTimeout(timer);
        const url = `ws://${addr[1]}/sync`;
        relays.set(url, child);
        child.on("exit", () => relays.delete(url));
        resolve(url);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`a relay exited (${code}) before it listened:\n${log}`));
    });
  });
}

async function startRelays(n) {
  const urls = [];
  for (let i = 0; i < n; i++) urls.push(await startRelay());
  return urls;
}

/** `kill -9`; resolves once the process is gone (its port closed). */
function kill(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

function stopAll() {
  for (const child of relays.values()) child.kill("SIGKILL");
  process.exit(0);
}

const control = createServer(async (request, response) => {
  const url = new URL(request.url ?? "/", "http://control");
  const answer = (status, body) => {
    // The test page is served from another port: it may read the answer.
    response.writeHead(status, {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
    });
    response.end(JSON.stringify(body));
  };
  try {
    if (url.pathname === "/start") {
      const n = Math.min(Math.max(Number(url.searchParams.get("count") ?? 1) || 1, 1), 5);
      answer(200, { urls: await startRelays(n) });
    } else if (url.pathname === "/kill") {
      const child = relays.get(url.searchParams.get("url") ?? "");
      if (!child) return answer(404, { error: "no relay at that URL" });
      await kill(child);
      answer(200, { killed: true });
    } else {
      answer(404, { error: "GET /start?count=N or /kill?url=<sync URL>" });
    }
  } catch (e) {
    answer(500, { error: String(e) });
  }
});

process.on("SIGTERM", stopAll);
process.stdin.on("end", stopAll);
process.stdin.resume();
control.listen(Number(controlPort), "127.0.0.1", async () => {
  try {
    console.log(`ready ${JSON.stringify(await startRelays(Number(count)))}`);
  } catch (e) {
    console.error(String(e));
    stopAll();
  }
});
