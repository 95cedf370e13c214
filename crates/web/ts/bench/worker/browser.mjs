// The worker benchmark's browser: both pages built with Vite and served with `vite preview`,
// Debian's headless chromium (playwright-core), and how a driver calls the targets page
// (`window.bench`, worker/page/main.ts).
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const root = `${import.meta.dirname}/..`;

export async function startBrowser() {
  const config = {
    root,
    configFile: false,
    logLevel: "error",
    build: {
      outDir: `${root}/../../../../target/worker-bench`, emptyOutDir: true, target: "es2022",
      rollupOptions: { input: [`${root}/worker.html`, `${root}/worker-targets.html`] },
    },
  };
  await build(config);
  const server = await preview({ ...config, preview: { host: "127.0.0.1", port: 0 } });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const close = async () => {
    await browser.close();
    await new Promise((resolve) => server.httpServer.close(resolve));
  };
  return { browser, base: server.resolvedUrls.local[0], close };
}

/** A new page of the targets page in `context`, once `window.bench` is there. */
export async function targetsPage(context, base) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`uncaught: ${e.message}`));
  page.on("console", (m) => ["error", "warning"].includes(m.type()) && console.log(`console.${m.type()}: ${m.text()}`));
  await page.goto(`${base}worker-targets.html`);
  await page.waitForFunction(() => window.bench, null, { polling: 100 });
  return page;
}

/** Calls `window.bench[name](arg)` in the page; resolves with its (JSON) result. */
export function call(page, name, arg) {
  return page.evaluate(([name, arg]) => window.bench[name](arg), [name, arg]);
}

/** A fresh id as the store makes them (16 random bytes in hex). */
export const randomId = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
