//! A user's preferences and profile, kept in their [`Index`](crate::Index) (see
//! [`Index::preferences`](crate::Index::preferences)): what they are, their defaults, and patches.
//!
//! A patch names only the fields it changes. Each field is `None` (leave it), `Some(None)` (clear it:
//! back to its default; JSON `null`) or `Some(Some(value))`. Patches are validated whole before anything
//! is written, so a refused patch changes nothing.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Json, Limits, ModelError, ThreadSettings};

/// A user's preferences, with every default filled in. JSON field names are the JS API's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// The model new threads use unless given settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_model: Option<String>,
    /// The system prompt new threads use unless given settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_system_prompt: Option<String>,
    /// How replies should read (tone, length, format): a JSON object the app defines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_preferences: Option<Json>,
    /// Whether the agent may keep context entries (default true).
    pub enable_context_memory: bool,
    /// How many messages an agent sends the model at most (default 50).
    pub max_context_messages: u64,
    /// Whether new threads are synced (default true). When false, new threads are local-only: they
    /// never leave the device. Turning it back on does not upload the threads made meanwhile.
    pub save_conversation_history: bool,
    /// Whether the user allows their data to train models (default false).
    pub allow_data_training: bool,
    /// Messages per day the app allows, if it limits them (see [`UsageReport`](crate::UsageReport)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_message_limit: Option<u64>,
    /// Tokens per month the app allows, if it limits them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_token_limit: Option<u64>,
    /// How long a thread stays restorable in the trash before it is purged, in days (default 30).
    pub trash_retention_days: u64,
    /// Retention: keep only this many threads, the most recently active (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_newest_threads: Option<u64>,
    /// Retention: keep only threads active in this many last days (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_active_days: Option<u64>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            preferred_model: None,
            default_system_prompt: None,
            response_preferences: None,
            enable_context_memory: true,
            max_context_messages: 50,
            save_conversation_history: true,
            allow_data_training: false,
            daily_message_limit: None,
            monthly_token_limit: None,
            trash_retention_days: 30,
            keep_newest_threads: None,
            keep_active_days: None,
        }
    }
}

impl Preferences {
    /// The settings a new thread starts with: `given`, with the model and system prompt it leaves
    /// unset taken from [`Self::preferred_model`] and [`Self::default_system_prompt`].
    pub fn new_thread_settings(&self, given: Option<&ThreadSettings>) -> ThreadSettings {
        let mut settings = given.cloned().unwrap_or_default();
        if settings.model.is_none() {
            settings.model = self.preferred_model.clone();
        }
        if settings.system_prompt.is_none() {
            settings.system_prompt = self.default_system_prompt.clone();
        }
        settings
    }

    /// Whether a new thread is local-only: as asked, else as [`Self::save_conversation_history`] says.
    pub fn new_thread_local_only(&self, asked: Option<bool>) -> bool {
        asked.unwrap_or(!self.save_conversation_history)
    }
}

/// A change to [`Preferences`]; see the [module docs](self) for what each field's value means.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)] // each field is the `Preferences` field of the same name
pub struct PreferencesPatch {
    #[serde(default, deserialize_with = "present")]
    pub preferred_model: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub default_system_prompt: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub response_preferences: Option<Option<Json>>,
    #[serde(default, deserialize_with = "present")]
    pub enable_context_memory: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub max_context_messages: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub save_conversation_history: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub allow_data_training: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub daily_message_limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub monthly_token_limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub trash_retention_days: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_newest_threads: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_active_days: Option<Option<u64>>,
}

impl PreferencesPatch {
    pub(crate) fn validate(&self, limits: &Limits) -> Result<(), ModelError> {
        if let Some(Some(model)) = &self.preferred_model {
            non_blank("preferredModel", model, limits)?;
        }
        if let Some(Some(prompt)) = &self.default_system_prompt {
            limits.content("defaultSystemPrompt", prompt.len())?;
        }
        if let Some(Some(json)) = &self.response_preferences {
            crate::json::encode_object("responsePreferences", json, limits)?;
        }
        at_least_one("maxContextMessages", self.max_context_messages)?;
        at_least_one("trashRetentionDays", self.trash_retention_days)?;
        at_least_one("keepNewestThreads", self.keep_newest_threads)?;
        at_least_one("keepActiveDays", self.keep_active_days)
    }
}

/// Who the user is. Every field is optional; `preferences` is free-form app data (a JSON object).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the names say it
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Json>,
}

/// A change to [`Profile`], like [`PreferencesPatch`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)] // each field is the `Profile` field of the same name
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "present")]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub preferences: Option<Option<Json>>,
}

impl ProfilePatch {
    pub(crate) fn validate(&self, limits: &Limits) -> Result<(), ModelError> {
        if let Some(Some(name)) = &self.username {
            non_blank("username", name, limits)?;
        }
        if let Some(Some(name)) = &self.display_name {
            non_blank("displayName", name, limits)?;
        }
        if let Some(Some(email)) = &self.email {
            non_blank("email", email, limits)?;
            let parts = email.split_once('@');
            if !parts.is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                || email.contains(char::is_whitespace)
            {
                return Err(invalid("email", email, "an address like name@example.com"));
            }
        }
        if let Some(Some(url)) = &self.avatar_url {
            non_blank("avatarUrl", url, limits)?;
            if !["https://", "http://", "data:image/"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
            {
                return Err(invalid("avatarUrl", url, "an http(s) or data:image/ URL"));
            }
        }
        if let Some(Some(json)) = &self.preferences {
            crate::json::encode_object("preferences", json, limits)?;
        }
        Ok(())
    }
}

/// Deserializes a field that is present: `null` becomes `Some(None)`, a missing field stays `None`
/// (through `#[serde(default)]`).
pub(crate) fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn invalid(field: &'static str, value: &str, expected: &'static str) -> ModelError {
    ModelError::InvalidValue {
        field,
        value: value.chars().take(64).collect(),
        expected,
    }
}

fn non_blank(field: &'static str, text: &str, limits: &Limits) -> Result<(), ModelError> {
    if text.trim().is_empty() {
        return Err(invalid(field, text, "a non-blank string"));
    }
    limits.short(field, text)
}

fn at_least_one(field: &'static str, value: Option<Option<u64>>) -> Result<(), ModelError> {
    if value == Some(Some(0)) {
        return Err(invalid(field, "0", "at least 1"));
    }
    Ok(())
}
