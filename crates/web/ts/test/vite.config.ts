// Builds the adapters' browser tests (this folder) against the chatsync package installed from the
// packed tarball (scripts/test-package.sh installs it into crates/web/ts/node_modules).
import { defineConfig } from "vite";

// A development build: React's `act`, which Testing Library needs, exists only in React's development build.
export default defineConfig({
  root: import.meta.dirname,
  mode: "development",
  define: { "process.env.NODE_ENV": JSON.stringify("development") },
  // "error": the AI SDK's swr bundles "use client" directives, which a test page does not need.
  logLevel: "error",
  build: { outDir: "../../../../target/adapter-tests", emptyOutDir: true, target: "es2022", minify: false },
});
