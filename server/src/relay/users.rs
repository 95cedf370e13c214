//! How many connections each user has open, against the per-user cap.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::refusal::Refusal;

/// Open connections per user. A plain map behind a std mutex held for one lookup, never across an
/// await.
#[derive(Debug, Default)]
pub(crate) struct UserConnections {
    open: Mutex<HashMap<String, usize>>,
}

impl UserConnections {
    /// Counts a new connection of `user`, unless they already have `max` open.
    pub(crate) fn open(&self, user: &str, max: usize) -> Result<(), Refusal> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.to_owned()).or_insert(0);
        if *count >= max {
            return Err(Refusal::TooManyConnections(max));
        }
        *count += 1;
        Ok(())
    }

    /// Releases a connection counted by [`UserConnections::open`].
    pub(crate) fn close(&self, user: &str) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(user);
            }
        }
    }

    /// How many connections `user` has open.
    pub(crate) fn count(&self, user: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(user).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_at_the_cap_is_refused_until_one_of_their_connections_closes() {
        let users = UserConnections::default();
        users.open("alice", 2).unwrap();
        users.open("alice", 2).unwrap();
        assert!(matches!(
            users.open("alice", 2),
            Err(Refusal::TooManyConnections(2))
        ));
        users.open("bob", 2).unwrap();
        users.close("alice");
        users.open("alice", 2).unwrap();
        assert_eq!(users.count("alice"), 2);
        users.close("bob");
        assert_eq!(users.count("bob"), 0);
    }
}
