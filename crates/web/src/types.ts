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
  /** Omitted: the preferences' `preferredModel` and `defaultSystemPrompt`. */
  settings?: ThreadSettings;
  projectId?: string;
  /**
   * A local-only thread never leaves this device: the relay never receives it. Omitted: local-only
   * when the preferences' `saveConversationHistory` is off.
   */
  localOnly?: boolean;
}

export interface ListOptions {
  includeArchived?: boolean;
  /** Only this project's threads. */
  projectId?: string;
  /** The trash instead: only trashed threads (archived or not), each with its `trashedAt`. */
  trashed?: boolean;
}

export interface ListProjectsOptions {
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
  /** A brief summary for quick reference (`thread.setSummary`). */
  summary?: string;
  /** Input and output tokens of every message, computed from the messages. */
  totalInputTokens: number;
  totalOutputTokens: number;
  /** When it went to the trash (`deleteThread`), ms since the epoch. */
  trashedAt?: number;
  /** Never sent to the relay. */
  localOnly?: boolean;
}

/** The user's preferences (`store.preferences()`), every default filled in; merged per field across devices. */
export interface Preferences {
  /** The model new threads use unless given settings. */
  preferredModel?: string;
  /** The system prompt new threads use unless given settings. */
  defaultSystemPrompt?: string;
  /** How replies should read (tone, length, format), as the app defines. */
  responsePreferences?: { [key: string]: JsonValue };
  /** Default true. */
  enableContextMemory: boolean;
  /** Default 50. */
  maxContextMessages: number;
  /** Default true; when false, new threads are local-only. */
  saveConversationHistory: boolean;
  /** Default false. */
  allowDataTraining: boolean;
  dailyMessageLimit?: number;
  monthlyTokenLimit?: number;
  /** Days a thread stays restorable in the trash before it is purged; default 30. */
  trashRetentionDays: number;
  /** Retention: keep only this many threads, the most recently active. */
  keepNewestThreads?: number;
  /** Retention: keep only threads active in this many last days. */
  keepActiveDays?: number;
}

/** `store.setPreferences()`: the fields to change; `null` puts one back to its default. */
export type PreferencesPatch = { [K in keyof Preferences]?: Preferences[K] | null };

/** The user's profile (`store.profile()`, `store.setProfile()`: `null` clears a field). */
export interface Profile {
  username?: string | null;
  email?: string | null;
  displayName?: string | null;
  avatarUrl?: string | null;
  preferences?: { [key: string]: JsonValue } | null;
}

/** A project's own fields. */
export interface ProjectFields {
  name: string;
  description?: string;
  path?: string;
  type?: string;
  framework?: string;
  language?: string;
  status?: string;
  lastOpened?: number;
  settings?: { [key: string]: JsonValue };
  metadata?: { [key: string]: JsonValue };
}

/** `store.createProject()`: `name` is required. */
export type ProjectInit = ProjectFields & { archived?: boolean };

/** `store.updateProject()`: the fields to change; `null` clears one (not the name). */
export type ProjectPatch = {
  [K in keyof ProjectFields]?: ProjectFields[K] | (K extends "name" ? never : null);
} & { archived?: boolean };

export interface Project extends ProjectFields {
  id: string;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  /** Threads in it, out of the trash (archived ones included). */
  threadCount: number;
  /** The latest activity of those threads. */
  lastActivityAt?: number;
}

