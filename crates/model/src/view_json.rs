//! Views as JSON text, written without serde, exactly as their serde `Serialize` writes them (a test
//! compares the two on generated threads).
//!
//! This is for the browser package, which hands the text to the browser's `JSON.parse`: serde and
//! serde_json were the last 9 KB of its gzipped wasm that a few hundred lines could replace. Native
//! code uses serde.

use std::fmt::Write;

use crate::part_view::FieldOut;
use crate::view::{
    ApprovalView, ArtifactView, ContextEntryView, MessageView, PartView, SessionView,
    ThreadSummary, ThreadView, ToolCallView,
};
use crate::{
    Feedback, FieldValue, FieldValues, Json, MessageId, Preferences, Project, ThreadSettings,
    Usage, UsageReport,
};

/// A value that writes itself as JSON.
pub trait WriteJson {
    /// Appends this value's JSON to `out`.
    fn write_json(&self, out: &mut JsonText<'_>);
}

/// `value` as JSON text. `is_json` tells whether a stored [`Json`] value's text is JSON (a foreign
/// peer may have written anything); text that is not is written as a JSON string.
pub fn to_json_text<T: WriteJson + ?Sized>(value: &T, is_json: &dyn Fn(&str) -> bool) -> String {
    let mut out = JsonText {
        text: String::new(),
        is_json,
    };
    value.write_json(&mut out);
    out.text
}

/// JSON text being written.
pub struct JsonText<'a> {
    text: String,
    is_json: &'a dyn Fn(&str) -> bool,
}

impl JsonText<'_> {
    /// Writes an object: `fields` writes its entries with [`Fields`].
    fn object(&mut self, fields: impl FnOnce(&mut Fields<'_, '_>)) {
        self.text.push('{');
        fields(&mut Fields {
            out: self,
            first: true,
        });
        self.text.push('}');
    }

    fn string(&mut self, s: &str) {
        self.text.push('"');
        // Copies the runs between characters that need escaping whole: message contents are long.
        // Those characters are ASCII, so every index here is on a character boundary.
        let mut run = 0;
        for (i, byte) in s.bytes().enumerate() {
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.text.push_str(&s[run..i]);
            if escaped.is_empty() {
                let _ = write!(self.text, "\\u{byte:04x}");
            } else {
                self.text.push_str(escaped);
            }
            run = i + 1;
        }
        self.text.push_str(&s[run..]);
        self.text.push('"');
    }

    fn integer(&mut self, n: impl Into<i128>) {
        // Every integer of a view is an i64 or a u64: written through u64's formatting, so i128's
        // (1.5 KB of the browser's wasm) is not linked.
        let n: i128 = n.into();
        let magnitude = u64::try_from(n.unsigned_abs()).unwrap_or(u64::MAX);
        let sign = if n < 0 { "-" } else { "" };
        let _ = write!(self.text, "{sign}{magnitude}");
    }

    fn number(&mut self, x: f64) {
        if x.is_finite() {
            // Rust's shortest round-trip form, which JSON reads back to the same number; serde_json
            // writes integral floats with a trailing `.0`, which reads the same.
            let _ = write!(self.text, "{x:?}");
        } else {
            self.text.push_str("null");
        }
    }

    fn json(&mut self, value: &Json) {
        if (self.is_json)(value.as_text()) {
            self.text.push_str(value.as_text());
        } else {
            self.string(value.as_text());
        }
    }

    fn list<T: WriteJson>(&mut self, items: &[T]) {
        self.text.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            item.write_json(self);
        }
        self.text.push(']');
    }
}

/// The entries of an object being written.
struct Fields<'o, 'a> {
    out: &'o mut JsonText<'a>,
    first: bool,
}

impl<'a> Fields<'_, 'a> {
    /// Starts an entry: its key (the keys here are plain ASCII names).
    fn key(&mut self, key: &str) -> &mut JsonText<'a> {
        if !self.first {
            self.out.text.push(',');
        }
        self.first = false;
        self.out.text.push('"');
        self.out.text.push_str(key);
        self.out.text.push_str("\":");
        self.out
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key).string(value);
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    fn int(&mut self, key: &str, value: impl Into<i128>) {
        self.key(key).integer(value);
    }

    fn opt_int(&mut self, key: &str, value: Option<impl Into<i128>>) {
        if let Some(value) = value {
            self.int(key, value);
        }
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key)
            .text
            .push_str(if value { "true" } else { "false" });
    }

    fn value(&mut self, key: &str, value: &impl WriteJson) {
        value.write_json(self.key(key));
    }

    fn opt_value(&mut self, key: &str, value: Option<&impl WriteJson>) {
        if let Some(value) = value {
            self.value(key, value);
        }
    }

    fn list<T: WriteJson>(&mut self, key: &str, items: &[T]) {
        self.key(key).list(items);
    }

    /// One entry per field value.
    fn values(&mut self, values: &FieldValues) {
        for (name, value) in values.iter() {
            match value {
                FieldValue::Bool(b) => self.bool(name, *b),
                FieldValue::Number(n) => self.int(name, *n),
                FieldValue::Text(t) => self.str(name, t),
                FieldValue::Json(j) => self.key(name).json(j),
            }
        }
    }
}

