// The adapters' browser tests: the packed chatsync package, React Testing Library, the ai package.
import { run } from "./harness.js";
// Testing Library's act() warns unless the page says it is a test environment.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
import "./core.test.js";
import "./react.test.js";
import "./ai-sdk.test.js";
import "./search.test.js";
import "./export.test.js";
import "./share.test.js";

await run(new URLSearchParams(location.search).get("filter"));
