//! `ChatStore`, the package's entry point: opens a store, lists, creates and opens threads.

use std::pin::Pin;
use std::rc::Rc;

use chatsync_model::{
    Limits, ListOptions, ModelError, ProjectId, ThreadId, ThreadInit, ThreadStatus,
};
use chatsync_protocol::DocumentId;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::error::{Result, StoreError};
use crate::handle::ThreadHandle;
use crate::idb::Db;
use crate::inner::{Opened, RelayConfig, StoreInner};
use crate::input::{self, StoreOptions};
use crate::output::{js_object, number, to_js};
use crate::sync::Kick;
use crate::thread::Thread;
use crate::util::{now_ms, random_bytes};

const DEFAULT_DB_NAME: &str = "chatsync";

/// A local-first store of chat threads: IndexedDB in this browser, synced through a relay when one is
/// configured and reachable.
///
/// `free()`, `[Symbol.dispose]()` and garbage collection flush and close it as `close()` does (once
/// no `Thread` object of it is open).
#[wasm_bindgen]
pub struct ChatStore {
    pub(crate) inner: Rc<StoreInner>,
}

#[wasm_bindgen]
impl ChatStore {
    /// Opens (creating or upgrading) the store's database. Without `relayUrl` the store is local-only.
    #[wasm_bindgen(unchecked_return_type = "Promise<ChatStore>")]
    pub fn open(
        #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions")] options: Option<JsValue>,
    ) -> Promise {
        promise(async move {
            let options = StoreOptions::from_js(&options.unwrap_or(JsValue::UNDEFINED))?;
            let store = Self::open_with(options).await?;
            Ok(JsValue::from(store))
        })
    }

