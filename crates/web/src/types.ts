// The types of the chatsync JS API, declared once and shipped in the package's .d.ts. The Rust side
// produces and accepts exactly these shapes (chatsync-model's serde views, camelCase).

export type Role = "user" | "assistant" | "system" | "tool";
/**
 * `interrupted` is how an open (`pending` / `streaming`) message shows once its writer is gone — at
 * once when the writing tab of this browser closed (its Web Lock is free), after 5 s of silence for a
 * stream from another device (or without Web Locks); and for good once a backend's stream into it
 * broke off (the relay stores it so).
 */
export type MessageStatus =
  | "pending" | "streaming" | "complete" | "error" | "cancelled" | "interrupted";
export type ThreadStatus = "active" | "archived" | "deleted";
export type ToolCallStatus = "pending" | "running" | "completed" | "failed";
export type ApprovalStatus = "pending" | "approved" | "rejected";
export type ArtifactStatus = "draft" | "final";
export type TitleSource = "default" | "derived" | "person";
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StoreOptions {
  /** The IndexedDB database; tabs that share it share the store. Default "chatsync". */
  dbName?: string;
  /**
   * The relay's sync URL (ws:// or wss://): one relay, or a load balancer in front of several.
   * Without `relayUrl` or `relayUrls` the store is local-only.
   */
  relayUrl?: string;
  /**
   * Several relays on one database, each at its own sync URL (ws:// or wss://), tried in turn:
   * after a failed connection attempt or a lost connection the store dials the next one (round the
   * list, with the same backoff), so it moves on when a relay dies. With `relayUrl` too, that one
   * comes first. An empty list is no relay.
   */
  relayUrls?: string[];
  /**
   * A token for the relay (a JWT; the user id with a development relay), or a function giving one
   * (or a promise of one). A function is called on every connection attempt, and again when the
   * relay refuses its token or closes the socket because the token expired: a token that expires is
   * replaced without reopening the store. `store.setToken()` replaces it later.
   */
  token?: TokenSource;
}

/** A relay token, or where to get the current one. */
export type TokenSource = string | (() => string | Promise<string>);

export interface ThreadSettings {
  provider?: string;
  model?: string;
  systemPrompt?: string;
  temperature?: number;
  contextWindow?: number;
}

export interface ThreadInit {
  title?: string;
  settings?: ThreadSettings;
  projectId?: string;
}

export interface ListOptions {
  includeArchived?: boolean;
}

