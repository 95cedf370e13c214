// A relay for the worker benchmark's sync measurements: `chatsync-relay serve` on 127.0.0.1 with a
// free port, a fresh data directory and dev auth (a token is its user's id), as test/run.mjs starts
// it. `stop()` ends it and removes the directory.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function startRelay() {
  const bin = process.env.CHATSYNC_RELAY_BIN ?? join(import.meta.dirname, "../../../../../target/debug/chatsync-relay");
  if (!existsSync(bin)) throw new Error(`no relay at ${bin}: build it or set CHATSYNC_RELAY_BIN`);
  const dataDir = mkdtempSync(join(tmpdir(), "chatsync-worker-bench-"));
  const relay = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--insecure-dev-auth"], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = () => {
    relay.kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  const log = [];
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start in 30 s: ${log.join("")}`)), 30_000);
    const read = (data) => {
      log.push(data.toString());
      const found = log.join("").match(/relay listening addr=([0-9.:]+)/);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    };
    relay.stdout.on("data", read);
    relay.stderr.on("data", read);
    relay.on("exit", (code) => reject(new Error(`the relay exited (${code}): ${log.join("")}`)));
  });
  return { url: `ws://${addr}/sync`, stop };
}
