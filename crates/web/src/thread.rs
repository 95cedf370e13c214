//! `Thread`, one open conversation: its view, and every write a chat app makes to it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use chatsync_model::input::{
    AppendMessageInput, ApprovalDecisionInput, ArtifactInput, FinishMessageInput, PartInput,
    SessionStateInput, Source, ToolCallEndInput,
};
use chatsync_model::{ApprovalId, MessageId, PartId, Regenerate, ThreadSettings, ToolCallId};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::error::{Result, StoreError};
use crate::fields::Js;
use crate::handle::ThreadHandle;
use crate::inner::StoreInner;
use crate::input::{self, ApprovalRequestArgs, DeltaOptions, ToolCallStartArgs, new_id};
use crate::output::to_js;

/// An open thread. Writes apply at once in memory and reach IndexedDB (and the relay) in batches.
///
/// `free()`, `[Symbol.dispose]()` and garbage collection release it as `close()` does.
#[wasm_bindgen]
pub struct Thread {
    handle: Rc<ThreadHandle>,
    store: Rc<StoreInner>,
    closed: Cell<bool>,
    /// This object's subscriptions (keys in the handle's list, which other objects of the thread
    /// share): removed when it closes.
    subscriptions: RefCell<Vec<u32>>,
}

impl Thread {
    pub(crate) fn new(handle: Rc<ThreadHandle>, store: Rc<StoreInner>) -> Self {
        handle.open_objects.set(handle.open_objects.get() + 1);
        handle.attach_locks(store.locks());
        Self {
            handle,
            store,
            closed: Cell::new(false),
            subscriptions: RefCell::new(Vec::new()),
        }
    }

    /// Refuses calls on a closed thread object (its document may have left memory) or store.
    fn ensure_open(&self) -> Result<()> {
        if self.closed.get() {
            return Err(crate::error::StoreError::ThreadClosed);
        }
        self.store.ensure_open()
    }

    /// Refuses writes where reads are refused, and writes to a thread deleted since it was opened
    /// (here or on another device): they would be kept where nobody can see them. Reading a deleted
    /// thread still works (its view says `deleted`).
    fn ensure_writable(&self) -> Result<()> {
        self.ensure_open()?;
        if self.handle.is_deleted() || self.store.index_says_deleted(&self.handle.id) {
            return Err(crate::error::StoreError::NotFound(
                self.handle.id.to_string(),
            ));
        }
        Ok(())
    }

    /// After a write: send it to the relay, repaint subscribers next frame, write IndexedDB soon.
    fn wrote(&self) {
        self.store.send_soon();
        self.store.schedule_repaint(&self.handle);
        self.store.schedule_flush();
    }

    /// A write committed at once (one change).
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(
            &mut chatsync_model::Thread,
            u64,
        ) -> std::result::Result<R, chatsync_model::ModelError>,
    ) -> Result<R> {
        self.ensure_writable()?;
        let result = self.handle.write(|thread, now| {
            let result = f(thread, now)?;
            thread.commit();
            Ok(result)
        })?;
        self.wrote();
        Ok(result)
    }

    /// A message as JavaScript sees it. An open one (pending, streaming) is a stream this store
    /// instance now writes.
    fn message_js(&self, id: &MessageId) -> Result<JsValue> {
        let at = self.handle.read_at();
        let message = self.handle.with_thread(|thread| thread.message(id, at))?;
        if message.as_ref().is_some_and(|m| m.status.is_open()) {
            self.handle.stream_started(id.clone());
        }
        to_js(&message)
    }
}