    /// The thread list, from the index alone: latest activity first; archived threads with
    /// `includeArchived`, one project's with `projectId`, the trash (alone) with `trashed`.
    #[wasm_bindgen(js_name = listThreads, unchecked_return_type = "Promise<ThreadSummary[]>")]
    pub fn list_threads(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListOptions")] options: Option<JsValue>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.ensure_open()?;
            let options: input::ThreadList =
                input::from_js_or_default(&options.unwrap_or(JsValue::UNDEFINED))?;
            let list = inner.list_threads(ListOptions {
                include_archived: options.list.include_archived,
                project_id: options.project_id.map(ProjectId::new).transpose()?,
                trashed: options.trashed,
            });
            to_js(&list)
        })
    }

    /// Creates a thread; it is in the list (and stored) once this resolves. Without `settings` it
    /// takes the preferences' `preferredModel` and `defaultSystemPrompt`; without `localOnly`, it is
    /// local-only (never sent to the relay) when `saveConversationHistory` is off.
    #[wasm_bindgen(js_name = createThread, unchecked_return_type = "Promise<ThreadSummary>")]
    pub fn create_thread(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ThreadInit")] init: Option<JsValue>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.ensure_open()?;
            let input::NewThread {
                init,
                settings,
                local_only,
            } = input::from_js_or_default(&init.unwrap_or(JsValue::UNDEFINED))?;
            let id = ThreadId::new(DocumentId::new_v4(random_bytes()).to_string())?;
            let (preferences, project_known) = inner.read_index(|index| {
                let known = init
                    .project_id
                    .as_deref()
                    .is_none_or(|p| ProjectId::new(p).is_ok_and(|p| index.has_project(&p)));
                (index.preferences(), known)
            });
            if !project_known {
                return Err(ModelError::NotFound {
                    kind: "project",
                    id: init.project_id.unwrap_or_default(),
                }
                .into());
            }
            let thread = chatsync_model::Thread::create(
                ThreadInit {
                    id: id.clone(),
                    actor: inner.actor().clone(),
                    now_ms: now_ms(),
                    title: init.title,
                    settings: preferences.new_thread_settings(settings.as_ref()),
                    project_id: init.project_id,
                    local_only: preferences.new_thread_local_only(local_only),
                },
                Limits::default(),
            )?;
            let handle = Rc::new(ThreadHandle::created(thread, inner.actor().clone()));
            handle.changed();
            inner.insert_thread(handle);
            inner.flush().await?;
            let summary = inner.summary(&id);
            to_js(&summary)
        })
    }

    /// Adds a copy of a thread from its Automerge bytes (`thread.save()`), under a new id: its
    /// messages on every branch, artifacts and the rest, with their history. Bytes that are not a
    /// chatsync thread (or are a newer chatsync's, or a deleted thread) are refused (`invalid_input`).
    /// Returns the new thread's id; it is stored, and listed, with the next flush (`await
    /// store.flush()` waits for it). `id` is the new thread's id when the caller makes it (the
    /// worker's page proxy answers at once with one the worker made ahead); one the store knows
    /// is `already_exists`.
    #[wasm_bindgen(js_name = loadThread, unchecked_return_type = "string")]
    pub fn load_thread(&self, bytes: &[u8], id: Option<String>) -> Result<JsValue> {
        let inner = &self.inner;
        inner.ensure_open()?;
        let id = id.unwrap_or_else(|| DocumentId::new_v4(random_bytes()).to_string());
        let id = ThreadId::new(id).map_err(StoreError::from)?;
        if inner.thread(&id).is_some() || inner.index_knows(&id) {
            return Err(StoreError::from(
                chatsync_model::ModelError::AlreadyExists {
                    kind: "thread",
                    id: id.to_string(),
                },
            ));
        }
        let actor = inner.actor().clone();
        let thread = chatsync_model::Thread::load(id.clone(), bytes, actor, Limits::default())
            .ok()
            .filter(|thread| {
                let summary = thread.summary(chatsync_model::ReadAt::new(0));
                !thread.read_only()
                    && summary.created_at != 0
                    && summary.status != ThreadStatus::Deleted
            })
            .ok_or_else(|| {
                StoreError::InvalidInput(
                    "these bytes are not a chatsync thread's Automerge document (or are a \
                     newer chatsync's, or a deleted thread)"
                        .into(),
                )
            })?;
        let handle = Rc::new(ThreadHandle::created(thread, inner.actor().clone()));
        // A loaded document counts its bytes as stored: the first flush must write them all.
        handle.persisted.borrow_mut().write_failed();
        handle.changed();
        inner.insert_thread(handle);
        inner.send_soon();
        inner.schedule_flush();
        Ok(JsValue::from_str(id.as_str()))
    }

    /// Opens a thread: one read of storage, and its first view at once when the stored view is current.
    #[wasm_bindgen(js_name = openThread, unchecked_return_type = "Promise<Thread>")]
    pub fn open_thread(&self, id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let handle = open_listed(&inner, &id).await?;
            crate::streams::settle(&inner, &handle).await;
            Ok(JsValue::from(Thread::new(handle, inner)))
        })
    }

    /// Archives a thread: it leaves the default list but is kept.
    #[wasm_bindgen(js_name = archiveThread, unchecked_return_type = "Promise<void>")]
    pub fn archive_thread(&self, id: String) -> Promise {
        self.set_status(id, ThreadStatus::Archived)
    }

    /// Moves a thread to the trash, on every device: it leaves every list but
    /// `listThreads({ trashed: true })`, and `restoreThread` brings it back until the preferences'
    /// `trashRetentionDays` (default 30) have passed; then it is purged. Deleting a purged thread
    /// again is done already.
    #[wasm_bindgen(js_name = deleteThread, unchecked_return_type = "Promise<void>")]
    pub fn delete_thread(&self, id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.ensure_open()?;
            if deleted_in_index(&inner, &id) {
                return Ok(JsValue::UNDEFINED);
            }
            let thread = ThreadId::new(id.as_str()).map_err(|_| StoreError::NotFound(id))?;
            inner.write_index(|index, now| index.trash(&thread, now))?;
            inner.flush().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Takes an archived thread back into the default list.
    #[wasm_bindgen(js_name = unarchiveThread, unchecked_return_type = "Promise<void>")]
    pub fn unarchive_thread(&self, id: String) -> Promise {
        self.set_status(id, ThreadStatus::Active)
    }

    /// Resolves once every write made so far is in IndexedDB.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn flush(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.ensure_open()?;
            inner.flush().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Resolves once the relay has acknowledged every local change (after flushing them); rejects with
    /// `offline` when the relay is not reachable or does not answer in 15 s.
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncReport>")]
    pub fn sync(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.ensure_open()?;
            let documents = inner.wait_synced().await?;
            Ok(js_object(&[
                ("documents", number(documents as u64)),
                ("syncedAt", number(now_ms())),
            ]))
        })
    }

    /// Whether the relay is connected, how many documents have changes it has not acknowledged, and
    /// when it last acknowledged everything.
    #[wasm_bindgen(unchecked_return_type = "StoreStatus")]
    pub fn status(&self) -> Result<JsValue> {
        Ok(self.inner.status_js())
    }

    /// The app's offline switch: `false` disconnects from the relay and stays offline until `true`.
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&self, online: bool) {
        self.inner.kick(Kick::Online(online));
    }

    /// Replaces the relay token (a string, or a function returning one or a promise of one, called on
    /// every connection attempt) and reconnects with it now; this is also the way out of
    /// `unauthorized`. A store without `relayUrl` has no use for it and ignores it.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | (() => string | Promise<string>)")]
        token: JsValue,
    ) -> Result<()> {
        self.inner.ensure_open()?;
        let source = crate::token::TokenSource::from_js(Some(token))?;
        if let Some(relay) = self.inner.relay() {
            relay.tokens.set(source);
            self.inner.kick(Kick::Reconnect);
        }
        Ok(())
    }

    /// Calls `callback` when the thread list changes, here or on another device or tab. Returns the
    /// function that unsubscribes (calling it again does nothing).
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: StoreEvent) => void")] callback: Function,
    ) -> Function {
        crate::callbacks::subscribe(&self.inner, |inner| inner.listeners(), callback).1
    }

    /// Flushes everything and closes the database. Threads of this store stop working.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.close().await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The JS object was freed: the store flushes and closes (see [`StoreInner::abandon`]).
