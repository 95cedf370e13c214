//! The open-files limit: every WebSocket holds a file descriptor, and the usual soft limit (1,024)
//! is far below what one relay can serve (10,000 idle connections fit in a few hundred MB). The relay
//! raises its soft limit to the hard one at start, before the TCP-connection cap is derived from it
//! (`accept.rs`).

/// The soft and hard limits before, and the soft limit after, raising.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
    /// The hard limit (the most an unprivileged process may raise to).
    pub hard: u64,
}

/// Raises the soft open-files limit to the hard limit and logs the result. A failure is logged and
/// leaves the limit as it was: the connection cap then follows the lower limit.
pub fn raise_to_hard_limit() -> Option<OpenFiles> {
    let raised = rlimit::getrlimit(rlimit::Resource::NOFILE).and_then(|(before, hard)| {
        let now = rlimit::increase_nofile_limit(hard)?;
        Ok(OpenFiles { before, now, hard })
    });
    match raised {
        Ok(limits) => {
            tracing::info!(
                before = limits.before,
                now = limits.now,
                hard = limits.hard,
                "open-files limit (ulimit -n) raised to the hard limit"
            );
            Some(limits)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-files limit (ulimit -n)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
        let limits = raise_to_hard_limit().expect("getrlimit works here");
        assert_eq!(limits.now, limits.hard);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(soft, limits.hard);
    }
}