#[wasm_bindgen]
impl Thread {
    /// The thread's id (its document id).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.handle.id.to_string()
    }

    /// The thread as the thread list shows it.
    #[wasm_bindgen(unchecked_return_type = "ThreadSummary")]
    pub fn summary(&self) -> Result<JsValue> {
        self.ensure_open()?;
        let summary = self
            .handle
            .with_thread(|thread| thread.summary(self.handle.read_at()))?;
        to_js(&summary)
    }

    /// The whole thread as a UI renders it: the messages on the active branch, artifacts, tool calls,
    /// pending approvals, session state, context.
    #[wasm_bindgen(unchecked_return_type = "ThreadView")]
    pub fn view(&self) -> Result<JsValue> {
        self.ensure_open()?;
        let view = self.handle.view_js()?;
        // The trash is the index's: its time is set on the (cached) view as it is read.
        let trashed_at = self
            .store
            .read_index(|index| index.get(&self.handle.id).and_then(|s| s.trashed_at));
        let key = JsValue::from_str("trashedAt");
        // Setting or deleting a property of the plain view object cannot fail.
        let _ = match trashed_at {
            Some(at) => js_sys::Reflect::set(&view, &key, &crate::output::number(at)),
            None => js_sys::Reflect::delete_property(view.unchecked_ref::<js_sys::Object>(), &key),
        };
        Ok(view)
    }

    /// The whole thread, for an export: `view()`, but with every branch's messages in `messages`
    /// (in the thread's order, parents first; `view().messages` names the active ones) and every
    /// approval request, decided ones too, in `pendingApprovals`.
    #[wasm_bindgen(js_name = fullView, unchecked_return_type = "ThreadView")]
    pub fn full_view(&self) -> Result<JsValue> {
        self.ensure_open()?;
        let at = self.handle.read_at();
        let view = self.handle.with_thread(|thread| {
            let mut view = thread.view(at);
            view.messages = thread.all_messages(at);
            view.pending_approvals = thread.approvals();
            view
        })?;
        to_js(&view)
    }

    /// The thread's Automerge document, saved whole (every branch, every change): an exact copy,
    /// which `store.loadThread` adds to a store.
    pub fn save(&self) -> Result<Vec<u8>> {
        self.ensure_open()?;
        // Automerge's own save, not the model's: that one moves the mark of what storage holds.
        self.handle
            .with_thread(|thread| thread.with_automerge(|doc| doc.save()))
    }

    /// Merges Automerge changes made elsewhere (bytes of `save()`, or the change of a history
    /// restore) into this thread, as a sync would: stored and synced like any edit. What the bytes
    /// hold that is no Automerge change is skipped, so bytes that hold none change nothing.
    #[wasm_bindgen(js_name = applyChanges)]
    pub fn apply_changes(&self, bytes: &[u8]) -> Result<()> {
        self.ensure_writable()?;
        self.handle.with_thread(|t| t.load_incremental(bytes))??;
        self.handle.changed();
        self.wrote();
        Ok(())
    }

    /// Appends a message and returns it: its `id` is the caller's (a duplicate is `already_exists`)
    /// or a fresh one, its `parts` ordered parts. Its parent defaults to the last message on the
    /// active branch.
    #[wasm_bindgen(js_name = appendMessage, unchecked_return_type = "Message")]
    pub fn append_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NewMessage")] message: JsValue,
    ) -> Result<JsValue> {
        let message = input::from_js::<AppendMessageInput>(&message)?
            .into_model(new_id)
            .map_err(StoreError::from)?;
        let id = message.id.clone();
        self.write(|thread, now| thread.append_message(message, now))?;
        self.message_js(&id)
    }

    /// Adds a part at the end of an open message (a data part with the type and id of one it has
    /// replaces that one's data).
    #[wasm_bindgen(js_name = appendPart)]
    pub fn append_part(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_param_type = "NewPart")] part: JsValue,
    ) -> Result<()> {
        let part: PartInput = input::from_js(&part)?;
        let id = MessageId::new(message_id).map_err(StoreError::from)?;
        self.write(|thread, now| thread.append_part(&id, part.0, now))?;
        self.handle.stream_started(id);
        Ok(())
    }

    /// Appends streamed text to a message: to its last part when that is text, else to a new text
    /// part; with `{ part }`, to that text or reasoning part. Synchronous and O(delta): deltas are
    /// committed together at most every 100 ms and at finish.
    #[wasm_bindgen(js_name = appendDelta)]
    pub fn append_delta(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        text: String,
        #[wasm_bindgen(unchecked_optional_param_type = "DeltaOptions")] options: Option<JsValue>,
    ) -> Result<()> {
        self.ensure_writable()?;
        let part = match options {
            // The two-argument form reads nothing more.
            None => None,
            Some(options) => input::from_js_or_default::<DeltaOptions>(&options)?
                .part
                .map(PartId::new)
                .transpose()
                .map_err(StoreError::from)?,
        };
        let id = MessageId::new(message_id).map_err(StoreError::from)?;
        self.handle.write(|thread, now| match &part {
            Some(part) => thread.append_part_delta(&id, part, &text, now),
            None => thread.append_delta(&id, &text, now),
        })?;
        self.handle.stream_started(id);
        self.store.schedule_commit(&self.handle);
        self.store.schedule_repaint(&self.handle);
        Ok(())
    }

    /// Ends a streaming message, and writes it to IndexedDB right away.
    #[wasm_bindgen(js_name = finishMessage)]
    pub fn finish_message(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_param_type = "MessageEnd")] end: JsValue,
    ) -> Result<()> {
        let (end, details) = input::from_js::<FinishMessageInput>(&end)?.into_model();
        let id = MessageId::new(message_id).map_err(StoreError::from)?;
        self.write(|thread, now| thread.finish_message_with(&id, end, details, now))?;
        self.handle.stream_ended(&id);
        let store = Rc::clone(&self.store);
        crate::util::spawn(async move {
            if let Err(e) = store.flush().await {
                store.emit_error(&e, None);
            }
        });
        Ok(())
    }

    /// Replaces a message's metadata (an object; `null` removes it), whatever its status. The
    /// package's `{ merge: true }` merges in JS first (`ts/src/metadata.ts`).
    #[wasm_bindgen(js_name = updateMessageMetadata)]
    pub fn update_message_metadata(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_param_type = "{ [key: string]: JsonValue } | null")]
        metadata: JsValue,
    ) -> Result<()> {
        let metadata = Js(metadata);
        let metadata = match metadata.0.is_null() || metadata.0.is_undefined() {
            true => None,
            false => Some(metadata.to_json().ok_or_else(|| {
                StoreError::InvalidInput("metadata must be a JSON object or null".into())
            })?),
        };
        let id = MessageId::new(message_id).map_err(StoreError::from)?;
        self.write(|thread, now| thread.update_message_metadata(&id, metadata, now))?;
        Ok(())
    }

    /// Removes the parts of an open message's current step (after its last `step-start`), as the
    /// AI SDK's `reset-step` does. Returns how many went.
    #[wasm_bindgen(js_name = resetStep)]
    pub fn reset_step(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
    ) -> Result<u32> {
        let id = MessageId::new(message_id).map_err(StoreError::from)?;
        let removed = self.write(|thread, now| thread.reset_step(&id, now))?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }

    /// Edits a message as a new sibling branch (the original is kept) and selects it. `id` is the new
    /// message's id when the caller makes it (as `appendMessage`'s; a duplicate is `already_exists`):
    /// the worker's page proxy returns the message before the worker has written it.
    #[wasm_bindgen(js_name = editMessage, unchecked_return_type = "Message")]
    pub fn edit_message(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        content: String,
        id: Option<String>,
    ) -> Result<JsValue> {
        let new =
            MessageId::new(id.unwrap_or_else(new_id)).map_err(crate::error::StoreError::from)?;
        let id = MessageId::new(message_id).map_err(crate::error::StoreError::from)?;
        let created = new.clone();
        self.write(|thread, now| thread.edit_message(&id, new, content, now))?;
        self.message_js(&created)
    }

    /// Starts a new reply in place of an assistant message, as a sibling branch, and selects it. The
    /// new message is pending; stream into it with `appendDelta`. `id` as `editMessage`'s.
    #[wasm_bindgen(js_name = regenerateMessage, unchecked_return_type = "Message")]
    pub fn regenerate_message(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        provider: Option<String>,
        model: Option<String>,
        id: Option<String>,
    ) -> Result<JsValue> {
        let created =
            MessageId::new(id.unwrap_or_else(new_id)).map_err(crate::error::StoreError::from)?;
        let id = MessageId::new(message_id).map_err(crate::error::StoreError::from)?;
        let regenerate = Regenerate {
            new_id: created.clone(),
            provider,
            model,
        };
        self.write(|thread, now| thread.regenerate_message(&id, regenerate, now))?;
        self.message_js(&created)
    }

    /// Shows this message's branch.
    #[wasm_bindgen(js_name = selectBranch)]
    pub fn select_branch(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
    ) -> Result<()> {
        let id = MessageId::new(message_id).map_err(crate::error::StoreError::from)?;
        self.write(|thread, now| thread.select_branch(&id, now))?;
        Ok(())
    }

    /// Sets the title (a person's title; it is no longer derived from the first message).
    #[wasm_bindgen(js_name = setTitle)]
    pub fn set_title(&self, title: String) -> Result<()> {
        self.write(|thread, now| thread.set_title(title, now))?;
        Ok(())
    }

    /// Updates the fields of the model settings that are given.
    #[wasm_bindgen(js_name = setSettings)]
    pub fn set_settings(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Partial<ThreadSettings>")] settings: JsValue,
    ) -> Result<()> {
        let settings: ThreadSettings = input::from_js(&settings)?;
        self.write(|thread, now| thread.update_settings(&settings, now))?;
        Ok(())
    }

    /// Rates a message (1 to 5; thumbs are 1 and 5), with an optional comment.
    #[wasm_bindgen(js_name = setFeedback)]
    pub fn set_feedback(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_param_type = "Feedback")] feedback: JsValue,
    ) -> Result<()> {
        let feedback: chatsync_model::Feedback = input::from_js(&feedback)?;
        let id = MessageId::new(message_id).map_err(crate::error::StoreError::from)?;
        self.write(|thread, now| thread.set_feedback(&id, feedback, now))?;
        Ok(())
    }

    /// Creates an artifact, or updates one (its version goes up by one). Returns its id.
    #[wasm_bindgen(js_name = upsertArtifact)]
    pub fn upsert_artifact(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ArtifactUpsert")] artifact: JsValue,
    ) -> Result<String> {
        let artifact = input::from_js::<ArtifactInput>(&artifact)?
            .into_model(new_id)
            .map_err(crate::error::StoreError::from)?;
        let id = artifact.id.to_string();
        self.write(|thread, now| thread.upsert_artifact(artifact, now))?;
        Ok(id)
    }

    /// Records a tool call the assistant made, and adds its part to its message. Returns its id.
    #[wasm_bindgen(js_name = startToolCall)]
    pub fn start_tool_call(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ToolCallStart")] call: JsValue,
    ) -> Result<String> {
        let ToolCallStartArgs { call, options } = input::from_js(&call)?;
        let call = call.into_model(new_id).map_err(StoreError::from)?;
        let id = call.id.to_string();
        self.write(|thread, now| thread.start_tool_call_with(call, options, now))?;
        Ok(id)
    }

    /// Sets the whole input of a call (one started with `inputStreaming: true` becomes
    /// `input-available`).
    #[wasm_bindgen(js_name = setToolCallInput)]
    pub fn set_tool_call_input(
        &self,
        #[wasm_bindgen(js_name = callId)] call_id: String,
        #[wasm_bindgen(unchecked_param_type = "JsonValue")] input: JsValue,
    ) -> Result<()> {
        let input = Js(input).to_json().unwrap_or_default();
        let id = ToolCallId::new(call_id).map_err(StoreError::from)?;
        self.write(|thread, now| thread.set_tool_call_input(&id, input, now))?;
        Ok(())
    }

    /// Records how a tool call ended; its duration is measured from its start.
    #[wasm_bindgen(js_name = finishToolCall)]
    pub fn finish_tool_call(
        &self,
        #[wasm_bindgen(js_name = callId)] call_id: String,
        #[wasm_bindgen(unchecked_param_type = "ToolCallEnd")] end: JsValue,
    ) -> Result<()> {
        let end = input::from_js::<ToolCallEndInput>(&end)?
            .into_model()
            .map_err(crate::error::StoreError::from)?;
        let id = ToolCallId::new(call_id).map_err(crate::error::StoreError::from)?;
        self.write(|thread, now| thread.finish_tool_call(&id, end, now))?;
        Ok(())
    }

    /// Asks a person to approve something (with `toolCallId`, that tool call). Returns the
    /// request's id.
    #[wasm_bindgen(js_name = requestApproval)]
    pub fn request_approval(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ApprovalRequest")] request: JsValue,
    ) -> Result<String> {
        let ApprovalRequestArgs {
            request,
            tool_call_id,
        } = input::from_js(&request)?;
        let request = request.into_model(new_id).map_err(StoreError::from)?;
        let call = tool_call_id
            .map(ToolCallId::new)
            .transpose()
            .map_err(StoreError::from)?;
        let id = request.id.to_string();
        self.write(|thread, now| thread.request_approval_for(request, call.as_ref(), now))?;
        Ok(id)
    }

    /// Approves or rejects a pending request (once; a second decision is refused).
    #[wasm_bindgen(js_name = decideApproval)]
    pub fn decide_approval(
        &self,
        #[wasm_bindgen(js_name = approvalId)] approval_id: String,
        #[wasm_bindgen(unchecked_param_type = "ApprovalDecision")] decision: JsValue,
    ) -> Result<()> {
        let decision: ApprovalDecisionInput = input::from_js(&decision)?;
        let id = ApprovalId::new(approval_id).map_err(crate::error::StoreError::from)?;
        self.write(|thread, now| thread.decide_approval(&id, decision.into_model(), now))?;
        Ok(())
    }

    /// Replaces the agent's session state (what it needs to resume).
    #[wasm_bindgen(js_name = setSessionState)]
    pub fn set_session_state(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionState")] state: JsValue,
    ) -> Result<()> {
        let state: SessionStateInput = input::from_js(&state)?;
        self.write(|thread, now| thread.set_session_state(state.into_model(), now))?;
        Ok(())
    }

    /// Calls `callback` with the new view after changes, local or remote, at most once per frame.
    /// Returns the function that unsubscribes (calling it again does nothing); closing the thread
    /// unsubscribes too.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(view: ThreadView) => void")] callback: Function,
    ) -> Result<Function> {
        self.ensure_open()?;
        let (key, unsubscribe) =
            crate::callbacks::subscribe(&self.handle, |handle| &handle.subscribers, callback);
        let mut keys = self.subscriptions.borrow_mut();
        // Forget the ones unsubscribed since, so subscribing again and again (a React effect) does
        // not pile keys up.
        keys.retain(|key| self.handle.subscribers.contains(*key));
        keys.push(key);
        Ok(unsubscribe)
    }

    /// Stops this object's use of the thread: its subscriptions end, pending writes still reach
    /// storage (and the relay), and once no open object uses the thread its document leaves memory.
    /// Calling it again does nothing.
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        for key in self.subscriptions.take() {
            self.handle.subscribers.remove(key);
        }
        let open = self.handle.open_objects.get().saturating_sub(1);
        self.handle.open_objects.set(open);
        if open == 0 {
            // No object is left to write through: this instance's streams into the thread are over.
            self.handle.end_streams();
        }
        self.store.thread_closed();
    }
}

/// `free()`, `[Symbol.dispose]()` and garbage collection drop the Rust object: it lets go of the
/// thread as `close()` does, so nothing stays counted as open (and held in memory) for ever.
impl Drop for Thread {
    fn drop(&mut self) {
        self.close();
    }
}
