//! Containing the panics Automerge 0.12.0 raises on some hostile or corrupt inputs instead of
//! returning an error, so the targets go on looking for chatsync's own.
//!
//! Found by these targets (the inputs are in `fuzz/known-crashes/`, fuzz/README.md says more):
//! `assertion failed: self.data[index].is_none()` (op_set2/change/collector.rs:299) while
//! reconstructing a document chunk — one loaded from storage, or one a peer sends as the `changes` of
//! a sync message, as every Automerge peer does for a peer that holds nothing — and
//! `assertion left == right failed` (change_graph.rs:569) while loading one, and an `unwrap` of a
//! `PackError` in hexane (Automerge's column codec; lib.rs:354) decoding a column of one. All are
//! Automerge's to fix. The relay already survives them: its connection loop catches a frame's panic, closes that
//! connection and drops the document from memory.
//!
//! libFuzzer's panic hook aborts before any unwinding, so a caught panic is still a crash. This wraps
//! it: a panic raised inside Automerge's source unwinds (for the target, or the relay, to catch), and
//! its place is printed the first time; any other panic aborts as before.

use std::collections::HashSet;
use std::sync::{Mutex, Once};

/// Where Automerge's source is, in a panic's location: its own crate and its column codec, at the
/// versions in Cargo.lock.
const AUTOMERGE_SOURCES: &[&str] = &["/automerge-0.12.0/src/", "/hexane-1.0.0-alpha.5/src/"];

/// Installs the wrapper around libFuzzer's hook; call it on every input (only the first installs
/// it, after libFuzzer has installed its own).
pub fn contain_automerge_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| match info.location() {
            Some(at) if AUTOMERGE_SOURCES.iter().any(|s| at.file().contains(s)) => {
                let place = format!("{}:{}", at.file(), at.line());
                if seen.lock().is_ok_and(|mut seen| seen.insert(place.clone())) {
                    eprintln!("contained a panic inside Automerge: {info}");
                }
            }
            _ => fuzzer_hook(info),
        }));
    });
}
