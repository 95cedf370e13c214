//! Interop with the JS implementation (npm @automerge/automerge-repo 2.5.6), both ways:
//! a JS automerge-repo client creates and finds documents through our relay, and our native client
//! syncs through the reference JS sync server. Needs `npm ci` in tests/js (scripts/test.sh does it).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use chatsync_client::{Client, ClientConfig};
use chatsync_integration::{TestRelay, init_logging, new_document_id};
use chatsync_protocol::DocumentId;
use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};

const WAIT: Duration = Duration::from_secs(15);

fn js_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        dir.join("node_modules/@automerge/automerge-repo").exists(),
        "the JS peers are not installed: run scripts/test.sh, or `npm ci` in {}",
        dir.display()
    );
    dir
}

/// A node process running tests/js/peer.mjs; it lives until dropped (its stdin closes).
struct JsPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    first_line: String,
}

impl JsPeer {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .args(args)
            .current_dir(js_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is installed");
        // The first line that is ours: the reference server logs "Listening on port …" first.
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        loop {
            first_line.clear();
            if reader.read_line(&mut first_line).unwrap() == 0
                || !first_line.starts_with("Listening")
            {
                break;
            }
        }
        // Keep reading what it prints: a closed pipe would kill it at its next write (EPIPE).
        std::thread::spawn(move || for _ in reader.lines() {});
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            first_line: first_line.trim().to_owned(),
        }
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `node peer.mjs find`: the document as JSON, or the failure.
fn js_find(url: &str, id: DocumentId) -> Result<String, String> {
    let output = Command::new("node")
        .args(["peer.mjs", "find", url, &id.to_string()])
        .current_dir(js_dir())
        .output()
        .expect("node is installed");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// The `title` field, whether a plain string (as we write it) or a `Text` (as JS Automerge 3 writes
/// every string by default).
fn title(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, "title").ok().flatten()? {
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        (value, _) => value.into_string().ok(),
    }
}

#[tokio::test]
async fn a_js_automerge_repo_client_creates_and_finds_documents_through_our_relay() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let alice_url = format!("{}?token={}", relay.url(), relay.token("alice"));

    // JS creates; our client finds it.
    let js = JsPeer::spawn(&["create", &alice_url, r#"{"title":"from js"}"#]);
    let id: DocumentId = js.first_line.parse().expect("a document id");
    let rust = relay.client("alice", "rust-a").await;
    // The JS client prints the id at once and syncs it in the background: ask until the relay has it.
    let mut found = None;
    for _ in 0..300 {
        match rust.find(id, WAIT).await {
            Ok(doc) => {
                found = Some(doc);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let found = found.expect("our client finds the JS document");
    eprintln!(
        "DEBUG keys={:?} heads={}",
        found.keys(ROOT).collect::<Vec<_>>(),
        found.clone().get_heads().len()
    );
    assert_eq!(title(&found).as_deref(), Some("from js"));
    drop(js);

    // Our client creates; JS finds it.
    let id = new_document_id();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "from rust").unwrap();
    doc.commit();
    let heads = doc.get_heads();
    rust.insert(id, doc).await.unwrap();
    rust.acknowledged(id, heads, WAIT).await.unwrap();
    let url = alice_url.clone();
    let json = tokio::task::spawn_blocking(move || js_find(&url, id))
        .await
        .unwrap();
    assert_eq!(json.unwrap(), r#"{"title":"from rust"}"#);

    // After a relay restart the document is not in memory: the JS client's cold load is answered
    // straight from storage (a whole-document sync message), which it must accept too.
    let addr = relay.addr;
    rust.close(); // or it would reconnect and load the document into the relay first
    relay.stop().await;
    let relay = TestRelay::start_on(dir.path(), addr).await;
    let url = format!("{}?token={}", relay.url(), relay.token("alice"));
    let json = tokio::task::spawn_blocking(move || js_find(&url, id))
        .await
        .unwrap();
    assert_eq!(json.unwrap(), r#"{"title":"from rust"}"#);

    // Another user's JS client is told the document is unavailable.
    let bob_url = format!("{}?token={}", relay.url(), relay.token("bob"));
    let refused = tokio::task::spawn_blocking(move || js_find(&bob_url, id))
        .await
        .unwrap();
    assert!(refused.unwrap_err().contains("unavailable"));
    relay.stop().await;
}

#[tokio::test]
async fn our_client_syncs_through_the_js_reference_sync_server() {
    init_logging();
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = JsPeer::spawn(&["server", &port.to_string(), data.path().to_str().unwrap()]);
    assert_eq!(server.first_line, "ready");
    let url = format!("ws://127.0.0.1:{port}");
    let connect = |peer: &str| Client::connect(ClientConfig::new(url.clone(), "unused", peer));

    let a = connect("rust-a").await.expect("connects to the JS server");
    let id = new_document_id();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "through js").unwrap();
    doc.commit();
    let heads = doc.get_heads();
    a.insert(id, doc).await.unwrap();
    a.acknowledged(id, heads, WAIT)
        .await
        .expect("the JS server acknowledges");

    let b = connect("rust-b").await.unwrap();
    let found = b.find(id, WAIT).await.expect("found through the JS server");
    assert_eq!(title(&found).as_deref(), Some("through js"));

    // A change from B reaches A through the JS server.
    let heads = b
        .change(id, |doc| doc.put(ROOT, "title", "edited by b").unwrap())
        .await
        .unwrap();
    b.acknowledged(id, heads, WAIT).await.unwrap();
    let mut seen = None;
    for _ in 0..500 {
        seen = title(&a.get(id).await.unwrap());
        if seen.as_deref() == Some("edited by b") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.as_deref(), Some("edited by b"));
    drop(server);
}
