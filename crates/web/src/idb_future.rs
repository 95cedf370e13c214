//! IndexedDB's events as futures: the few calls `idb.rs` makes, straight on web-sys.
//!
//! Each wait is a `Promise` resolved by the request's (or transaction's) events, awaited as a
//! `JsFuture`. The code after an `await` then runs in the microtasks that follow the event, while
//! the transaction is still active, so it can issue the next requests in the same transaction (what
//! IndexedDB promise wrappers rely on). Every event resolves the promise, never rejects it: an
//! abandoned wait (an early `?`) leaves no unhandled rejection behind, and the outcome is read from
//! the request or transaction itself.
//!
//! Direct calls rather than `indexed_db_futures`: that crate, with the tokio channels it runs on,
//! was 8.5 KB of the brotli'd wasm for these dozen calls.

use std::cell::Cell;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, IdbDatabase, IdbFactory, IdbKeyRange, IdbObjectStore, IdbOpenDbRequest, IdbRequest,
    IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent,
};

use crate::error::{Result, StoreError};

/// A storage error from anything IndexedDB threw or reported: `"<name>: <message>"` for an
/// `Error` (a `DOMException` such as `QuotaExceededError` is one).
pub(crate) fn storage_error(thrown: &JsValue) -> StoreError {
    let field = |name: &str| {
        Reflect::get(thrown, &name.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    StoreError::Storage(match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        _ => thrown
            .as_string()
            .unwrap_or_else(|| "IndexedDB failed without an error".to_owned()),
    })
}

/// `Result`s of web-sys calls that throw, with the thrown value as a storage error.
pub(crate) trait OrStorage<T> {
    /// The value, or the storage error of what was thrown.
    fn or_storage(self) -> Result<T>;
}

impl<T> OrStorage<T> for std::result::Result<T, JsValue> {
    fn or_storage(self) -> Result<T> {
        self.map_err(|thrown| storage_error(&thrown))
    }
}

/// A promise resolved by the first of the events on `target` whose handler properties
/// (`"onsuccess"`, …) are `handlers`, with the event.
fn first_event(target: &JsValue, handlers: &[&str]) -> Promise {
    Promise::new(&mut |resolve: Function, _reject| {
        for handler in handlers {
            // `on<event>` handler properties: setting one on an IndexedDB object cannot fail.
            let _ = Reflect::set(target, &JsValue::from_str(handler), &resolve);
        }
    })
}

/// A request in flight: awaited with [`Pending::value`].
pub(crate) struct Pending {
    request: IdbRequest,
    settled: Promise,
}

impl Pending {
    fn new(request: IdbRequest) -> Self {
        let settled = first_event(&request, &["onsuccess", "onerror"]);
        Self { request, settled }
    }

    /// The request's result, once it succeeded.
    pub async fn value(self) -> Result<JsValue> {
        let _ = JsFuture::from(self.settled).await;
        match self.request.error() {
            Ok(None) => self.request.result().or_storage(),
            Ok(Some(error)) => Err(storage_error(&error)),
            Err(thrown) => Err(storage_error(&thrown)),
        }
    }

    /// The result as a stored value: `None` for no record (`undefined`) and for `null`.
    pub async fn record(self) -> Result<Option<JsValue>> {
        let value = self.value().await?;
        Ok((!value.is_undefined() && !value.is_null()).then_some(value))
    }

    /// The result of a `getAllKeys` of string keys (the only keys this layout writes).
    pub async fn string_keys(self) -> Result<Vec<String>> {
        Array::from(&self.value().await?)
            .iter()
            .map(|key| {
                key.as_string()
                    .ok_or_else(|| StoreError::Storage("a stored key is not a string".into()))
            })
            .collect()
    }

    /// The result of a `getAll`.
    pub async fn values(self) -> Result<Vec<JsValue>> {
        Ok(Array::from(&self.value().await?).iter().collect())
    }
}

/// A key or a key range, as IndexedDB takes them.
pub(crate) enum Query<'a> {
    /// One key.
    Key(&'a str),
    /// The keys from `start` up to, not including, `end`.
    Range(&'a std::ops::Range<String>),
}

impl Query<'_> {
    fn to_js(&self) -> Result<JsValue> {
        match self {
            Self::Key(key) => Ok(JsValue::from_str(key)),
            Self::Range(range) => IdbKeyRange::bound_with_lower_open_and_upper_open(
                &JsValue::from_str(&range.start),
                &JsValue::from_str(&range.end),
                false,
                true,
            )
            .map(JsValue::from)
            .or_storage(),
        }
    }
}

/// An object store of a transaction: each call issues one request.
pub(crate) struct Store(IdbObjectStore);

impl Store {
    /// The record at `key` (see [`Pending::record`]).
    pub fn get(&self, key: &str) -> Result<Pending> {
        self.0
            .get(&JsValue::from_str(key))
            .or_storage()
            .map(Pending::new)
    }

    /// The keys in `range` (every key without one), in order.
    pub fn keys(&self, range: Option<&std::ops::Range<String>>) -> Result<Pending> {
        match range {
            Some(range) => self.0.get_all_keys_with_key(&Query::Range(range).to_js()?),
            None => self.0.get_all_keys(),
        }
        .or_storage()
        .map(Pending::new)
    }

    /// The values in `range` (every value without one), in key order.
    pub fn values(&self, range: Option<&std::ops::Range<String>>) -> Result<Pending> {
        match range {
            Some(range) => self.0.get_all_with_key(&Query::Range(range).to_js()?),
            None => self.0.get_all(),
        }
        .or_storage()
        .map(Pending::new)
    }

    /// Writes `value` at `key`; the transaction's commit reports the outcome.
    pub fn put(&self, key: &str, value: &JsValue) -> Result<()> {
        self.0
            .put_with_key(value, &JsValue::from_str(key))
            .map(drop)
            .or_storage()
    }

    /// Deletes the record at a key, or every record in a range.
    pub fn delete(&self, query: Query<'_>) -> Result<()> {
        self.0.delete(&query.to_js()?).map(drop).or_storage()
    }
}

/// A transaction. A read-write one must end with [`Tx::commit`]; dropped before, it is aborted,
/// so an error part way through a flush leaves nothing of it stored.
pub(crate) struct Tx {
    tx: IdbTransaction,
    /// Settles with the transaction (read-write transactions only).
    finished: Option<Promise>,
    done: Cell<bool>,
}

impl Tx {
    fn new(tx: IdbTransaction, write: bool) -> Self {
        let finished = write.then(|| first_event(&tx, &["oncomplete", "onabort"]));
        Self {
            tx,
            finished,
            done: Cell::new(!write),
        }
    }

    /// A read-only transaction on `stores`.
    pub fn read(db: &IdbDatabase, stores: &[&str]) -> Result<Self> {
        Self::open(db, stores, IdbTransactionMode::Readonly)
    }

    /// A read-write transaction on `stores`.
    pub fn write(db: &IdbDatabase, stores: &[&str]) -> Result<Self> {
        Self::open(db, stores, IdbTransactionMode::Readwrite)
    }

    fn open(db: &IdbDatabase, stores: &[&str], mode: IdbTransactionMode) -> Result<Self> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let tx = db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .or_storage()?;
        Ok(Self::new(tx, mode == IdbTransactionMode::Readwrite))
    }

    /// One of the transaction's object stores.
    pub fn store(&self, name: &str) -> Result<Store> {
        self.tx.object_store(name).map(Store).or_storage()
    }

    /// Commits, and resolves once every write is stored (or fails with why the transaction aborted).
    pub async fn commit(self) -> Result<()> {
        self.done.set(true);
        // Ending it now rather than when its last request is answered; if it already ended, the
        // event below tells how.
        #[allow(deprecated)]
        // web-sys marks it so for browser support; every current browser has it.
        let _ = self.tx.commit();
        let Some(finished) = &self.finished else {
            return Ok(());
        };
        let event = JsFuture::from(finished.clone()).await.unwrap_or_default();
        let event: &Event = event.unchecked_ref();
        if event.type_() == "complete" {
            return Ok(());
        }
        Err(match self.tx.error() {
            Some(error) => storage_error(&error),
            None => StoreError::Storage("the IndexedDB transaction was aborted".into()),
        })
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if !self.done.get() {
            // Nobody waits for it any more: no handler should run for the abort.
            self.tx.set_oncomplete(None);
            self.tx.set_onerror(None);
            self.tx.set_onabort(None);
            let _ = self.tx.abort();
        }
    }
}

