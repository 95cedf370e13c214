// chatsync/ai-sdk: the AI SDK (ai, @ai-sdk/react) on chatsync threads (see docs/ai-sdk.md).
export { toUIMessages, toUIMessage, fromUIMessage, findMessage, UI_MESSAGE_ID, UI_METADATA, TOOL_APPROVAL_KIND, type ToUIMessagesOptions } from "./messages.js";
export { persistUIMessageStream, type PersistOptions, type PersistResult } from "./persist.js";
export { chatsyncTransport, type ChatsyncTransport, type ChatsyncTransportOptions } from "./transport.js";
export { replayUIMessageStream, type ReplayOptions } from "./replay.js";
