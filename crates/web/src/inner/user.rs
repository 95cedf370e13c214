//! The index's own records — preferences, profile, projects, the trash — read and written for the
//! store's calls, and the `preferences` event.

use std::rc::Rc;

use chatsync_model::{Index, ModelError};

use super::StoreInner;
use crate::error::Result;
use crate::output::{js_object, to_js};
use crate::util::now_ms;

impl StoreInner {
    /// Reads the index.
    pub fn read_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&self.index.borrow().index)
    }

    /// Writes the index (stored at the next flush); listeners hear of changed preferences at once.
    pub fn write_index<R>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut Index, u64) -> std::result::Result<R, ModelError>,
    ) -> Result<R> {
        self.ensure_open()?;
        let result = {
            let mut index = self.index.borrow_mut();
            let result = f(&mut index.index, now_ms())?;
            index.dirty = true;
            result
        };
        self.check_preferences("local");
        Ok(result)
    }

    /// Tells listeners the preferences changed, if they did since they were last told: after a
    /// write here, or a merge of another device's or tab's index (`source` "remote").
    pub fn check_preferences(&self, source: &str) {
        let now = self.index.borrow().index.preferences();
        if *self.preferences.borrow() == now {
            return;
        }
        let Ok(preferences) = to_js(&now) else {
            return;
        };
        self.preferences.replace(now);
        self.emit(&js_object(&[
            ("type", "preferences".into()),
            ("source", source.into()),
            ("preferences", preferences),
        ]));
    }
}
