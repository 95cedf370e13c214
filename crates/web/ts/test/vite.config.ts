// Builds the adapters' browser tests (this folder) against the chatsync package installed from the
// packed tarball (scripts/test-package.sh installs it into crates/web/ts/node_modules).
import { defineConfig } from "vite";

// The page is served under a strict Content-Security-Policy (the one the package's README documents),
// the worker script too: the store must work under it, in the page and in its workers.
const csp = [
  "default-src 'self'",
  // The wasm is compiled from its bytes: 'wasm-unsafe-eval' (no 'unsafe-eval', no inline script).
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  // The relay run.mjs starts (any port on 127.0.0.1): its sync socket and its HTTP API.
  "connect-src 'self' ws://127.0.0.1:* http://127.0.0.1:*",
  "style-src 'self' 'unsafe-inline'",
].join("; ");

// A development build: React's `act`, which Testing Library needs, exists only in React's development build.
export default defineConfig({
  preview: { headers: { "Content-Security-Policy": csp } },
  root: import.meta.dirname,
  mode: "development",
  define: { "process.env.NODE_ENV": JSON.stringify("development") },
  // "error": the AI SDK's swr bundles "use client" directives, which a test page does not need.
  logLevel: "error",
  build: { outDir: "../../../../target/adapter-tests", emptyOutDir: true, target: "es2022", minify: false },
});