/** `store.usage()`: counted from every thread's messages, in local time. */
export interface UsageReport {
  messagesToday: number;
  tokensThisMonth: number;
  dailyMessageLimit?: number;
  monthlyTokenLimit?: number;
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

/** A text or reasoning part's state: `streaming` while its message is open. */
export type PartState = "streaming" | "done";

/** The AI SDK's tool part states, from the thread's tool call and its approval. */
export type ToolPartState =
  | "input-streaming"
  | "input-available"
  | "approval-requested"
  | "approval-responded"
  | "output-available"
  | "output-error"
  | "output-denied";

/** A tool part's approval: `approved` once decided. */
export interface ToolPartApproval {
  id: string;
  approved?: boolean;
  reason?: string;
}

/** A tool call as a message part (`tool-<name>`, or `dynamic-tool` with `toolName`). */
export interface ToolPart {
  type: `tool-${string}` | "dynamic-tool";
  /** With `dynamic-tool`. */
  toolName?: string;
  /** The thread's tool call (`view.toolCalls`). */
  toolCallId: string;
  state: ToolPartState;
  input?: JsonValue;
  output?: JsonValue;
  errorText?: string;
  approval?: ToolPartApproval;
}

/** One of a message's ordered parts, in the AI SDK's `UIMessage` part shapes. */
export type MessagePart =
  | { type: "text"; id?: string; text: string; state: PartState }
  | { type: "reasoning"; id?: string; text: string; state: PartState }
  | ToolPart
  | { type: "file"; mediaType: string; url?: string; reference?: string; filename?: string; size?: number }
  | { type: "source-url"; sourceId: string; url: string; title?: string }
  | { type: "source-document"; sourceId: string; mediaType: string; title: string; filename?: string }
  | { type: `data-${string}`; id?: string; data: JsonValue }
  | { type: "step-start" };

/**
 * A part to add (`appendMessage({ parts })`, `thread.appendPart`). Tool parts come from
 * `startToolCall`. A data part with the type and `id` of one the message has replaces its data.
 */
export type NewPart =
  | { type: "text"; id?: string; text?: string }
  | { type: "reasoning"; id?: string; text?: string }
  | { type: "file"; mediaType: string; url?: string; reference?: string; filename?: string; size?: number }
  | { type: "source-url"; sourceId: string; url: string; title?: string }
  | { type: "source-document"; sourceId: string; mediaType: string; title: string; filename?: string }
  | { type: `data-${string}`; id?: string; data: JsonValue }
  | { type: "step-start" };

export interface Message {
  id: string;
  role: Role;
  /** The text parts joined. */
  content: string;
  /** Ordered parts (a message of an older schema shows its content as one text part). */
  parts: MessagePart[];
  status: MessageStatus;
  /** The AI SDK's finish reason, as `finishMessage` gave it. */
  finishReason?: string;
  /** The error text of a message finished as `error`. */
  error?: string;
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
  /** The tool call it approves (its part shows the approval). */
  toolCallId?: string;
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

/** `thread.setContext()`: one entry per type and key; `priority` defaults to 0. */
export interface ContextEntryInit {
  type: string;
  key: string;
  value: JsonValue;
  priority?: number;
  /** ms since the epoch; the view hides it from then on. */
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
  summary?: string;
  totalInputTokens: number;
  totalOutputTokens: number;
  /** Set by `view()` while the thread is in the trash. */
  trashedAt?: number;
  localOnly?: boolean;
  messages: Message[];
  artifacts: Artifact[];
  toolCalls: ToolCall[];
  pendingApprovals: Approval[];
  session?: SessionState & { updatedAt: number };
  context: ContextEntry[];
}

export interface NewMessage {
  /** The caller's id (e.g. a UIMessage's); a duplicate is `already_exists`. Omit for a fresh one. */
  id?: string;
  role: Role;
  /** Text; a message has `content` or text parts, not both. */
  content?: string;
  parts?: NewPart[];
  status?: MessageStatus;
  parentId?: string;
  provider?: string;
  model?: string;
  metadata?: { [key: string]: JsonValue };
}

export interface MessageEnd {
  status: "complete" | "error" | "cancelled";
  usage?: Usage;
  /** The AI SDK's finish reason (`stop`, `length`, `tool-calls`, …). */
  finishReason?: string;
  /** Why it failed: only with status `error`. */
  error?: string;
}

/** `appendDelta`'s third argument: `part` streams into that text or reasoning part (by its id). */
export interface DeltaOptions {
  part?: string;
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
  /** A tool not known in advance: its part is `dynamic-tool`. */
  dynamic?: boolean;
  /** The input is still streaming: the part is `input-streaming` until `setToolCallInput`. */
  inputStreaming?: boolean;
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
  /** The tool call it approves: its part goes `approval-requested`, then as decided. */
  toolCallId?: string;
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
  /** The preferences changed: set here, or merged from another device or tab. */
  | { type: "preferences"; source: "local" | "remote"; preferences: Preferences }
  | { type: "status"; status: StoreStatus }
  | { type: "error"; code: string; message: string; threadId?: string };

/** What every error thrown by chatsync carries. */
export interface ChatsyncError extends Error {
  code:
    | "not_found" | "invalid_input" | "already_exists" | "invalid_transition"
    | "read_only_schema" | "corrupt_document" | "corrupt" | "storage"
    /** The thread was purged: only its tombstone is left, and it refuses every write. */
    | "purged"
    | "unauthorized" | "offline"
    /** The token function threw, rejected, or gave something other than a string. */
    | "token"
    /** The store was closed (or freed); its threads stop working too. */
    | "closed"
    /** This `Thread` object was closed (or freed); open the thread again to keep using it. */
    | "thread_closed"
    /**
     * The call's `signal` aborted (`store.sync({ signal })`, `store.openThread(id, { signal })`):
     * thrown by the package's JS layer, named "AbortError", `cause` the signal's reason.
     */
    | "aborted";
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
