//! How many connections each user has open, against the per-user cap.

use std::collections::HashMap;

use super::refusal::Refusal;

/// Open connections per user.
#[derive(Debug, Default)]
pub(super) struct UserConnections {
    open: HashMap<String, usize>,
}

impl UserConnections {
    /// Counts a new connection of `user`, unless they already have `max` open.
    pub(super) fn open(&mut self, user: &str, max: usize) -> Result<(), Refusal> {
        let count = self.open.entry(user.to_owned()).or_insert(0);
        if *count >= max {
            return Err(Refusal::TooManyConnections(max));
        }
        *count += 1;
        Ok(())
    }

    /// Releases a connection counted by [`UserConnections::open`].
    pub(super) fn close(&mut self, user: &str) {
        if let Some(count) = self.open.get_mut(user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.open.remove(user);
            }
        }
    }

    /// How many connections `user` has open.
    pub(super) fn count(&self, user: &str) -> usize {
        self.open.get(user).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_at_the_cap_is_refused_until_one_of_their_connections_closes() {
        let mut users = UserConnections::default();
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
