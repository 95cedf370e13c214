//! `ChatStore`'s calls on the user's own records: preferences, profile and usage. They live in the
//! user's index document, so they read offline and merge per field across devices.

use std::rc::Rc;

use chatsync_model::PatchTarget;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Result;
use crate::fields::patch_from_js;
use crate::inner::StoreInner;
use crate::output::to_js;
use crate::store::{ChatStore, promise};

#[wasm_bindgen]
impl ChatStore {
    /// The user's preferences, every default filled in.
    #[wasm_bindgen(unchecked_return_type = "Preferences")]
    pub fn preferences(&self) -> Result<JsValue> {
        self.inner.ensure_open()?;
        to_js(&self.inner.read_index(|index| index.preferences()))
    }

    /// Changes the preferences the patch names (`null` puts one back to its default). Applied at
    /// once (listeners get a `preferences` event); resolves once stored.
    #[wasm_bindgen(js_name = setPreferences, unchecked_return_type = "Promise<void>")]
    pub fn set_preferences(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PreferencesPatch")] patch: JsValue,
    ) -> Promise {
        let written = patch_from_js(PatchTarget::Preferences, &patch).and_then(|patch| {
            self.inner
                .write_index(|index, now| index.set_preferences(&patch, now))
        });
        stored(&self.inner, written.map(|()| JsValue::UNDEFINED))
    }

    /// The user's profile: the fields that are set.
    #[wasm_bindgen(unchecked_return_type = "Profile")]
    pub fn profile(&self) -> Result<JsValue> {
        self.inner.ensure_open()?;
        to_js(&self.inner.read_index(|index| index.profile()))
    }

    /// Changes the profile fields the patch names (`null` clears one); resolves once stored.
    #[wasm_bindgen(js_name = setProfile, unchecked_return_type = "Promise<void>")]
    pub fn set_profile(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Profile")] patch: JsValue,
    ) -> Promise {
        let written = patch_from_js(PatchTarget::Profile, &patch).and_then(|patch| {
            self.inner
                .write_index(|index, now| index.set_profile(&patch, now))
        });
        stored(&self.inner, written.map(|()| JsValue::UNDEFINED))
    }

    /// Messages created today and tokens used this month (local time), with the limits the
    /// preferences set; counted from every thread's messages, on any device.
    #[wasm_bindgen(unchecked_return_type = "UsageReport")]
    pub fn usage(&self) -> Result<JsValue> {
        self.inner.ensure_open()?;
        // getTimezoneOffset is UTC minus local time, in minutes; the model wants local minus UTC.
        let offset = -js_sys::Date::new_0().get_timezone_offset() as i32;
        let now = crate::util::now_ms();
        let report = self
            .inner
            .read_index(|index| index.usage(now, offset))
            .map_err(crate::error::StoreError::from)?;
        to_js(&report)
    }
}

/// A write already applied in memory: a promise of it stored (resolving to `value`), or rejected
/// with why it was refused. Applying it before returning lets a read right after the call see it.
pub(crate) fn stored(inner: &Rc<StoreInner>, value: Result<JsValue>) -> Promise {
    let inner = Rc::clone(inner);
    promise(async move {
        let value = value?;
        inner.flush().await?;
        Ok(value)
    })
}
