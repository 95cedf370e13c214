// chatsync/react: a store for the component tree and hooks that read it (see docs/react.md).
export { ChatStoreProvider, useChatStore, type ChatStoreProviderProps, type OpenStore } from "./provider.js";
export {
  useThread, useThreads, useStoreStatus, usePreferences,
  type ThreadState, type Preferences, type PreferencesState,
} from "./hooks.js";
