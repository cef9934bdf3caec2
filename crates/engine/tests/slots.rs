//! Connection slots (issue 11) through the public API: inbound peers cannot
//! take the slots reserved for peers this client dialled, and peers that
//! hold a slot without being useful give it up under slot pressure.

mod common;

use common::*;
use edgeswarm_engine::{EngineConfig, Event, Input, Output, PeerKey};

fn key(i: u64) -> PeerKey {
    PeerKey(i)
}

fn disconnected(outs: &[Output], k: PeerKey) -> bool {
    outs.contains(&Output::DisconnectPeer { peer: k })
}

fn dialled(outs: &[Output], k: PeerKey) -> bool {
    outs.contains(&Output::ConnectPeer { peer: k })
}

/// With `max_peers` 4 and 2 slots reserved for dialled peers, the third
/// inbound connection is refused (nobody is idle yet), while a peer we
/// dialled still gets a slot.
#[test]
fn inbound_peers_cannot_take_the_dialled_slots() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        max_peers: 4,
        dialed_peer_slots: 2,
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    for i in 1..=3 {
        n.input(Input::PeerConnected { peer: key(i) });
        for fr in hello(&meta, &mb, vec![0xf0]) {
            n.input(Input::PeerData {
                peer: key(i),
                bytes: fr,
            });
        }
    }
    let outs = n.drain();
    assert!(!disconnected(&outs, key(1)) && !disconnected(&outs, key(2)));
    assert!(
        disconnected(&outs, key(3)),
        "a third inbound peer is refused"
    );
    n.input(Input::PeerCandidates(vec![key(10)]));
    assert!(dialled(&n.drain(), key(10)));
    n.input(Input::PeerConnected { peer: key(10) });
    assert!(
        !disconnected(&n.drain(), key(10)),
        "the dialled peer takes a reserved slot"
    );
}

/// Every slot is held by peers that announce nothing and ask for nothing
/// (forged reports made us dial them first) while a candidate waits: after
/// `idle_peer_ms` they are disconnected (not banned), the candidate is
/// dialled, and the idlers are not dialled again.
#[test]
fn useless_peers_give_up_their_slots_under_pressure() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        max_peers: 2,
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let idle = cfg.idle_peer_ms;
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    let (a, b, c) = (key(1), key(2), key(3));
    n.input(Input::PeerCandidates(vec![a, b, c]));
    let outs = n.drain();
    assert!(dialled(&outs, a) && dialled(&outs, b) && !dialled(&outs, c));
    for k in [a, b] {
        n.input(Input::PeerConnected { peer: k });
        for fr in hello(&meta, &mb, vec![0]) {
            n.input(Input::PeerData { peer: k, bytes: fr });
        }
    }
    assert!(!disconnected(&n.drain(), a));
    let mut evicted_at = None;
    for _ in 0..100 {
        if evicted_at.is_some() || !n.advance_to_timeout() {
            break;
        }
        let outs = n.drain();
        if disconnected(&outs, a) && disconnected(&outs, b) {
            assert!(dialled(&outs, c), "the waiting candidate is dialled");
            evicted_at = Some(n.now);
        }
    }
    assert_eq!(evicted_at, Some(idle));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
    n.input(Input::PeerCandidates(vec![a, b]));
    let outs = n.drain();
    assert!(
        !dialled(&outs, a) && !dialled(&outs, b),
        "not dialled again"
    );
}

/// A peer that has pieces we lack is useful and keeps its slot, however
/// long, and an inbound newcomer is refused rather than evicting it.
#[test]
fn useful_peers_keep_their_slots() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        max_peers: 2,
        dialed_peer_slots: 1,
        http_delay_secs: 3600,
        // Never answering its requests is not this test's subject.
        stall_timeout_ms: 3_600_000,
        slow_piece_timeout_ms: 3_600_000,
        min_request_bps: 0,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    let (a, b) = (key(1), key(2));
    n.input(Input::PeerConnected { peer: a });
    for fr in hello(&meta, &mb, vec![0xf0]) {
        n.input(Input::PeerData { peer: a, bytes: fr });
    }
    n.drain();
    n.now = 60_000;
    n.input(Input::Timeout);
    n.input(Input::PeerConnected { peer: b });
    let outs = n.drain();
    assert!(!disconnected(&outs, a), "the useful peer stays");
    assert!(disconnected(&outs, b), "no inbound slot for the newcomer");
}
