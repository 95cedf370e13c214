// The adapters' browser tests: the packed chatsync package, React Testing Library, the ai package.
// With ?role=tab this page is the second tab of worker.test.ts (an iframe), and runs no tests.
import { run } from "./harness.js";
// Testing Library's act() warns unless the page says it is a test environment.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const params = new URLSearchParams(location.search);
// ?worker=none|shared|dedicated (run.mjs with CHATSYNC_TEST_WORKER): every store a test opens
// without a `worker` option runs there (the package's default is "shared"), to run the whole suite
// against the store in the page and in each kind of worker.
const defaultWorker = params.get("worker");
if (defaultWorker) {
  const { ChatStore } = await import("chatsync/bundler");
  const open = ChatStore.open;
  ChatStore.open = (options) => open.call(ChatStore, { worker: defaultWorker as "shared", ...options });
}
if (params.get("role") === "tab") {
  await import("./worker-tab.js");
} else {
  await import("./core.test.js");
  await import("./store.test.js");
  await import("./react.test.js");
  await import("./ai-sdk.test.js");
  await import("./search.test.js");
  await import("./export.test.js");
  await import("./history.test.js");
  await import("./share.test.js");
  await import("./worker.test.js");
  await run(params.get("filter"));
}