impl WriteJson for MessageId {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.string(self.as_str());
    }
}

impl WriteJson for Json {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.json(self);
    }
}

/// `null` when absent, as serde writes `None`.
impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut JsonText<'_>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.text.push_str("null"),
        }
    }
}

impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.list(self);
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.list(self);
    }
}

impl WriteJson for ThreadSettings {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.opt_str("provider", self.provider.as_deref());
            f.opt_str("model", self.model.as_deref());
            f.opt_str("systemPrompt", self.system_prompt.as_deref());
            if let Some(t) = self.temperature {
                f.key("temperature").number(t);
            }
            f.opt_int("contextWindow", self.context_window);
        });
    }
}

impl WriteJson for Usage {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.int("inputTokens", self.input_tokens);
            f.int("outputTokens", self.output_tokens);
        });
    }
}

impl WriteJson for Feedback {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.int("rating", self.rating);
            f.opt_str("text", self.text.as_deref());
        });
    }
}

impl WriteJson for ThreadView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.int("schemaVersion", self.schema_version);
            f.bool("readOnly", self.read_only);
            f.str("title", &self.title);
            f.str("titleSource", self.title_source.as_str());
            f.str("status", self.status.as_str());
            f.opt_str("projectId", self.project_id.as_deref());
            f.int("createdAt", self.created_at);
            f.int("updatedAt", self.updated_at);
            f.opt_int("lastMessageAt", self.last_message_at);
            f.value("settings", &self.settings);
            f.opt_str("summary", self.summary.as_deref());
            f.int("totalInputTokens", self.total_input_tokens);
            f.int("totalOutputTokens", self.total_output_tokens);
            if self.local_only {
                f.bool("localOnly", true);
            }
            f.list("messages", &self.messages);
            f.list("artifacts", &self.artifacts);
            f.list("toolCalls", &self.tool_calls);
            f.list("pendingApprovals", &self.pending_approvals);
            f.opt_value("session", self.session.as_ref());
            f.list("context", &self.context);
        });
    }
}

impl WriteJson for MessageView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("role", self.role.as_str());
            f.str("content", &self.content);
            f.list("parts", &self.parts);
            f.str("status", self.status.as_str());
            f.opt_str("finishReason", self.finish_reason.as_deref());
            f.opt_str("error", self.error.as_deref());
            f.opt_str("parentId", self.parent_id.as_ref().map(|p| p.as_str()));
            f.int("createdAt", self.created_at);
            f.int("updatedAt", self.updated_at);
            f.opt_str("provider", self.provider.as_deref());
            f.opt_str("model", self.model.as_deref());
            f.opt_value("usage", self.usage.as_ref());
            f.opt_value("metadata", self.metadata.as_ref());
            f.opt_value("feedback", self.feedback.as_ref());
            f.list("siblings", &self.siblings);
            f.int("siblingIndex", self.sibling_index as u64);
        });
    }
}

impl WriteJson for PartView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("type", &self.part_type());
            for (key, value) in self.fields() {
                match value {
                    FieldOut::Str(s) => f.str(key, s),
                    FieldOut::Uint(n) => f.int(key, n),
                    FieldOut::Json(j) => f.key(key).json(j),
                    FieldOut::Approval(a) => f.key(key).object(|f| {
                        f.str("id", a.id.as_str());
                        if let Some(approved) = a.approved {
                            f.bool("approved", approved);
                        }
                        f.opt_str("reason", a.reason.as_deref());
                    }),
                }
            }
        });
    }
}

impl WriteJson for ArtifactView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("kind", &self.kind);
            f.str("title", &self.title);
            f.str("content", &self.content);
            f.str("status", self.status.as_str());
            f.int("version", self.version);
            f.int("createdAt", self.created_at);
            f.int("updatedAt", self.updated_at);
            f.opt_str("messageId", self.message_id.as_ref().map(|m| m.as_str()));
        });
    }
}

impl WriteJson for ToolCallView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("messageId", self.message_id.as_str());
            f.str("toolName", &self.tool_name);
            f.opt_str("providerCallId", self.provider_call_id.as_deref());
            f.value("input", &self.input);
            f.opt_value("output", self.output.as_ref());
            f.str("status", self.status.as_str());
            f.int("startedAt", self.started_at);
            f.opt_int("completedAt", self.completed_at);
            f.opt_int("durationMs", self.duration_ms);
            f.opt_str("error", self.error.as_deref());
        });
    }
}

impl WriteJson for ApprovalView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("kind", &self.kind);
            f.str("subject", &self.subject);
            f.str("status", self.status.as_str());
            f.opt_str("messageId", self.message_id.as_ref().map(|m| m.as_str()));
            f.opt_str("toolCallId", self.tool_call_id.as_ref().map(|c| c.as_str()));
            f.int("requestedAt", self.requested_at);
            f.opt_str("decidedBy", self.decided_by.as_deref());
            f.opt_int("decidedAt", self.decided_at);
            f.opt_str("reason", self.reason.as_deref());
        });
    }
}

