// The app shell offline: the page, its scripts and the chatsync package are served from this cache
// when the relay is unreachable, so a reload still shows every thread from IndexedDB. Network first:
// a reachable relay always serves the current files (and refreshes the cache).
const CACHE = "chatsync-demo-shell";
const SHELL = ["./", "./index.html", "./app.js", "./stand-in-model.js", "./transfer.js", "./share.js", "./styles.css", "./pkg/chatsync.js", "./pkg/chatsync_bg.wasm", "./pkg/share/client.js", "./pkg/errors.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