export interface ThreadSummary {
  id: string;
  title: string;
  status: ThreadStatus;
  createdAt: number;
  lastActivityAt: number;
  messageCount: number;
  preview: string;
  projectId?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Feedback {
  /** 1 (worst) to 5 (best); thumbs are 1 and 5. */
  rating: number;
  text?: string;
}

export interface Message {
  id: string;
  role: Role;
  content: string;
  status: MessageStatus;
  parentId?: string;
  createdAt: number;
  updatedAt: number;
  provider?: string;
  model?: string;
  usage?: Usage;
  metadata?: { [key: string]: JsonValue };
  feedback?: Feedback;
  /** This message and its alternatives (edits, regenerations), in order. */
  siblings: string[];
  /** This message's place among `siblings`. */
  siblingIndex: number;
}

export interface Artifact {
  id: string;
  kind: string;
  title: string;
  content: string;
  status: ArtifactStatus;
  version: number;
  createdAt: number;
  updatedAt: number;
  messageId?: string;
}

export interface ToolCall {
  id: string;
  messageId: string;
  toolName: string;
  providerCallId?: string;
  input: JsonValue;
  output?: JsonValue;
  status: ToolCallStatus;
  startedAt: number;
  completedAt?: number;
  durationMs?: number;
  error?: string;
}

export interface Approval {
  id: string;
  kind: string;
  subject: string;
  status: ApprovalStatus;
  messageId?: string;
  requestedAt: number;
  decidedBy?: string;
  decidedAt?: number;
  reason?: string;
}

export interface SessionState {
  externalId?: string;
  phase: string;
  plan?: string;
}

export interface ContextEntry {
  type: string;
  key: string;
  value: JsonValue;
  priority: number;
  expiresAt?: number;
}

export interface ThreadView {
  id: string;
  schemaVersion: number;
  readOnly: boolean;
  title: string;
  titleSource: TitleSource;
  status: ThreadStatus;
  projectId?: string;
  createdAt: number;
  updatedAt: number;
  lastMessageAt?: number;
  settings: ThreadSettings;
  messages: Message[];
  artifacts: Artifact[];
  toolCalls: ToolCall[];
  pendingApprovals: Approval[];
  session?: SessionState & { updatedAt: number };
  context: ContextEntry[];
}

export interface NewMessage {
  role: Role;
  content?: string;
  status?: MessageStatus;
  parentId?: string;
  provider?: string;
  model?: string;
  metadata?: { [key: string]: JsonValue };
}

export interface MessageEnd {
  status: "complete" | "error" | "cancelled";
  usage?: Usage;
}

export interface ArtifactUpsert {
  /** Omit to create a new artifact. */
  id?: string;
  kind: string;
  title: string;
  content: string;
  status?: ArtifactStatus;
  messageId?: string;
}

export interface ToolCallStart {
  /** Omit for a generated id. */
  id?: string;
  messageId: string;
  toolName: string;
  providerCallId?: string;
  input?: JsonValue;
  status?: "pending" | "running";
}

export type ToolCallEnd =
  | { status: "completed"; output?: JsonValue }
  | { status: "failed"; error: string };

export interface ApprovalRequest {
  /** Omit for a generated id. */
  id?: string;
  kind: string;
  subject: string;
  messageId?: string;
}

export interface ApprovalDecision {
  approve: boolean;
  decidedBy: string;
  reason?: string;
}

export interface SyncReport {
  /** Threads (and the thread list) whose local heads the relay now holds. */
  documents: number;
  /** When the relay acknowledged them, ms since the epoch. */
  syncedAt: number;
}

/**
 * The relay connection: `local` without a `relayUrl`; `connecting` while an attempt is under way;
 * `online` once joined; `offline` when switched off (`setOnline(false)`, the browser's `offline`) or
 * waiting to retry; `unauthorized` when the relay refused the only token the source gives (until
 * `setToken`, or `setOnline(true)`, tries again).
 */
export type ConnectionState = "local" | "connecting" | "online" | "offline" | "unauthorized";

/**
 * `store.status()`: the same (frozen) object until one of its fields changes, so it can be a
 * `useSyncExternalStore` snapshot as is.
 */
export interface StoreStatus {
  state: ConnectionState;
  /** `state === "online"`. */
  online: boolean;
  /** Documents with changes the relay has not acknowledged yet (0 without a relay). */
  pendingThreads: number;
  lastSyncedAt?: number;
}

export type StoreEvent =
  | { type: "threads"; source: "local" | "remote" }
  | { type: "status"; status: StoreStatus }
  | { type: "error"; code: string; message: string; threadId?: string };

/** What every error thrown by chatsync carries. */
export interface ChatsyncError extends Error {
  code:
    | "not_found" | "invalid_input" | "already_exists" | "invalid_transition"
    | "read_only_schema" | "corrupt_document" | "corrupt" | "storage"
    | "unauthorized" | "offline"
    /** The token function threw, rejected, or gave something other than a string. */
    | "token"
    /** The store was closed (or freed); its threads stop working too. */
    | "closed"
    /** This `Thread` object was closed (or freed); open the thread again to keep using it. */
    | "thread_closed";
}

// wasm-bindgen gives every class a `[Symbol.dispose](): void`, so `using store = …` frees it. TypeScript
// declares `Symbol.dispose` only in its "esnext.disposable" lib, so a project on lib ["ES2023", "DOM"]
// with skipLibCheck off would fail on this file. This is the same declaration as that lib's: the two
// merge into one property, so projects that have the lib too see no conflict.
declare global {
  interface SymbolConstructor {
    /** The method a `using` declaration calls when its block ends. */
    readonly dispose: unique symbol;
  }
}
