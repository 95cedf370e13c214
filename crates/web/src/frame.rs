//! Running a callback at the next animation frame, so many writes in one frame repaint once.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Calls `f` at the next animation frame, or after ~16 ms where there is no window (a worker).
pub(crate) fn next_frame(f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    let function: &js_sys::Function = callback.unchecked_ref();
    let scheduled = web_sys::window().and_then(|w| w.request_animation_frame(function).ok());
    if scheduled.is_none() {
        crate::util::after(16, move || {
            let function: &js_sys::Function = callback.unchecked_ref();
            let _ = function.call0(&wasm_bindgen::JsValue::NULL);
        });
    }
}