/// Opens the database `name` at `version`; `upgrade(db, tx, old version)` brings an older one (0:
/// none) up to it inside the upgrade transaction, and its error aborts the open.
pub(crate) async fn open<F>(
    name: &str,
    version: u32,
    upgrade: impl FnOnce(IdbDatabase, Tx, u32) -> F,
) -> Result<IdbDatabase>
where
    F: Future<Output = Result<()>>,
{
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| StoreError::Storage("IndexedDB is not available here".into()))?;
    let request: IdbOpenDbRequest = factory.open_with_u32(name, version).or_storage()?;
    let mut upgrade = Some(upgrade);
    loop {
        let settled = first_event(&request, &["onupgradeneeded", "onsuccess", "onerror"]);
        let event = JsFuture::from(settled).await.unwrap_or_default();
        let event: &Event = event.unchecked_ref();
        if event.type_() != "upgradeneeded" {
            break;
        }
        let (Some(upgrade), Some(tx)) = (upgrade.take(), request.transaction()) else {
            continue;
        };
        let old = event.unchecked_ref::<IdbVersionChangeEvent>().old_version() as u32;
        let db: IdbDatabase = request.result().or_storage()?.unchecked_into();
        // The upgrade transaction commits by itself once its requests are answered.
        let tx_js = tx.clone();
        if let Err(e) = upgrade(db, Tx::new(tx, false), old).await {
            let _ = tx_js.abort();
            return Err(e);
        }
    }
    match request.error() {
        Ok(None) => Ok(request.result().or_storage()?.unchecked_into()),
        Ok(Some(error)) => Err(storage_error(&error)),
        Err(thrown) => Err(storage_error(&thrown)),
    }
}
