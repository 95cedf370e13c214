//! The deterministic simulation: real [`Link`]s — the client side of chatsync's protocol — against the
//! real `Hub` — the relay's side — with storage in memory (`relay.rs`), on virtual time. Seeded
//! cases interleave edits, deliveries across connections in any order, dropped connections,
//! reconnects after backoff, relay restarts that lose what was not stored, failing and slow storage,
//! a device that fetches the document instead of holding it, and devices that release the document
//! and hold it again later on the same connection (as the browser store drops a thread nothing
//! shows, then opens it again). Then the network heals and runs
//! until quiet. Asserted, per case: every replica converges on what storage holds; no change is
//! acknowledged to a device before storage held it; nothing acknowledged is lost; and the frames
//! sent stay within a bound per change and per connection (no spin).
//!
//! `SIM_CASES=n` runs more or fewer cases; `SIM_SEED=s` replays one, and `SIM_TRACE=1` prints its
//! steps and every link event.

mod net;
mod relay;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_protocol::automerge::{AutoCommit, ROOT, ReadDoc};
use chatsync_protocol::holds_all;
use net::Sim;

/// splitmix64: the cases' own randomness, so a seed replays exactly.
pub struct Rng(u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn text_of(doc: &AutoCommit) -> String {
    let (_, obj) = doc.get(ROOT, "text").unwrap().unwrap();
    doc.text(&obj).unwrap()
}

/// Runs case `seed`; returns (frames sent, changes made, connections opened).
fn run_case(seed: u64) -> (usize, usize, usize) {
    let mut rng = Rng(seed);
    let mut sim = Sim::new(&mut rng);
    let steps = 20 + rng.below(60);
    for _ in 0..steps {
        sim.random_step(&mut rng);
    }
    sim.run_until_quiet();
    let stored = sim.relay.stored.get_heads();
    for (d, device) in sim.devices.iter_mut().enumerate() {
        assert!(
            device.link.state().is_joined(),
            "seed {seed}: device {d} is not connected"
        );
        let doc = device.docs.get_mut(&sim.document).expect("fetched");
        assert_eq!(
            doc.get_heads(),
            stored,
            "seed {seed}: device {d} did not converge"
        );
        assert_eq!(text_of(doc), text_of(&sim.relay.stored));
        let own = device.own.clone();
        assert!(
            device
                .link
                .acknowledged(sim.document, &own, &mut device.docs),
            "seed {seed}: device {d} never saw its changes acknowledged"
        );
    }
    for change in &sim.acknowledged {
        assert!(
            holds_all(&mut sim.relay.stored, &[*change]),
            "seed {seed}: an acknowledged change was lost"
        );
    }
    // Without the `join`s (one per connection).
    let frames =
        sim.relay.sent + sim.devices.iter().map(|d| d.sent).sum::<usize>() - sim.connections;
    (frames, sim.edits, sim.connections)
}

#[test]
fn links_converge_and_acknowledge_only_what_the_relay_stored() {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run_case(seed);
        return;
    }
    let cases: u64 = std::env::var("SIM_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(target_arch = "wasm32") {
            200
        } else {
            2_000
        });
    let (mut frames, mut edits, mut connections) = (0, 0, 0);
    for seed in 0..cases {
        let (f, e, c) = run_case(seed);
        // No spin: a bounded number of frames per change and per connection.
        assert!(
            f <= 8 * (e + c) + 8,
            "seed {seed}: {f} frames for {e} changes over {c} connections"
        );
        (frames, edits, connections) = (frames + f, edits + e, connections + c);
    }
    println!(
        "{cases} cases: {edits} changes, {connections} connections, {frames} frames ({:.2} per change or connection)",
        frames as f64 / (edits + connections) as f64
    );
}
