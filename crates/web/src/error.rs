//! [`StoreError`]: every way a store call can fail, and how it reaches JavaScript — as a real `Error`
//! with a stable `code` property, never a bare string.

use chatsync_model::ModelError;
use wasm_bindgen::JsValue;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The model refused the write or read (bad input, unknown id, read-only schema, …).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// No thread with this id, locally or on the relay.
    #[error("thread {0:?} not found")]
    NotFound(String),
    /// An argument from JavaScript has the wrong shape.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// IndexedDB failed (quota, a blocked upgrade, the browser refusing storage).
    #[error("storage: {0}")]
    Storage(String),
    /// The stored bytes of a thread do not load. Other threads are unaffected; the thread is
    /// re-fetched from the relay when one is reachable.
    #[error("thread {id:?} is corrupt in local storage: {reason}")]
    Corrupt {
        /// The thread.
        id: String,
        /// What failed to load.
        reason: String,
    },
    /// The relay refused the token.
    #[error("the relay refused the token")]
    Unauthorized,
    /// The relay could not be reached, or the wait ran out.
    #[error("offline: {0}")]
    Offline(String),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// This `Thread` object was closed (or freed); the store and the thread's other objects are
    /// unaffected.
    #[error("this thread was closed")]
    ThreadClosed,
    /// The app's token function threw, rejected, or gave something other than a string.
    #[error("the token function failed: {0}")]
    Token(String),
}

impl StoreError {
    /// The stable code JavaScript sees as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Model(e) => e.code(),
            Self::NotFound(_) => "not_found",
            Self::InvalidInput(_) => "invalid_input",
            Self::Storage(_) => "storage",
            Self::Corrupt { .. } => "corrupt",
            Self::Unauthorized => "unauthorized",
            Self::Offline(_) => "offline",
            Self::Closed => "closed",
            Self::ThreadClosed => "thread_closed",
            Self::Token(_) => "token",
        }
    }
}

impl From<StoreError> for JsValue {
    fn from(e: StoreError) -> Self {
        let error = js_sys::Error::new(&e.to_string());
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
        error.into()
    }
}

/// Results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