impl Drop for ChatStore {
    fn drop(&mut self) {
        self.inner.abandon();
    }
}

impl ChatStore {
    async fn open_with(options: StoreOptions) -> Result<Self> {
        let name = options
            .db_name
            .unwrap_or_else(|| DEFAULT_DB_NAME.to_owned());
        let relay = RelayConfig::new(options.relay_urls, options.token)?;
        let relay_index = match &relay {
            Some(relay) => crate::me::index_id_for(relay).await?,
            None => None,
        };
        let db = Db::open(&name).await?;
        let (index, not_threads) = crate::open_index::open_index(&db, relay_index).await?;
        let (kicks, kicked) = match relay {
            Some(_) => {
                let (tx, rx) = crate::channel::queue();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let unsynced = match relay {
            Some(_) => db.unsynced().await?,
            None => Vec::new(),
        };
        let repaired = index.dirty;
        let actor = crate::locks::device_actor(&db).await?;
        let locks = Rc::new(crate::locks::StreamLocks::new(&name, &actor));
        let inner = Rc::new(StoreInner::new(Opened {
            db,
            index,
            relay,
            kicks,
            unsynced,
            actor,
            locks,
        }));
        crate::browser::watch(&inner);
        inner.join_tabs(&name);
        // What the open merged or listed again is stored (and told to the other tabs) now, not
        // only with the next write; only then are merged indexes marked never to be read again. A
        // failed flush leaves both to the next open.
        let stored = !repaired || inner.flush().await.is_ok();
        if stored && !not_threads.is_empty() {
            let _ = crate::open_index::mark_not_threads(inner.db(), not_threads).await;
        }
        // Expired trash (and what the user's retention drops) is purged before anything is listed,
        // and the records of threads purged anywhere leave this device.
        if inner.apply_retention().unwrap_or(false) {
            inner.flush().await?;
        }
        inner.erase_purged().await?;
        if let Some(kicked) = kicked {
            crate::util::spawn(crate::driver::run(Rc::clone(&inner), kicked));
        }
        Ok(Self { inner })
    }

    fn set_status(&self, id: String, status: ThreadStatus) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let handle = open_listed(&inner, &id).await?;
            inner.set_status(&handle, status)?;
            inner.flush().await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// A promise of an async store call, whose error reaches JavaScript as an `Error` with a `code`.
/// The call is boxed first, so every call shares one copy of the promise's code (see
/// [`crate::util::spawn`]).
pub(crate) fn promise(call: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    promise_boxed(Box::pin(call))
}

fn promise_boxed(call: Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move { call.await.map_err(JsValue::from) })
}

/// The handle of a thread the app may use: like [`open_handle`], but a deleted thread is not found,
/// exactly as an id that never existed — here, and on every device its deletion reached.
pub(crate) async fn open_listed(inner: &Rc<StoreInner>, id: &str) -> Result<Rc<ThreadHandle>> {
    inner.ensure_open()?;
    if deleted_in_index(inner, id) {
        return Err(StoreError::NotFound(id.to_owned()));
    }
    let handle = open_handle(inner, id).await?;
    if handle.is_deleted() {
        return Err(StoreError::NotFound(id.to_owned()));
    }
    Ok(handle)
}

/// Whether the index lists `id` as deleted (it keeps deleted threads' ids, without their text).
pub(crate) fn deleted_in_index(inner: &StoreInner, id: &str) -> bool {
    ThreadId::new(id).is_ok_and(|id| inner.index_says_deleted(&id))
}

/// The handle of a thread: the one already in memory, or one read from storage. Deleted threads too:
/// sync must still send their deletion.
pub(crate) async fn open_handle(inner: &Rc<StoreInner>, id: &str) -> Result<Rc<ThreadHandle>> {
    inner.ensure_open()?;
    let id = ThreadId::new(id).map_err(|_| StoreError::NotFound(id.to_owned()))?;
    if let Some(handle) = inner.thread(&id) {
        return Ok(handle);
    }
    let stored = match inner.db().read_doc(id.as_str()).await {
        Ok(stored) if stored.is_empty() => {
            // Not on this device: perhaps created on another one.
            return fetch(inner, &id).await;
        }
        Ok(stored) => stored,
        Err(corrupt @ StoreError::Corrupt { .. }) => return refetch(inner, &id, corrupt).await,
        Err(e) => return Err(e),
    };
    // Another call may have opened it while storage was read.
    if let Some(handle) = inner.thread(&id) {
        return Ok(handle);
    }
    let handle = match ThreadHandle::stored(id.clone(), inner.actor().clone(), stored) {
        Ok(handle) => Rc::new(handle),
        Err(corrupt @ StoreError::Corrupt { .. }) => return refetch(inner, &id, corrupt).await,
        Err(e) => return Err(e),
    };
    inner.insert_thread(Rc::clone(&handle));
    if !handle.is_loaded() {
        inner.load_later(&handle);
    }
    Ok(handle)
}

/// A thread from the relay, held (and stored) once it arrives.
async fn fetch(inner: &Rc<StoreInner>, id: &ThreadId) -> Result<Rc<ThreadHandle>> {
    let document_id: DocumentId = id
        .as_str()
        .parse()
        .map_err(|_| StoreError::NotFound(id.to_string()))?;
    inner.fetch_thread(document_id).await?;
    inner
        .thread(id)
        .ok_or_else(|| StoreError::NotFound(id.to_string()))
}

/// A thread whose stored bytes are damaged, fetched whole from the relay when it has it: the damaged
/// records are then replaced by a fresh snapshot. Without the relay the thread stays unreadable here
/// and `corrupt` is the error.
async fn refetch(
    inner: &Rc<StoreInner>,
    id: &ThreadId,
    corrupt: StoreError,
) -> Result<Rc<ThreadHandle>> {
    let Ok(handle) = fetch(inner, id).await else {
        return Err(corrupt);
    };
    inner.db().delete_doc(id.as_str()).await?;
    handle.persisted.borrow_mut().write_failed();
    handle.changed();
    inner.flush().await?;
    Ok(handle)
}
