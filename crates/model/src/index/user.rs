//! The user's preferences and profile in their index: one key per field, so each merges on its own.

use automerge::ScalarValue;

use super::Index;
use super::record::Record;
use crate::ModelError;
use crate::patch::{FieldValue, FieldValues, PROFILE_FIELDS, Patch, PatchTarget};
use crate::preferences::Preferences;

const PREFERENCES: &str = "~pref";
const PROFILE: &str = "~profile";

impl Index {
    /// The user's preferences, defaults filled in.
    pub fn preferences(&self) -> Preferences {
        let r = Record::read(&self.doc, PREFERENCES);
        let d = Preferences::default();
        let count = |name: &str, default: u64| r.u64(name).filter(|n| *n > 0).unwrap_or(default);
        Preferences {
            preferred_model: r.str("preferredModel"),
            default_system_prompt: r.str("defaultSystemPrompt"),
            response_preferences: r.json("responsePreferences"),
            enable_context_memory: r
                .bool("enableContextMemory")
                .unwrap_or(d.enable_context_memory),
            max_context_messages: count("maxContextMessages", d.max_context_messages),
            save_conversation_history: r
                .bool("saveConversationHistory")
                .unwrap_or(d.save_conversation_history),
            allow_data_training: r.bool("allowDataTraining").unwrap_or(d.allow_data_training),
            daily_message_limit: r.u64("dailyMessageLimit"),
            monthly_token_limit: r.u64("monthlyTokenLimit"),
            trash_retention_days: count("trashRetentionDays", d.trash_retention_days),
            keep_newest_threads: r.u64("keepNewestThreads").filter(|n| *n > 0),
            keep_active_days: r.u64("keepActiveDays").filter(|n| *n > 0),
        }
    }

    /// The retention of the trash alone: [`Index::preferences`] reads every field.
    pub(super) fn trash_retention(&self) -> crate::RetentionPolicy {
        let key = format!("{PREFERENCES}/trashRetentionDays");
        let days = crate::access::get_u64(&self.doc, &automerge::ROOT, &key).filter(|d| *d > 0);
        crate::RetentionPolicy {
            trash_retention_days: days.unwrap_or(Preferences::default().trash_retention_days),
            ..crate::RetentionPolicy::default()
        }
    }

    /// Changes the preferences a [`PatchTarget::Preferences`] patch names.
    pub fn set_preferences(&mut self, patch: &Patch, now_ms: u64) -> Result<(), ModelError> {
        self.write_patch(PREFERENCES, PatchTarget::Preferences, patch, now_ms)
    }

    /// The user's profile: the [`PROFILE_FIELDS`](crate::PROFILE_FIELDS) that are set.
    pub fn profile(&self) -> FieldValues {
        Record::read(&self.doc, PROFILE).values(PROFILE_FIELDS, &[])
    }

    /// Changes the profile fields a [`PatchTarget::Profile`] patch names.
    pub fn set_profile(&mut self, patch: &Patch, now_ms: u64) -> Result<(), ModelError> {
        self.write_patch(PROFILE, PatchTarget::Profile, patch, now_ms)
    }

    /// Writes a patch's fields under `prefix`: a checked patch cannot fail halfway.
    pub(super) fn write_patch(
        &mut self,
        prefix: &str,
        target: PatchTarget,
        patch: &Patch,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        if patch.target() != target {
            return Err(ModelError::InvalidValue {
                field: "patch",
                value: String::new(),
                expected: match target {
                    PatchTarget::Preferences => "a patch of the preferences",
                    PatchTarget::Profile => "a patch of the profile",
                    PatchTarget::Project => "a patch of a project",
                },
            });
        }
        if patch.is_empty() {
            return Ok(());
        }
        self.begin_write(now_ms)?;
        for (name, value) in &patch.changes {
            let value = value.as_ref().map(|v| match v {
                FieldValue::Bool(b) => ScalarValue::Boolean(*b),
                FieldValue::Number(n) => ScalarValue::Uint(*n),
                FieldValue::Text(t) => t.as_str().into(),
                FieldValue::Json(j) => j.as_text().into(),
            });
            self.put(&format!("{prefix}/{name}"), value)?;
        }
        Ok(())
    }
}
