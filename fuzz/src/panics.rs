//! Containing the panics Automerge 0.12.0 raises on hostile or corrupt input instead of returning an
//! error, so the targets go on looking for chatsync's own.
//!
//! The model target found a dozen within seconds, all while Automerge loads bytes whose chunk
//! checksums are valid: assertions in op_set2/change/collector.rs and batch.rs, change_graph.rs and
//! types.rs, `unwrap`s of decode errors in hexane (its column codec), a sort whose comparison is not
//! a total order. One document chunk that panics (collector.rs:299) also passes the sync-message
//! check as a change in a sync message: Automerge peers send whole documents that way to a peer that
//! holds nothing, so it cannot be refused by shape. All are Automerge's to fix; the inputs are in
//! `fuzz/known-crashes/`, and fuzz/README.md says more. The relay already survives them: its
//! connection loop catches a frame's panic, closes that connection and drops the document.
//!
//! libFuzzer's panic hook aborts before any unwinding, so even a caught panic is a crash. The hook
//! installed here lets a panic unwind only while a target runs a call in [`containing`], and only if
//! it is raised outside this repository (in a registry crate or the standard library); it prints
//! where, the first time. Any panic in chatsync's own code, or outside [`containing`], aborts.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::{Mutex, Once};

thread_local! {
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, letting a panic raised outside this repository unwind out of it (to be caught by the
/// caller, or by the relay's connection loop) instead of aborting.
pub fn containing<T>(f: impl FnOnce() -> T) -> T {
    install_hook();
    let before = CONTAINING.replace(true);
    let result = f();
    CONTAINING.set(before);
    result
}

/// Whether a panic at `file` is raised outside this repository: in a crate from Cargo's registry, or
/// in the standard library (a sort given a comparison that is not a total order, say).
fn is_foreign(file: &str) -> bool {
    file.contains("/.cargo/registry/") || file.starts_with("/rustc/")
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| match info.location() {
            Some(at) if CONTAINING.get() && is_foreign(at.file()) => {
                let place = format!("{}:{}", at.file(), at.line());
                if seen.lock().is_ok_and(|mut seen| seen.insert(place)) {
                    eprintln!("contained a panic outside chatsync: {info}");
                }
            }
            _ => fuzzer_hook(info),
        }));
    });
}
