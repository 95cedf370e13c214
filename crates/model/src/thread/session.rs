//! Agent session state, so an agent can resume where it stopped.

use automerge::ObjType;

use super::Thread;
use crate::schema::key;
use crate::{ModelError, access};

/// What an agent needs to resume.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    /// The agent framework's session id.
    pub external_id: Option<String>,
    /// Where the agent is ("planning", "executing", …).
    pub phase: String,
    /// Its current plan.
    pub plan: Option<String>,
}

impl Thread {
    /// Replaces the agent session state.
    pub fn set_session_state(
        &mut self,
        state: SessionState,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if let Some(id) = &state.external_id {
            self.limits.short("session id", id)?;
        }
        self.limits.short("phase", &state.phase)?;
        if let Some(plan) = &state.plan {
            self.limits.content("plan", plan.len())?;
        }
        let obj = self.container(key::SESSION, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_opt(&mut self.doc, &obj, "externalId", state.external_id)?;
        access::put_if_changed(&mut self.doc, &obj, "phase", state.phase)?;
        access::put_opt(&mut self.doc, &obj, "plan", state.plan)?;
        access::put_if_changed(&mut self.doc, &obj, "updatedAt", now_ms)
    }
}
