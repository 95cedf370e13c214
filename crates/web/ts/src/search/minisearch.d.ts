// MiniSearch, shipped inside the package as search/minisearch.js (scripts/build-web.sh copies the
// npm package's ES build there): imported by a relative path, it needs no import map — a worker has
// none, and a page without a bundler then needs none either.
export { default } from "minisearch";
export * from "minisearch";
