//! Where the relay token comes from: a string, or the app's function returning one (or a promise of
//! one), asked on every connection attempt, so a token that expires is replaced without reopening the
//! store. `store.setToken()` swaps the source.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Result, StoreError};

/// `StoreOptions.token` or `setToken`'s argument.
#[derive(Clone, Debug, Default)]
pub(crate) enum TokenSource {
    /// No token (a relay without auth).
    #[default]
    None,
    /// The same token every time.
    Fixed(String),
    /// The app's `() => string | Promise<string>`.
    Function(Function),
}

impl TokenSource {
    /// Reads a string, a function, or nothing (`undefined` or `null`).
    pub fn from_js(value: Option<JsValue>) -> Result<Self> {
        let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
            return Ok(Self::None);
        };
        if let Some(token) = value.as_string() {
            return Ok(Self::Fixed(token));
        }
        value
            .dyn_into::<Function>()
            .map(Self::Function)
            .map_err(|_| {
                StoreError::InvalidInput(
                    "`token` must be a string or a function returning one (or a promise of one)"
                        .into(),
                )
            })
    }

    /// The token to connect with now: a function is called (and its promise awaited) each time.
    async fn get(&self) -> Result<Option<String>> {
        let function = match self {
            Self::None => return Ok(None),
            Self::Fixed(token) => return Ok(Some(token.clone())),
            Self::Function(function) => function,
        };
        let given = function.call0(&JsValue::UNDEFINED).map_err(failed)?;
        // `Promise.resolve` takes a plain value and any thenable alike.
        let token = JsFuture::from(Promise::resolve(&given))
            .await
            .map_err(failed)?;
        token
            .as_string()
            .map(Some)
            .ok_or_else(|| StoreError::Token(format!("it gave {token:?}, not a string")))
    }
}

/// A store's token source, shared by its connection loop and `setToken`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tokens(Rc<RefCell<TokenSource>>);

impl Tokens {
    pub fn new(source: TokenSource) -> Self {
        Self(Rc::new(RefCell::new(source)))
    }

    pub fn set(&self, source: TokenSource) {
        self.0.replace(source);
    }

    /// The current token (see [`TokenSource::get`]).
    pub async fn get(&self) -> Result<Option<String>> {
        // A clone, so `setToken` may run while a function's promise is pending.
        let source = self.0.borrow().clone();
        source.get().await
    }
}

/// A token function that threw or rejected.
fn failed(thrown: JsValue) -> StoreError {
    let message = thrown
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{thrown:?}"));
    StoreError::Token(message)
}
