//! Web Locks for streams. The store instance writing a stream holds an exclusive lock named after it
//! (database, thread, message) until the stream ends, the store closes, or the tab goes away — the
//! browser releases a closed tab's locks. Locks are per origin, so every tab sees every other tab's:
//! a reader that finds a stream's lock free knows its writer is gone, and one that finds it held
//! queues a shared request that is granted the moment the writer lets go.
//!
//! Bound by hand rather than through web-sys, whose `LockManager` is behind `web_sys_unstable_apis`
//! (a `--cfg` for the whole build); only `request` is needed.

use automerge::ActorId;
use chatsync_model::{MessageId, ThreadId};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::Result;
use crate::idb::{Db, Write};
use crate::output::js_object;
use crate::util::{random_bytes, random_hex};

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`.
    type LockManager;

    /// `locks.request(name, options, callback)`: the lock is held until the promise the callback
    /// returns settles.
    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &JsValue,
        callback: &JsValue,
    ) -> Result<Promise, JsValue>;

    /// `Object.is`.
    #[wasm_bindgen(thread_local_v2, js_namespace = Object, js_name = is)]
    static OBJECT_IS: Function;

    /// The `Promise` constructor.
    #[wasm_bindgen(thread_local_v2, js_name = Promise)]
    static PROMISE: JsValue;
}

fn object_is() -> Function {
    OBJECT_IS.with(Function::clone)
}

/// How many leading bytes of an actor id name the device (see [`device_actor`]).
const DEVICE_BYTES: usize = 8;
/// The `meta` key of this device's actor prefix on this database.
const META_DEVICE: &str = "device";

/// A new actor for a store instance: this device's prefix (made once per database and kept in
/// `meta`), then random bytes of its own — one actor per instance, since two tabs writing with one
/// actor would make different changes with the same sequence numbers. The shared prefix tells a
/// reader that a stream was written here, so its lock can speak for it. (Two tabs opening a new
/// database at once may both make a prefix; the one stored last wins, and the other tab's streams are
/// then judged by staleness, as another device's.)
pub(crate) async fn device_actor(db: &Db) -> Result<ActorId> {
    let stored = db.meta(META_DEVICE).await?.and_then(|v| v.as_string());
    let device = match stored.filter(|d| d.len() == DEVICE_BYTES * 2) {
        Some(device) => device,
        None => {
            let device = random_hex(DEVICE_BYTES);
            db.write(vec![Write::Meta {
                key: META_DEVICE,
                value: device.as_str().into(),
            }])
            .await?;
            device
        }
    };
    let mut bytes: Vec<u8> = (0..DEVICE_BYTES)
        .filter_map(|i| u8::from_str_radix(device.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect();
    bytes.extend_from_slice(&random_bytes::<DEVICE_BYTES>());
    Ok(ActorId::from(bytes))
}

/// The stream locks of one store.
pub(crate) struct StreamLocks {
    /// `None` where the browser has no Web Locks (or an insecure page): readers fall back on
    /// staleness.
    manager: Option<LockManager>,
    /// `chatsync:<database>:`.
    prefix: String,
    /// The leading bytes every actor of this device's stores on this database shares.
    device: Vec<u8>,
}

/// A stream lock this instance holds; dropping it releases the lock.
pub(crate) struct HeldLock {
    release: Function,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

impl StreamLocks {
    pub fn new(database: &str, actor: &ActorId) -> Self {
        let manager = Reflect::get(&js_sys::global(), &"navigator".into())
            .and_then(|navigator| Reflect::get(&navigator, &"locks".into()))
            .ok()
            .filter(JsValue::is_object)
            .map(JsCast::unchecked_into);
        let device = actor.to_bytes();
        Self {
            manager,
            prefix: format!("chatsync:{database}:"),
            device: device[..DEVICE_BYTES.min(device.len())].to_vec(),
        }
    }

    /// Whether Web Locks can say anything here.
    pub fn available(&self) -> bool {
        self.manager.is_some()
    }

    /// Whether `author` is a store of this device (on this database): only its streams have locks.
    pub fn is_local(&self, author: &ActorId) -> bool {
        author.to_bytes().starts_with(&self.device)
    }

    fn name(&self, thread: &ThreadId, message: &MessageId) -> String {
        format!("{}{thread}:{message}", self.prefix)
    }

    /// Takes the lock of a stream this instance writes; released when the returned value drops.
    pub fn hold(&self, thread: &ThreadId, message: &MessageId) -> Option<HeldLock> {
        let manager = self.manager.as_ref()?;
        let mut release = None;
        let held = Promise::new(&mut |resolve, _| release = Some(resolve));
        let release = release?;
        // The callback returns `held`: `Promise.resolve` bound to it does, with no Rust closure (and
        // its glue) in the package.
        let promise = PROMISE.with(JsValue::clone);
        let resolve: Function = Reflect::get(&promise, &"resolve".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let callback = resolve.bind1(&promise, &held);
        let options = js_object(&[]);
        // Its promise settles once the lock is released; nothing waits for that.
        let _released = manager
            .request(&self.name(thread, message), &options, callback.as_ref())
            .ok()?;
        Some(HeldLock { release })
    }

    /// Whether another store instance holds the stream's lock now; `None` without Web Locks.
    pub async fn is_held(&self, thread: &ThreadId, message: &MessageId) -> Option<bool> {
        let manager = self.manager.as_ref()?;
        let options = js_object(&[("mode", "shared".into()), ("ifAvailable", true.into())]);
        // Called at once, with `null` when the lock is taken; a shared grant is let go straight away.
        // `Object.is(null, lock)`, bound: true when the lock is taken.
        let callback = object_is().bind1(&JsValue::NULL, &JsValue::NULL);
        let request = manager
            .request(&self.name(thread, message), &options, callback.as_ref())
            .ok()?;
        JsFuture::from(request).await.ok()?.as_bool()
    }

    /// Resolves once nobody holds the stream's lock (its writer finished, closed or went away).
    pub async fn released(&self, thread: &ThreadId, message: &MessageId) {
        let Some(manager) = &self.manager else {
            return;
        };
        let options = js_object(&[("mode", "shared".into())]);
        // Any function will do: the grant is let go as soon as it returns.
        let callback = object_is().bind1(&JsValue::NULL, &JsValue::NULL);
        if let Ok(request) =
            manager.request(&self.name(thread, message), &options, callback.as_ref())
        {
            let _ = JsFuture::from(request).await;
        }
    }
}
