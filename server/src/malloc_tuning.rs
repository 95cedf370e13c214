//! glibc's allocator, tuned for a relay: measured on the single-thread relay benchmark
//! (`relay_workload`, 1,000 streamed messages), the relay held 6.8 MB of live heap but 59 MB from the
//! system, in 8 arenas — one per thread that ever allocated (the async workers, the blocking pool
//! running Automerge, SQLite's thread) — each keeping the high-water mark of its own transient
//! buffers, and buffers over glibc's *dynamic* mmap threshold (which climbs to 32 MB after the first
//! large free) came from those arenas too and stayed there. RSS was 51 MB.
//!
//! Two of glibc's own settings fix it (mallopt(3)): at most two arenas (`MALLOC_ARENA_MAX=2`), and a
//! fixed mmap threshold of 64 KiB (`MALLOC_MMAP_THRESHOLD_`), so a large transient buffer (a saved
//! snapshot, a cold-load reply) is its own mapping, handed back to the system when freed. With both,
//! RSS is 25.5 MB (31.3 MB peak), against 24.2 MB before the Hub rewrite, and p50 latency, throughput
//! and cold loads are unchanged. Other allocators measured on the same run did worse: jemalloc 56.9 MB
//! (29.2 MB with a one-second decay and a background thread, but 63.9 MB peak), mimalloc 76 MB.
//!
//! glibc reads these settings from the environment once, when the process starts, and the workspace
//! forbids the `unsafe` a `mallopt` call needs: so the relay, started without them, starts itself
//! again with them set (`exec`: the same process id, nothing else runs in between). A setting already
//! in the environment is left as the operator set it.

/// The settings, as glibc's environment variables.
pub const SETTINGS: [(&str, &str); 2] = [
    ("MALLOC_ARENA_MAX", "2"),
    ("MALLOC_MMAP_THRESHOLD_", "65536"),
];

/// Starts this program again with [`SETTINGS`] in its environment, unless each is set already (then
/// it returns at once). Returns only if that is not possible (or not glibc), with why; the relay
/// then runs with glibc's defaults.
pub fn apply() -> Result<(), std::io::Error> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return Ok(());
    }
    let missing: Vec<_> = SETTINGS
        .iter()
        .filter(|(name, _)| std::env::var_os(name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let program = std::env::current_exe()?;
    let mut command = std::process::Command::new(program);
    command.args(std::env::args_os().skip(1));
    for (name, value) in missing {
        command.env(name, value);
    }
    exec(command)
}

#[cfg(unix)]
fn exec(mut command: std::process::Command) -> Result<(), std::io::Error> {
    use std::os::unix::process::CommandExt;
    // Returns only on failure.
    Err(command.exec())
}

#[cfg(not(unix))]
fn exec(_: std::process::Command) -> Result<(), std::io::Error> {
    Ok(())
}