impl WriteJson for SessionView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.opt_str("externalId", self.external_id.as_deref());
            f.str("phase", &self.phase);
            f.opt_str("plan", self.plan.as_deref());
            f.int("updatedAt", self.updated_at);
        });
    }
}

impl WriteJson for ContextEntryView {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("type", &self.entry_type);
            f.str("key", &self.key);
            f.value("value", &self.value);
            f.int("priority", self.priority);
            f.opt_int("expiresAt", self.expires_at);
        });
    }
}

impl WriteJson for ThreadSummary {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("title", &self.title);
            f.str("status", self.status.as_str());
            f.int("createdAt", self.created_at);
            f.int("lastActivityAt", self.last_activity_at);
            f.int("messageCount", self.message_count);
            f.str("preview", &self.preview);
            f.opt_str("projectId", self.project_id.as_deref());
            f.opt_str("summary", self.summary.as_deref());
            f.int("totalInputTokens", self.total_input_tokens);
            f.int("totalOutputTokens", self.total_output_tokens);
            f.opt_int("trashedAt", self.trashed_at);
            if self.local_only {
                f.bool("localOnly", true);
            }
        });
    }
}

impl WriteJson for Preferences {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.opt_str("preferredModel", self.preferred_model.as_deref());
            f.opt_str("defaultSystemPrompt", self.default_system_prompt.as_deref());
            f.opt_value("responsePreferences", self.response_preferences.as_ref());
            f.bool("enableContextMemory", self.enable_context_memory);
            f.int("maxContextMessages", self.max_context_messages);
            f.bool("saveConversationHistory", self.save_conversation_history);
            f.bool("allowDataTraining", self.allow_data_training);
            f.opt_int("dailyMessageLimit", self.daily_message_limit);
            f.opt_int("monthlyTokenLimit", self.monthly_token_limit);
            f.int("trashRetentionDays", self.trash_retention_days);
            f.opt_int("keepNewestThreads", self.keep_newest_threads);
            f.opt_int("keepActiveDays", self.keep_active_days);
        });
    }
}

impl WriteJson for FieldValues {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| f.values(self));
    }
}

impl WriteJson for Project {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.str("id", self.id.as_str());
            f.str("name", &self.name);
            f.values(&self.fields);
            f.bool("archived", self.archived);
            f.int("createdAt", self.created_at);
            f.int("updatedAt", self.updated_at);
            f.int("threadCount", self.thread_count);
            f.opt_int("lastActivityAt", self.last_activity_at);
        });
    }
}

impl WriteJson for UsageReport {
    fn write_json(&self, out: &mut JsonText<'_>) {
        out.object(|f| {
            f.int("messagesToday", self.messages_today);
            f.int("tokensThisMonth", self.tokens_this_month);
            f.opt_int("dailyMessageLimit", self.daily_message_limit);
            f.opt_int("monthlyTokenLimit", self.monthly_token_limit);
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn is_json(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn strings_are_escaped_as_json_reads_them() {
        let tricky =
            "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} emoji 🦀 \u{2028}";
        let summary = ThreadSummary {
            title: tricky.into(),
            created_at: u64::MAX,
            message_count: 3,
            ..ThreadSummary::new(crate::ThreadId::new("t").unwrap())
        };
        let text = to_json_text(&summary, &is_json);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::to_value(&summary).unwrap());
        assert_eq!(value["title"], tricky);
        for edge in [
            "",
            "\"",
            "\\",
            "\n",
            "é\"",
            "\u{1f}é",
            "a\\b\"c\u{0}",
            "🦀\t🦀",
        ] {
            let summary = ThreadSummary {
                preview: edge.into(),
                ..summary.clone()
            };
            let value: serde_json::Value =
                serde_json::from_str(&to_json_text(&summary, &is_json)).unwrap();
            assert_eq!(value["preview"], edge);
        }
    }

    #[test]
    fn numbers_read_back_the_same() {
        for t in [0.0, 0.7, 1.0, 2.0, 0.1 + 0.2, 1e-7, 1.5e300] {
            let settings = ThreadSettings {
                temperature: Some(t),
                ..ThreadSettings::default()
            };
            let text = to_json_text(&settings, &is_json);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["temperature"].as_f64(), Some(t), "{text}");
        }
        let nan = ThreadSettings {
            temperature: Some(f64::NAN),
            ..ThreadSettings::default()
        };
        assert_eq!(to_json_text(&nan, &is_json), r#"{"temperature":null}"#);
    }

    #[test]
    fn stored_text_that_is_not_json_is_written_as_a_string() {
        let entry = ContextEntryView {
            entry_type: "memory".into(),
            key: "k".into(),
            value: Json::from_text("not { json"),
            priority: -3,
            expires_at: Some(5),
        };
        let text = to_json_text(&entry, &is_json);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::to_value(&entry).unwrap());
        assert_eq!(value["value"], json!("not { json"));
    }
}
