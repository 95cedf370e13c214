//! What chatsync's fuzz targets (in `fuzz_targets/`, one per file) and their seed writer
//! (`examples/write_seeds.rs`) share:
//!
//! - [`records`]: how the relay target cuts one fuzz input into WebSocket frames for two connections;
//! - [`fixtures`]: small real documents (a thread with every part of the schema, an index) and the
//!   ids the relay target stores them under;
//! - [`storage`]: the relay's storage trait in memory, so a fuzz input costs no database;
//! - [`chunks`]: re-sealing Automerge chunk checksums, so mutated documents reach past the checksum;
//! - [`panics`]: containing the panics Automerge itself raises on hostile input (known, reported).

pub mod chunks;
pub mod fixtures;
pub mod panics;
pub mod records;
#[cfg(feature = "targets")]
pub mod storage;
