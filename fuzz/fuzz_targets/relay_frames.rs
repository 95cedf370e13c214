//! The relay fed arbitrary frames: the real connection loop (`serve_connection`: join handshake,
//! refusals, sync with store-before-acknowledge, ephemeral fan-out, cleanup), two connections of one
//! user over channels, storage in memory holding a real thread under the document id the captured
//! frames sync. Each input is a sequence of frames for the two connections (`chatsync_fuzz::records`),
//! served on a fresh relay, so inputs do not affect each other.
//!
//! When the sans-IO `Hub` lands, this becomes the Hub target: the same records fed to
//! `Hub::handle_*` with no runtime at all, at many times the rate.
//!
//! Besides "no panic" (the loop catches a panic in a frame's handling and closes the connection, but
//! libFuzzer's panic hook aborts first, so it still counts as a crash), it checks that every message
//! the relay sends decodes, and that once both connections end nothing of them is left registered.
//! The one exception: a panic raised outside chatsync, inside Automerge (`chatsync_fuzz::panics`,
//! known and reported), is left to the loop to catch, as in production — which then tests that the
//! cleanup after a panic holds. A panic in the relay's or the protocol's own code aborts.
#![no_main]

use std::sync::{Arc, OnceLock};

use chatsync_fuzz::records::{self, Record};
use chatsync_fuzz::{fixtures, panics, storage::MemoryStorage};
use chatsync_protocol::Message;
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Frame, Identity, Inbound, Limits, Relay, serve_connection};
use chatsync_relay::storage::StoredDocument;
use futures_util::{sink, stream};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One current-thread runtime for the whole process: building one per input would cost more than
/// most inputs do. Current-thread, so the two connections interleave the same way on every run.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

/// The stored thread, saved once.
fn stored() -> &'static StoredDocument {
    static STORED: OnceLock<StoredDocument> = OnceLock::new();
    STORED.get_or_init(|| {
        let mut thread = fixtures::thread(b"stored");
        StoredDocument {
            owner: fixtures::USER.into(),
            heads: thread.heads(),
            snapshot: thread.save().expect("a saved thread"),
            chunks: Vec::new(),
        }
    })
}

/// The defaults, but with caps small enough for short inputs to reach: a few documents per
/// connection, and a stored size a few large frames exceed.
fn limits() -> Limits {
    Limits {
        max_documents_per_connection: 4,
        max_document_bytes: 256 << 10,
        ..Limits::default()
    }
}

fuzz_target!(|input: &[u8]| {
    panics::containing(|| runtime().block_on(serve(records::parse(input))));
});

async fn serve(frames: Vec<(usize, Record)>) {
    let storage = MemoryStorage::with([(fixtures::captured_document(), stored().clone())]);
    let identity = Identity {
        storage_id: "fuzz".into(),
        index_secret: b"fuzz-index-secret".to_vec(),
    };
    let relay = Arc::new(Relay::new(storage, Auth::InsecureDev, limits(), identity));
    let shutdown = CancellationToken::new();
    let mut inboxes = Vec::new();
    let mut outboxes = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (to_relay, inbound) = mpsc::unbounded_channel::<Inbound>();
        let (outbound, from_relay) = mpsc::unbounded_channel::<Frame>();
        let inbound = Box::pin(stream::unfold(inbound, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        }));
        let outbound = Box::pin(sink::unfold(outbound, |tx, frame: Frame| async move {
            tx.send(frame).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        }));
        tasks.push(tokio::spawn(serve_connection(
            relay.clone(),
            fixtures::USER.into(),
            inbound,
            outbound,
            shutdown.clone(),
        )));
        inboxes.push(to_relay);
        outboxes.push(from_relay);
    }
    for (conn, frame) in frames {
        // A connection that has ended (closed, refused) no longer reads: like a socket gone.
        let _ = inboxes[conn].send(to_inbound(frame));
        // Let the connections handle it before the next frame, as a socket's pace would.
        tokio::task::yield_now().await;
    }
    // The sockets close: both loops end and clean up.
    drop(inboxes);
    for task in tasks {
        task.await.expect("a connection task panicked");
    }
    for mut from_relay in outboxes {
        while let Ok(frame) = from_relay.try_recv() {
            if let Frame::Binary(bytes) = frame {
                Message::decode(&bytes).expect("the relay sent a message that does not decode");
            }
        }
    }
    assert_eq!(
        relay.connections_of(fixtures::USER),
        0,
        "a connection is still counted"
    );
    assert_eq!(
        relay.sessions_on(&fixtures::captured_document()).await,
        0,
        "a session outlived its connection"
    );
}

fn to_inbound(record: Record) -> Inbound {
    match record {
        Record::Binary(bytes) => Inbound::Binary(bytes),
        Record::Text => Inbound::Text,
        Record::Keepalive => Inbound::Keepalive,
        Record::Error(message) => Inbound::Error(message),
    }
}
