//! A user's preferences and profile, kept in their [`Index`](crate::Index) (see
//! [`Index::preferences`](crate::Index::preferences)), and their defaults. They change through a
//! [`Patch`](crate::Patch).

use serde::{Deserialize, Serialize};

use crate::{Json, ThreadSettings};

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
