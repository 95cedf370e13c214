//! Several relays on one PostgreSQL database: devices on different relays converge live, every relay
//! answers every user the same way, compactions by two relays at once lose nothing, a relay killed
//! with `kill -9` loses nothing it acknowledged, and a database outage refuses writes until it ends.
//! Needs `CHATSYNC_TEST_DATABASE_URL` (see `support/postgres.rs`).

#[path = "support/relay.rs"]
mod relay;
#[path = "support/postgres.rs"]
mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};
use chatsync_client::{Client, ClientConfig, ClientError};
use chatsync_relay::storage::{PostgresOptions, Storage};
use relay::{TestRelay, WAIT, client_at, create, put, relays, token};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_on_three_relays_of_one_database_converge_live() {
    let Some(relays) = relays(3).await else {
        return;
    };
    let mut devices = Vec::new();
    for (n, relay) in relays.iter().enumerate() {
        devices.push(relay.client("alice", &format!("device-{n}")).await);
    }
    let id = create(&devices[0]).await;
    for device in &devices[1..] {
        device.find(id, WAIT).await.unwrap();
    }
    // Each device's change reaches the devices on the other relays, live.
    for (n, device) in devices.iter().enumerate() {
        let heads = put(device, id, &format!("from-{n}")).await;
        for other in &devices {
            other
                .holds(id, heads.clone(), WAIT)
                .await
                .unwrap_or_else(|e| {
                    panic!("a change through relay {n} did not reach every device: {e}")
                });
        }
    }
    // All at once: everyone ends up with everything.
    let written = futures_util::future::join_all(
        devices
            .iter()
            .enumerate()
            .map(|(n, d)| async move { put(d, id, &format!("together-{n}")).await }),
    )
    .await;
    for device in &devices {
        for heads in &written {
            device.holds(id, heads.clone(), WAIT).await.unwrap();
        }
    }
    let mut doc = devices[2].get(id).await.unwrap();
    for n in 0..3 {
        assert!(
            doc.get(ROOT, format!("together-{n}").as_str())
                .unwrap()
                .is_some()
        );
    }
    let heads = doc.get_heads();
    for device in &devices {
        assert_eq!(device.get(id).await.unwrap().get_heads(), heads);
    }
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_is_refused_on_every_relay() {
    let Some(relays) = relays(2).await else {
        return;
    };
    let alice = relays[0].client("alice", "alice-laptop").await;
    let id = create(&alice).await;
    for relay in &relays {
        let mallory = relay.client("mallory", "mallory").await;
        assert!(
            matches!(
                mallory.find(id, WAIT).await,
                Err(ClientError::Unavailable(_))
            ),
            "relay {} showed alice's document to mallory",
            relay.addr
        );
        // Writing into it is refused too: nothing of mallory's is acknowledged or stored.
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "mallory", true).unwrap();
        let heads = doc.get_heads();
        mallory.insert(id, doc).await.unwrap();
        assert!(
            mallory
                .acknowledged(id, heads, Duration::from_secs(2))
                .await
                .is_err()
        );
        mallory.close();
    }
    for relay in &relays {
        let stored = relay.relay.storage().load(&id).await.unwrap().unwrap();
        assert_eq!(stored.owner, "alice");
        let reader = relay.client("alice", "alice-phone").await;
        let doc = reader.find(id, WAIT).await.unwrap();
        assert!(doc.get(ROOT, "mallory").unwrap().is_none());
    }
    // Every relay derives the same index document for a user.
    assert_eq!(
        relays[0].relay.index_document_id("alice"),
        relays[1].relay.index_document_id("alice")
    );
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_compacting_one_document_at_once_lose_nothing() {
    let Some(relays) = relays(2).await else {
        return;
    };
    let (a, b) = (
        relays[0].client("alice", "a").await,
        relays[1].client("alice", "b").await,
    );
    let id = create(&a).await;
    b.find(id, WAIT).await.unwrap();
    // Both devices stream changes, each waiting for its acknowledgement, while both relays compact
    // the document over and over: each compaction races the other relay's appends and compaction.
    let stream = move |device: Client, prefix: &'static str| async move {
        let mut keys = Vec::new();
        for n in 0..80 {
            let key = format!("{prefix}{n}");
            let heads = put(&device, id, &key).await;
            device.acknowledged(id, heads, WAIT).await.unwrap();
            keys.push(key);
        }
        keys
    };
    let streams = tokio::spawn(async move { tokio::join!(stream(a, "a"), stream(b, "b")) });
    let mut compactions = 0;
    while !streams.is_finished() {
        tokio::join!(relays[0].relay.compact_all(), relays[1].relay.compact_all());
        compactions += 1;
        tokio::task::yield_now().await;
    }
    let (keys_a, keys_b) = streams.await.unwrap();
    let keys: Vec<String> = keys_a.into_iter().chain(keys_b).collect();
    assert!(compactions > 5, "only {compactions} rounds of compaction");
    let stored = relays[0].relay.storage().load(&id).await.unwrap().unwrap();
    let mut doc = AutoCommit::load(&stored.snapshot).unwrap();
    doc.load_incremental(&stored.chunks.concat()).unwrap();
    for key in &keys {
        assert!(
            doc.get(ROOT, key.as_str()).unwrap().is_some(),
            "{key} lost from storage"
        );
    }
    // A device on the other relay gets all of it (the last changes a moment after they were
    // acknowledged on the first: the notice, the read and the merge take a few milliseconds).
    let reader = relays[1].client("alice", "reader").await;
    reader.find(id, WAIT).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let read = reader.get(id).await.unwrap();
        let missing: Vec<&String> = keys
            .iter()
            .filter(|key| read.get(ROOT, key.as_str()).unwrap().is_none())
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never served: {missing:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for relay in relays {
        relay.stop().await;
    }
}

/// A relay process, killed when dropped (so a failing test leaves none behind).
struct Process(Child);

impl Process {
    /// `kill -9`, and wait for it to be gone.
    fn kill(&mut self) {
        self.0.kill().expect("kill -9");
        self.0.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The relay binary on `url`, with development auth (the token is the user id), on a free port.
fn start_binary(url: &str) -> (Process, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Process(
        Command::new(env!("CARGO_BIN_EXE_chatsync-relay"))
            .args(["serve", "--insecure-dev-auth", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("CHATSYNC_DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the relay binary"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the relay did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_stream_loses_nothing_and_its_client_moves_to_another() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let (mut doomed, doomed_port) = start_binary(&url);
    let (mut survivor, survivor_port) = start_binary(&url);
    let url_of = |port: u16| format!("ws://127.0.0.1:{port}/sync");
    // The writer knows both relays; it starts on the one about to die.
    let mut config = ClientConfig::new(url_of(doomed_port), "alice", "writer")
        .with_fallbacks([url_of(survivor_port)]);
    config.min_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(200);
    let writer = Client::connect(config).await.unwrap();
    let watcher = client_at(&url_of(survivor_port), "alice", "watcher").await;
    let id = create(&writer).await;
    watcher.find(id, WAIT).await.unwrap();

    // Stream as fast as acknowledgements come back; kill the writer's relay mid-stream. The stream
    // goes on: every change is acknowledged, by one relay or the other.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Vec<ChangeHash>)>::new()));
    let stop = CancellationToken::new();
    let stream = tokio::spawn({
        let (writer, acknowledged, stop) = (writer.clone(), acknowledged.clone(), stop.clone());
        async move {
            for i in 0.. {
                if stop.is_cancelled() {
                    break;
                }
                let key = format!("token-{i}");
                let heads = put(&writer, id, &key).await;
                writer
                    .acknowledged(id, heads.clone(), WAIT)
                    .await
                    .unwrap_or_else(|e| panic!("{key} never acknowledged: {e}"));
                acknowledged.lock().unwrap().push((key, heads));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    doomed.kill();
    let before_kill = acknowledged.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.cancel();
    stream.await.unwrap();
    writer.close();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        before_kill >= 10,
        "too few writes before the kill: {before_kill}"
    );
    assert!(
        acknowledged.len() >= before_kill + 10,
        "the writer did not go on through the other relay: {} acknowledged, {before_kill} before the kill",
        acknowledged.len()
    );

    // The device on the other relay saw every acknowledged change live…
    let (_, last) = acknowledged.last().unwrap();
    watcher.holds(id, last.clone(), WAIT).await.unwrap();
    // …and a device arriving afterwards finds every one in storage.
    let reader = client_at(&url_of(survivor_port), "alice", "reader").await;
    let doc = reader.find(id, WAIT).await.unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .map(|(key, _)| key)
        .filter(|key| doc.get(ROOT, key.as_str()).unwrap().is_none())
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged changes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "{before_kill} changes acknowledged before kill -9, {} in all; all present on the other relay",
        acknowledged.len()
    );
    survivor.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_connects_to_a_fallback_when_the_first_relay_is_down() {
    let Some(relays) = relays(1).await else {
        return;
    };
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("ws://{}/sync", dead.local_addr().unwrap());
    drop(dead);
    let live_url = format!("ws://{}/sync", relays[0].addr);
    let config =
        ClientConfig::new(dead_url.clone(), token("alice"), "device").with_fallbacks([live_url]);
    let device = Client::connect(config)
        .await
        .expect("connects through the fallback");
    create(&device).await;
    // With no relay up at all, connecting fails and names each one tried.
    let config = ClientConfig::new(dead_url.clone(), token("alice"), "device");
    match Client::connect(config).await {
        Err(ClientError::Connect(message)) => assert!(message.contains(&dead_url), "{message}"),
        other => panic!("connected to nothing? {other:?}"),
    }
    for relay in relays {
        relay.stop().await;
    }
}

/// A plain HTTP GET's status.
async fn status(addr: SocketAddr, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_down_writes_are_refused_and_readyz_fails_until_it_is_back() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let proxy = support::Proxy::start(&url).await;
    let mut options = PostgresOptions::new(support::via(&url, proxy.addr));
    options.acquire_timeout = Duration::from_secs(1);
    let relay = TestRelay::start(&options).await;
    assert_eq!(status(relay.addr, "/readyz").await, 200);
    let device = relay.client("alice", "device").await;
    let id = create(&device).await;

    proxy.cut();
    let during = put(&device, id, "during").await;
    assert!(
        device
            .acknowledged(id, during.clone(), Duration::from_secs(3))
            .await
            .is_err(),
        "a change was acknowledged while the database was down"
    );
    assert_eq!(status(relay.addr, "/readyz").await, 503);
    assert_eq!(status(relay.addr, "/healthz").await, 200);

    proxy.restore();
    let deadline = Instant::now() + WAIT;
    while status(relay.addr, "/readyz").await != 200 {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The device reconnects by itself, and its change is stored and acknowledged now.
    device.acknowledged(id, during, WAIT).await.unwrap();
    let after = put(&device, id, "after").await;
    device.acknowledged(id, after, WAIT).await.unwrap();
    let stored = relay.relay.storage().load(&id).await.unwrap().unwrap();
    let mut doc = if stored.snapshot.is_empty() {
        AutoCommit::new()
    } else {
        AutoCommit::load(&stored.snapshot).unwrap()
    };
    doc.load_incremental(&stored.chunks.concat()).unwrap();
    assert!(doc.get(ROOT, "during").unwrap().is_some());
    assert!(doc.get(ROOT, "after").unwrap().is_some());
    relay.stop().await;
}

/// The bytes PostgreSQL holds of `id`: snapshot and heads lengths, the chunks' count.
async fn raw_postgres(url: &str, id: &chatsync_protocol::DocumentId) -> (i64, i64, i64) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let (snapshot, heads): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(length(snapshot)), 0)::BIGINT, \
         COALESCE(SUM(length(heads) + length(snapshot_heads)), 0)::BIGINT \
         FROM documents WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks WHERE document_id = $1")
        .bind(id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (snapshot, heads, chunks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_on_one_relay_erases_the_bytes_and_no_relay_takes_the_document_back() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let options = PostgresOptions::new(url.clone());
    let (a, b) = (
        TestRelay::start(&options).await,
        TestRelay::start(&options).await,
    );
    let phone = a.client("alice", "phone").await;
    let laptop = b.client("alice", "laptop").await;
    let id = create(&phone).await;
    put(&phone, id, "secret").await;
    // Relay b holds the document in memory, with the laptop's session on it.
    laptop.find(id, WAIT).await.unwrap();
    assert!(raw_postgres(&url, &id).await.2 > 0);

    a.relay.purge_document("alice", &id).await.unwrap();
    assert_eq!(raw_postgres(&url, &id).await, (0, 0, 0));
    assert!(a.relay.is_purged(&id).await.unwrap());
    // Both devices still hold it and write to it: neither relay stores anything.
    put(&laptop, id, "through-b").await;
    put(&phone, id, "through-a").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(raw_postgres(&url, &id).await, (0, 0, 0));
    assert!(b.relay.storage().load(&id).await.unwrap().is_none());
    // A device offering the whole old document, on either relay, is refused too.
    for relay in [&a, &b] {
        let fresh = relay.client("alice", "fresh").await;
        fresh
            .insert(id, phone.get(id).await.unwrap())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(raw_postgres(&url, &id).await, (0, 0, 0));
        fresh.close();
        let other = relay.client("alice", "other").await;
        assert!(other.find(id, Duration::from_secs(2)).await.is_err());
        other.close();
    }
    // Another user cannot purge (or claim) alice's documents.
    let theirs = create(&phone).await;
    let refused = b
        .relay
        .purge_document("mallory", &theirs)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, chatsync_relay::relay::LocalWriteError::NotFound),
        "{refused}"
    );
    assert!(raw_postgres(&url, &theirs).await.2 > 0);
    phone.close();
    laptop.close();
    a.stop().await;
    b.stop().await;
}

/// `POST /api/query` of `user` on `addr`: the answer's status and JSON body.
async fn api_query(
    addr: SocketAddr,
    user: &str,
    path: &str,
    args: serde_json::Value,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "path": path, "args": args }).to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/query HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        token(user),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(json).unwrap_or_default())
}

async fn search(addr: SocketAddr, user: &str, query: &str) -> Vec<serde_json::Value> {
    let (status, body) = api_query(
        addr,
        user,
        "threads:search",
        serde_json::json!({ "query": query }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_synced_to_one_relay_is_searched_on_another_and_gone_once_purged() {
    use chatsync_model::{Limits, MessageId, NewMessage, Role, Thread, ThreadId, ThreadInit};
    let Some(relays) = relays(2).await else {
        return;
    };
    let (a, b) = (&relays[0], &relays[1]);
    let phone = a.client("alice", "phone").await;
    let doc = relay::new_id();
    let mut init = ThreadInit::new(
        ThreadId::new(doc.to_string()).unwrap(),
        automerge::ActorId::random(),
        1_000,
    );
    init.title = Some("Voyage".into());
    phone
        .create_thread(doc, Thread::create(init, Limits::default()).unwrap())
        .await
        .unwrap();
    phone
        .change_thread(doc, |t| {
            let m = NewMessage::new(MessageId::new("m1").unwrap(), Role::User, "Un Café à Paris");
            t.append_message(m, 2_000)
        })
        .await
        .unwrap();
    // Relay a indexes what it stored in PostgreSQL's search table; relay b, which never held the
    // thread, finds it there.
    let deadline = Instant::now() + WAIT;
    let found = loop {
        let found = search(b.addr, "alice", "cafe par").await;
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["threadId"], doc.to_string());
    assert_eq!(found[0]["messageId"], "m1");
    assert_eq!(
        found[0]["highlights"],
        serde_json::json!([[3, 7], [10, 15]])
    );
    assert!(search(b.addr, "mallory", "cafe par").await.is_empty());
    let (status, body) = api_query(
        b.addr,
        "alice",
        "threads:search",
        serde_json::json!({ "query": "" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_input"))
    );

    a.relay.purge_document("alice", &doc).await.unwrap();
    assert!(search(b.addr, "alice", "cafe").await.is_empty());
    assert!(search(b.addr, "alice", "voyage").await.is_empty());
    phone.close();
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_on_one_relay_drops_the_copy_another_relay_holds_at_once() {
    use chatsync_model::{Limits, Thread, ThreadId, ThreadInit};
    let Some(relays) = relays(2).await else {
        return;
    };
    let (a, b) = (&relays[0], &relays[1]);
    let phone = a.client("alice", "phone").await;
    let doc = relay::new_id();
    let mut init = ThreadInit::new(
        ThreadId::new(doc.to_string()).unwrap(),
        automerge::ActorId::random(),
        1_000,
    );
    init.title = Some("Secret plans".into());
    phone
        .create_thread(doc, Thread::create(init, Limits::default()).unwrap())
        .await
        .unwrap();
    // Relay b reads the thread over its HTTP API: it now holds a copy in memory.
    let get = || {
        api_query(
            b.addr,
            "alice",
            "threads:get",
            serde_json::json!({ "threadId": doc.to_string() }),
        )
    };
    // (Once relay a has stored it: `create_thread` returns before the relay's acknowledgement.)
    let deadline = Instant::now() + WAIT;
    let (status, body) = loop {
        let (status, body) = get().await;
        if status == 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"]["title"], "Secret plans");

    a.relay.purge_document("alice", &doc).await.unwrap();
    // Without the purge's notice, b would serve its copy until idle eviction (a minute).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (status, body) = loop {
        let (status, body) = get().await;
        if status != 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("purged")),
        "{body}"
    );
    phone.close();
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_on_one_relay_ends_the_grantees_session_on_another() {
    use chatsync_relay::storage::{Share, ShareAccess};
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let options = PostgresOptions::new(url.clone());
    let (a, b) = (
        TestRelay::start(&options).await,
        TestRelay::start(&options).await,
    );
    let alice = a.client("alice", "alice-phone").await;
    let id = create(&alice).await;
    let share = Share {
        document: id,
        owner: "alice".into(),
        grantee: "bob".into(),
        access: ShareAccess::Write,
        granted_at_ms: 1,
    };
    assert!(a.relay.storage().share_put(&share).await.unwrap());
    // Bob follows the document on relay b, and hears alice's change through relay a.
    let bob = b.client("bob", "bob-phone").await;
    bob.find(id, WAIT).await.unwrap();
    let before = put(&alice, id, "before").await;
    bob.holds(id, before, WAIT).await.unwrap();
    // Revoked through relay a: relay b ends bob's session, so nothing more reaches him.
    assert!(
        a.relay
            .storage()
            .share_remove(&id, "alice", "bob")
            .await
            .unwrap()
    );
    a.relay.drop_grantee(&id, "bob").await;
    let gone = Instant::now() + WAIT;
    while b.relay.sessions_on(&id).await > 0 && Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        b.relay.sessions_on(&id).await,
        0,
        "bob's session on relay b"
    );
    let after = put(&alice, id, "after").await;
    assert!(
        bob.holds(id, after, Duration::from_millis(600))
            .await
            .is_err(),
        "a revoked grantee on another relay heard a change"
    );
    // And his writes are refused there.
    let late = put(&bob, id, "late").await;
    assert!(
        bob.acknowledged(id, late, Duration::from_millis(600))
            .await
            .is_err()
    );
    alice.close();
    bob.close();
    a.stop().await;
    b.stop().await;
}
