//! `chatsync-relay`: see the library docs.

fn main() {}
