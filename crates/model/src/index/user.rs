//! The user's preferences and profile in their index: one key per field, so each merges on its own.

use automerge::ScalarValue;

use super::record::Record;
use super::{Index, limits};
use crate::preferences::{Preferences, PreferencesPatch, Profile, ProfilePatch};
use crate::{Json, ModelError};

const PREFERENCES: &str = "~pref";
const PROFILE: &str = "~profile";

/// A patch field as the value to store: `None` leaves the key, `Some(None)` deletes it.
fn value<T: Into<ScalarValue>>(field: Option<Option<T>>) -> Option<Option<ScalarValue>> {
    field.map(|v| v.map(Into::into))
}

fn text(field: &Option<Option<String>>) -> Option<Option<ScalarValue>> {
    value(field.clone())
}

fn json(field: &Option<Option<Json>>) -> Option<Option<ScalarValue>> {
    value(field.clone().map(|v| v.map(|j| j.as_text().to_owned())))
}

impl Index {
    /// The user's preferences, defaults filled in.
    pub fn preferences(&self) -> Preferences {
        let r = Record::read(&self.doc, PREFERENCES);
        let d = Preferences::default();
        Preferences {
            preferred_model: r.str("preferredModel"),
            default_system_prompt: r.str("defaultSystemPrompt"),
            response_preferences: r.json("responsePreferences"),
            enable_context_memory: r
                .bool("enableContextMemory")
                .unwrap_or(d.enable_context_memory),
            max_context_messages: r
                .u64("maxContextMessages")
                .unwrap_or(d.max_context_messages),
            save_conversation_history: r
                .bool("saveConversationHistory")
                .unwrap_or(d.save_conversation_history),
            allow_data_training: r.bool("allowDataTraining").unwrap_or(d.allow_data_training),
            daily_message_limit: r.u64("dailyMessageLimit"),
            monthly_token_limit: r.u64("monthlyTokenLimit"),
            trash_retention_days: r
                .u64("trashRetentionDays")
                .filter(|d| *d > 0)
                .unwrap_or(d.trash_retention_days),
            keep_newest_threads: r.u64("keepNewestThreads").filter(|n| *n > 0),
            keep_active_days: r.u64("keepActiveDays").filter(|n| *n > 0),
        }
    }

    /// Changes the preferences `patch` names; validated whole first, so a refused patch writes
    /// nothing.
    pub fn set_preferences(
        &mut self,
        patch: &PreferencesPatch,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        patch.validate(&limits())?;
        let p = patch;
        let fields = vec![
            ("preferredModel", text(&p.preferred_model)),
            ("defaultSystemPrompt", text(&p.default_system_prompt)),
            ("responsePreferences", json(&p.response_preferences)),
            ("enableContextMemory", value(p.enable_context_memory)),
            ("maxContextMessages", value(p.max_context_messages)),
            (
                "saveConversationHistory",
                value(p.save_conversation_history),
            ),
            ("allowDataTraining", value(p.allow_data_training)),
            ("dailyMessageLimit", value(p.daily_message_limit)),
            ("monthlyTokenLimit", value(p.monthly_token_limit)),
            ("trashRetentionDays", value(p.trash_retention_days)),
            ("keepNewestThreads", value(p.keep_newest_threads)),
            ("keepActiveDays", value(p.keep_active_days)),
        ];
        self.write_fields(PREFERENCES, fields, now_ms)
    }

    /// The user's profile.
    pub fn profile(&self) -> Profile {
        let r = Record::read(&self.doc, PROFILE);
        Profile {
            username: r.str("username"),
            email: r.str("email"),
            display_name: r.str("displayName"),
            avatar_url: r.str("avatarUrl"),
            preferences: r.json("preferences"),
        }
    }

    /// Changes the profile fields `patch` names, like [`Index::set_preferences`].
    pub fn set_profile(&mut self, patch: &ProfilePatch, now_ms: u64) -> Result<(), ModelError> {
        patch.validate(&limits())?;
        let fields = vec![
            ("username", text(&patch.username)),
            ("email", text(&patch.email)),
            ("displayName", text(&patch.display_name)),
            ("avatarUrl", text(&patch.avatar_url)),
            ("preferences", json(&patch.preferences)),
        ];
        self.write_fields(PROFILE, fields, now_ms)
    }

    /// Writes the fields a patch names under `prefix`.
    pub(super) fn write_fields(
        &mut self,
        prefix: &str,
        fields: Vec<(&str, Option<Option<ScalarValue>>)>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        if fields.iter().all(|(_, v)| v.is_none()) {
            return Ok(());
        }
        self.begin_write(now_ms)?;
        for (name, v) in fields {
            if let Some(v) = v {
                self.put(&format!("{prefix}/{name}"), v)?;
            }
        }
        Ok(())
    }
}
