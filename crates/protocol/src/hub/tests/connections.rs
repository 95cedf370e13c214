//! Connections and the relay-wide decisions: join, the per-second budgets, caps, memory budgets,
//! eviction.

use super::*;

fn join(conn: &mut HubConnection, peer: &str) {
    let route = conn
        .handle_frame(NOW, &Message::join(peer, false).encode())
        .unwrap();
    let Route::Reply(frame) = route else {
        panic!("{route:?}")
    };
    let Message::Peer { peer_metadata, .. } = Message::decode(&frame).unwrap() else {
        panic!()
    };
    assert_eq!(
        peer_metadata.storage_id.as_deref(),
        Some("chatsync-storage")
    );
}

#[test]
fn a_connection_joins_first_and_speaks_only_as_itself() {
    let mut hub = Hub::new(HubConfig::default());
    let (mut conn, admitted) = hub.connect(1, "alice", NOW, None);
    admitted.unwrap();
    let sync = |sender: &str| {
        Message::Sync {
            sender_id: sender.into(),
            target_id: "relay".into(),
            document_id: id(1),
            data: vec![],
        }
        .encode()
    };
    assert!(matches!(
        conn.handle_frame(NOW, &sync("p")),
        Err(Refusal::NotJoined)
    ));
    let mut conn = hub.connect(2, "alice", NOW, None).0;
    assert!(matches!(
        conn.handle_frame(NOW, b"\xff"),
        Err(Refusal::Malformed(_))
    ));
    let mut conn = hub.connect(3, "alice", NOW, None).0;
    join(&mut conn, "p");
    assert_eq!(conn.handle_frame(NOW, &sync("q")).unwrap(), Route::Nothing);
    assert!(matches!(
        conn.handle_frame(NOW, &sync("p")).unwrap(),
        Route::Sync(SyncRequest { request: false, .. })
    ));
}

#[test]
fn a_connection_over_its_frames_per_second_is_refused_and_the_next_second_starts_afresh() {
    let config = HubConfig {
        max_frames_per_second: 3,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut conn = hub.connect(1, "alice", NOW, None).0;
    join(&mut conn, "p");
    let leave = Message::Leave {
        sender_id: "p".into(),
    }
    .encode();
    conn.handle_frame(NOW, &leave).unwrap();
    conn.handle_frame(NOW, &leave).unwrap();
    assert!(matches!(
        conn.handle_frame(NOW, &leave),
        Err(Refusal::Flood(3))
    ));
    let later = Duration::from_secs(1);
    assert_eq!(conn.handle_frame(later, &leave).unwrap(), Route::Leave);
}

#[test]
fn connections_and_sessions_beyond_their_caps_are_refused() {
    let config = HubConfig {
        max_connections_per_user: 1,
        max_documents_per_connection: 2,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let (mut first, admitted) = hub.connect(1, "alice", NOW, None);
    admitted.unwrap();
    let (mut second, refused) = hub.connect(2, "alice", NOW, None);
    assert!(matches!(refused, Err(Refusal::TooManyConnections(1))));
    hub.disconnect(&mut second);
    assert_eq!(hub.connections_of("alice"), 1);
    hub.open_session(&mut first, id(1)).unwrap();
    hub.open_session(&mut first, id(2)).unwrap();
    hub.open_session(&mut first, id(1)).unwrap();
    assert!(matches!(
        hub.open_session(&mut first, id(3)),
        Err(Refusal::TooManyDocuments(2))
    ));
    hub.disconnect(&mut first);
    hub.disconnect(&mut first);
    assert_eq!(hub.connections_of("alice"), 0);
}

#[test]
fn a_spent_budget_evicts_the_users_own_idle_documents_first_least_recently_used() {
    let config = HubConfig {
        max_document_bytes_per_user: 2 * budget::DOCUMENT_OVERHEAD_BYTES,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    hub.document_loaded(id(1), "alice", 0);
    hub.document_loaded(id(2), "alice", 0);
    hub.document_loaded(id(3), "bob", 0);
    let candidate = |n, last_used, idle| Candidate {
        id: id(n),
        last_used: Duration::from_secs(last_used),
        stored_bytes: 0,
        idle,
    };
    let candidates = vec![
        candidate(1, 5, true),
        candidate(2, 1, false),
        candidate(3, 0, true),
    ];
    // Bob's document is older, but only alice's own make room in her budget.
    assert_eq!(hub.admit_load("alice", candidates).unwrap(), vec![id(1)]);
    assert_eq!(hub.documents_loaded(), 2);
    hub.document_loaded(id(4), "alice", 0);
    assert!(matches!(
        hub.admit_load("alice", vec![candidate(2, 1, false)]),
        Err(Refusal::MemoryBudget {
            scope: BudgetScope::User,
            ..
        })
    ));
}

#[test]
fn periodic_eviction_takes_idle_documents_unused_too_long_or_over_the_memory_budget() {
    let config = HubConfig {
        memory_budget_bytes: 100,
        idle_eviction: Duration::from_secs(60),
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let candidate = |n, last_used, stored_bytes, idle| Candidate {
        id: id(n),
        last_used: Duration::from_secs(last_used),
        stored_bytes,
        idle,
    };
    let now = Duration::from_secs(100);
    let candidates = vec![
        candidate(1, 10, 10, true),  // unused too long
        candidate(2, 90, 80, true),  // over the budget with 3
        candidate(3, 95, 60, false), // in use
        candidate(4, 99, 10, true),  // fits
    ];
    assert_eq!(hub.evictions(now, candidates), vec![id(1), id(2)]);
}
