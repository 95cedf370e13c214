// The example's Vite config: React's JSX, and the stand-in model's /api/chat route on the dev server
// and on `vite preview` (a real app has its own server route; see server/stand-in-model.ts).
import { defineConfig, type Plugin } from "vite";
import { chatRoute } from "./server/stand-in-model.js";

const standInModel: Plugin = {
  name: "stand-in-model",
  configureServer: (server) => void server.middlewares.use((req, res, next) => void chatRoute(req, res, next)),
  configurePreviewServer: (server) => void server.middlewares.use((req, res, next) => void chatRoute(req, res, next)),
};

export default defineConfig({
  plugins: [standInModel],
  oxc: { jsx: { runtime: "automatic" } },
});
