// Sharing over the relay's HTTP API, as plain functions of a relay connection (its URL and token):
// what `store.shareThread` and the rest call (./store.ts), and what an app that loads the bare
// wasm glue (the demo) can call itself. It imports nothing of the wasm.
import { ChatsyncError, type ChatsyncErrorCode } from "../errors.js";

/** What a grantee may do with a shared thread. */
export type ShareAccess = "read" | "write";

/** One grant of a thread (`store.shareThread`, `store.listShares`). */
export interface ThreadShare {
  threadId: string;
  userId: string;
  sharedBy: string;
  access: ShareAccess;
  /** When it was granted, ms since the epoch. */
  sharedAt: number;
}

/** A read-only share link (`store.createShareLink`): a capability token for one thread. */
export interface ShareLink {
  linkId: string;
  threadId: string;
  /**
   * The capability: whoever holds it reads the thread with `POST /api/query` `{ path: "threads:get",
   * args: { threadId } }` and `Authorization: Bearer <token>`, or syncs it read-only over `/sync`
   * (`?token=`), until it expires or is revoked.
   */
  token: string;
  access: "read";
  /** When it stops working, ms since the epoch; absent: until revoked. */
  expiresAt?: number;
}

/** A thread shared with this user, as `threads:listShared` gives it: its summary and the grant. */
export interface SharedSummary {
  id: string;
  title: string;
  status: string;
  lastActivityAt: number;
  sharedBy: string;
  access: ShareAccess;
  [field: string]: unknown;
}

/** A token, or the function giving the current one (as the store's `token` option). */
export type TokenSource = string | (() => string | Promise<string>) | undefined;

/** The sharing calls of one user at one relay. */
export interface Sharing {
  shareThread(id: string, userId: string, access: ShareAccess): Promise<ThreadShare>;
  unshareThread(id: string, userId: string): Promise<void>;
  listShares(id: string): Promise<ThreadShare[]>;
  listShared(): Promise<SharedSummary[]>;
  createShareLink(id: string, options?: { expiresAt?: number | Date }): Promise<ShareLink>;
  revokeShareLink(linkId: string): Promise<void>;
}

/** `ws://host:port/sync` → `http://host:port` (the HTTP API sits beside `/sync`). */
export function httpBase(relayUrl: string | undefined): string | undefined {
  if (!relayUrl) return undefined;
  try {
    const url = new URL(relayUrl);
    url.protocol = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    const path = url.pathname.replace(/\/sync\/?$/, "").replace(/\/$/, "");
    return `${url.origin}${path}`;
  } catch {
    return undefined;
  }
}

const codes: Record<string, ChatsyncErrorCode> = {
  forbidden: "forbidden", not_found: "not_found", invalid_input: "invalid_input",
  unauthorized: "unauthorized", purged: "purged",
};

async function currentToken(token: TokenSource): Promise<string> {
  const value = typeof token === "function" ? await token() : token;
  if (typeof value !== "string") throw new ChatsyncError("token", "the token source gave no token");
  return value;
}

function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || id === "") throw new ChatsyncError("invalid_input", `${what} must be a non-empty string`);
}

/**
 * The sharing calls at the relay of `relayUrl` (its `/sync` URL) as the user of `token` (a function
 * is called for every call, so it may give a fresh token). Without a `relayUrl` every call is
 * `offline`.
 */
export function sharing(relay: { relayUrl?: string; token: TokenSource }): Sharing {
  const base = httpBase(relay.relayUrl);
  async function call(kind: "mutation" | "query", path: string, args: object): Promise<any> {
    if (!base) throw new ChatsyncError("offline", "sharing needs the relay, and this store has no relayUrl");
    const token = await currentToken(relay.token);
    let response: Response;
    try {
      response = await fetch(`${base}/api/${kind}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ path, args }),
      });
    } catch (cause) {
      throw new ChatsyncError("offline", `the relay could not be reached for ${path}`, { cause });
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = codes[body?.code] ?? (response.status >= 500 ? "offline" : "invalid_input");
      throw new ChatsyncError(code, typeof body?.message === "string" ? body.message : `${path} failed (${response.status})`);
    }
    return body.value;
  }
  return {
    async shareThread(id, userId, access) {
      checkId(id, "the thread id");
      checkId(userId, "userId");
      if (access !== "read" && access !== "write") {
        throw new ChatsyncError("invalid_input", `access must be "read" or "write", not ${JSON.stringify(access)}`);
      }
      return call("mutation", "threads:share", { threadId: id, userId, access });
    },
    async unshareThread(id, userId) {
      checkId(id, "the thread id");
      checkId(userId, "userId");
      await call("mutation", "threads:unshare", { threadId: id, userId });
    },
    async listShares(id) {
      checkId(id, "the thread id");
      return call("query", "threads:shares", { threadId: id });
    },
    async listShared() {
      return call("query", "threads:listShared", {});
    },
    async createShareLink(id, options) {
      checkId(id, "the thread id");
      const at = options?.expiresAt;
      const expiresAt = at instanceof Date ? at.getTime() : at;
      if (expiresAt !== undefined && !(typeof expiresAt === "number" && Number.isFinite(expiresAt))) {
        throw new ChatsyncError("invalid_input", "expiresAt must be a Date or a time in ms since the epoch");
      }
      const args = expiresAt === undefined ? { threadId: id } : { threadId: id, expiresAt };
      const link = await call("mutation", "threads:createShareLink", args);
      if (link.expiresAt === null) delete link.expiresAt;
      return link as ShareLink;
    },
    async revokeShareLink(linkId) {
      checkId(linkId, "linkId");
      await call("mutation", "threads:revokeShareLink", { linkId });
    },
  };
}
