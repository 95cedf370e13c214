//! Size limits, so one oversized write cannot bloat a document every device must then load.

/// Upper bounds checked before every write. Sizes are in bytes of UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Message content, artifact content, approval subjects and agent plans.
    pub max_content_bytes: usize,
    /// Short texts: titles, names, providers, models, system prompts, reasons, phases.
    pub max_short_text_bytes: usize,
    /// One JSON value (metadata, tool input or output, context values), serialized.
    pub max_json_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_content_bytes: 1 << 20,
            max_short_text_bytes: 32 << 10,
            max_json_bytes: 256 << 10,
        }
    }
}

impl Limits {
    pub(crate) fn check(
        field: &'static str,
        limit: usize,
        actual: usize,
    ) -> Result<(), crate::ModelError> {
        if actual > limit {
            return Err(crate::ModelError::TooLarge {
                field,
                limit,
                actual,
            });
        }
        Ok(())
    }

    pub(crate) fn content(
        &self,
        field: &'static str,
        bytes: usize,
    ) -> Result<(), crate::ModelError> {
        Self::check(field, self.max_content_bytes, bytes)
    }

    pub(crate) fn short(&self, field: &'static str, text: &str) -> Result<(), crate::ModelError> {
        Self::check(field, self.max_short_text_bytes, text.len())
    }
}
