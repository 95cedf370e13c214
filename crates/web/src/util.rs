//! Small browser facts: the clock and randomness (both passed into the model, which has neither),
//! and running a task in the background.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::task::Poll;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    // Date.now() is a non-negative integer well inside f64's exact range.
    js_sys::Date::now() as u64
}

/// `N` random bytes from the browser's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // getrandom's wasm_js backend (enabled through automerge's `wasm` feature) reads crypto.getRandomValues.
    if getrandom::fill(&mut bytes).is_err() {
        // No CSPRNG at all (not a browser): fall back to Math.random rather than fail every write.
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n * 2);
    for chunk in 0..n.div_ceil(16) {
        let bytes = random_bytes::<16>();
        let take = (n - chunk * 16).min(16);
        out.push_str(&hex::encode(&bytes[..take]));
    }
    out
}

/// Runs `task` in the background (wasm-bindgen-futures' `spawn_local`). Boxed first, so every caller
/// shares one copy of the spawning code instead of one per future type.
pub(crate) fn spawn(task: impl Future<Output = ()> + 'static) {
    spawn_boxed(Box::pin(task));
}

fn spawn_boxed(task: Pin<Box<dyn Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(task);
}

/// `future`'s output, or `None` if `ms` pass first (the future is then dropped). One function
/// rather than a `select!` per caller, each of which expands to its own polling code.
pub(crate) async fn within<T>(ms: u32, future: impl Future<Output = T>) -> Option<T> {
    let mut future = pin!(future);
    let mut timeout = sleep(ms);
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Pin::new(&mut timeout).poll(cx).map(|_| None),
    })
    .await
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (a window's or a worker's).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: u32);
}

/// Calls `f` once after `ms` milliseconds (`setTimeout`), with no way to cancel it: a caller that may
/// change its mind checks, when `f` runs, whether it still wants it. Boxed first, so every caller
/// shares one copy of the closure's glue; this replaced gloo-timers' `Timeout`.
pub(crate) fn after(ms: u32, f: impl FnOnce() + 'static) {
    after_boxed(ms, Box::new(f));
}

fn after_boxed(ms: u32, f: Box<dyn FnOnce()>) {
    let callback = Closure::once_into_js(f);
    set_timeout(callback.unchecked_ref(), ms);
}

/// Resolves after `ms` milliseconds: a promise `setTimeout` resolves. Dropping it early leaves the
/// timer to resolve a promise nobody awaits, which costs nothing, and saves the cancellable timer
/// futures of gloo-timers (with futures-channel under them).
pub(crate) fn sleep(ms: u32) -> JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _| set_timeout(&resolve, ms));
    JsFuture::from(promise)
}
