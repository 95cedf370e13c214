//! Per-thread model settings.

use serde::{Deserialize, Serialize};

use crate::{Limits, ModelError};

/// The model settings of a thread. As an update ([`Thread::update_settings`](crate::Thread::update_settings)),
/// fields that are `None` are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSettings {
    /// The model provider ("openai", "anthropic", …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Sampling temperature, 0 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The context window, in tokens (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

impl ThreadSettings {
    /// Checks every field that is set.
    pub(crate) fn validate(&self, limits: &Limits) -> Result<(), ModelError> {
        if let Some(provider) = &self.provider {
            limits.short("provider", provider)?;
        }
        if let Some(model) = &self.model {
            limits.short("model", model)?;
        }
        if let Some(prompt) = &self.system_prompt {
            limits.content("system prompt", prompt.len())?;
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && (0.0..=2.0).contains(&t))
        {
            return Err(ModelError::InvalidValue {
                field: "temperature",
                value: t.to_string(),
                expected: "a number from 0 to 2",
            });
        }
        if self.context_window == Some(0) {
            return Err(ModelError::InvalidValue {
                field: "context window",
                value: "0".into(),
                expected: "at least 1 token",
            });
        }
        Ok(())
    }
}
