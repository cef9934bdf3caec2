//! Fetch leases through the public API: a CDN request is announced to the
//! peers that lack its pieces, a piece a peer leased is left to it, and
//! peers that lie with leases hold nothing back for long: at most
//! `MAX_FETCH_LEASES` pieces per peer at a time, each piece once per
//! download whatever the peer or connection, for at most `FETCH_LEASE_MS`.

mod common;

use std::collections::BTreeSet;

use common::*;
use edgeswarm_engine::{EngineConfig, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message, FETCH_LEASE_MS, MAX_FETCH_LEASES};

const K: PeerKey = PeerKey(7);
const PIECES: usize = 32;

/// A P2P node whose only peer `K` holds nothing.
fn node(f: &[u8]) -> Node {
    let (_, mb) = metadata(f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![K]));
    connect(&mut n, f, K);
    n
}

/// Peer `k`, holding nothing, connects to `n` and says hello.
fn connect(n: &mut Node, f: &[u8], k: PeerKey) {
    let (meta, mb) = metadata(f);
    n.input(Input::PeerConnected { peer: k });
    for fr in hello(&meta, &mb, vec![0; PIECES / 8]) {
        n.input(Input::PeerData { peer: k, bytes: fr });
    }
}

fn lease(n: &mut Node, k: PeerKey, pieces: std::ops::Range<u32>) {
    for piece in pieces {
        let bytes = wire::encode(&Message::Fetching { piece });
        n.input(Input::PeerData { peer: k, bytes });
    }
}

fn pieces_of(range: &std::ops::Range<u64>) -> impl Iterator<Item = u32> {
    let p = PIECE as u64;
    (range.start / p..range.end.div_ceil(p)).map(|i| i as u32)
}

/// (time, piece) of every piece the node's CDN served.
fn fetched(n: &Node) -> Vec<(u64, u32)> {
    n.served
        .iter()
        .flat_map(|(t, r)| pieces_of(r).map(move |p| (*t, p)))
        .collect()
}

#[test]
fn a_cdn_request_is_announced_to_the_peers_that_lack_its_pieces() {
    let f = file(PIECES * PIECE);
    let mut n = node(&f);
    let mut requested = BTreeSet::new();
    let mut announced = BTreeSet::new();
    while requested.is_empty() && n.advance_to_timeout() {
        let outs = n.drain();
        for o in &outs {
            if let Output::HttpRequest { range, .. } = o {
                requested.extend(pieces_of(range));
            }
        }
        for m in frames_to(&outs, K) {
            if let Message::Fetching { piece } = m {
                announced.insert(piece);
            }
        }
    }
    assert!(!requested.is_empty(), "the starving node used the CDN");
    assert_eq!(announced, requested, "each CDN piece announced to K");
}

/// `K` lies: it says it fetches every piece, again every 500 ms, and never
/// sends one. The node's CDN serves everything at once.
#[test]
fn a_peer_lying_with_leases_holds_back_few_pieces_and_only_for_the_lease() {
    let f = file(PIECES * PIECE);
    let mut n = node(&f);
    // (time, piece) of every CDN piece requested.
    let mut next_lie = 0;
    for _ in 0..10_000 {
        if n.now >= next_lie {
            for piece in 0..PIECES as u32 {
                let bytes = wire::encode(&Message::Fetching { piece });
                n.input(Input::PeerData { peer: K, bytes });
            }
            next_lie += 500;
        }
        let outs = n.drain();
        n.serve_http(&f, outs);
        if n.engine.is_finished() {
            break;
        }
        let wake = n.engine.poll_timeout().map_or(u64::MAX, |t| t.0);
        n.now = wake.min(next_lie);
        n.input(Input::Timeout);
    }
    assert!(n.engine.is_finished(), "the download completes");
    assert_eq!(n.stored, f, "bytes intact");
    let fetched = fetched(&n);
    let leased = MAX_FETCH_LEASES as u32;
    let early: BTreeSet<u32> = fetched
        .iter()
        .filter(|(t, _)| *t < FETCH_LEASE_MS)
        .map(|(_, p)| *p)
        .collect();
    // The first MAX_FETCH_LEASES offers were taken; the rest were not.
    assert_eq!(
        early,
        (leased..PIECES as u32).collect(),
        "unleased pieces at once"
    );
    let last = fetched.iter().map(|(t, _)| *t).max().unwrap_or(0);
    assert!(
        last < FETCH_LEASE_MS + 1_000,
        "the leased pieces came from the CDN when their leases ran out \
         (each piece leased once): last at {last} ms"
    );
    assert_eq!(fetched.len(), PIECES, "no piece fetched twice");
}

/// `K` leases pieces 0–3 at 0 s; just before that hold ends it reconnects
/// and leases them again, and a second peer `L` leases them too. The node
/// (no patience wait, so its CDN requests go out at once) fetches the four
/// pieces when `K` leaves, not when the later leases would end.
#[test]
fn a_piece_is_held_back_once_whatever_the_peer_or_the_connection() {
    const L: PeerKey = PeerKey(8);
    let relet = FETCH_LEASE_MS - 500;
    let f = file(PIECES * PIECE);
    let (_, mb) = metadata(&f);
    let cfg = EngineConfig {
        http_patience_ms_per_peer: 0,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![K, L]));
    connect(&mut n, &f, K);
    connect(&mut n, &f, L);
    lease(&mut n, K, 0..4);
    let mut done_relet = false;
    for _ in 0..10_000 {
        if !done_relet && n.now >= relet {
            done_relet = true;
            lease(&mut n, L, 0..4);
            n.input(Input::PeerGone { peer: K });
            connect(&mut n, &f, K);
            lease(&mut n, K, 0..4);
        }
        let outs = n.drain();
        n.serve_http(&f, outs);
        if n.engine.is_finished() {
            break;
        }
        let wake = n.engine.poll_timeout().map_or(u64::MAX, |t| t.0);
        n.now = if done_relet { wake } else { wake.min(relet) };
        n.input(Input::Timeout);
    }
    assert!(n.engine.is_finished(), "the download completes");
    assert_eq!(n.stored, f, "bytes intact");
    let fetched = fetched(&n);
    let held: Vec<u64> = fetched
        .iter()
        .filter(|(_, p)| *p < 4)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(held.len(), 4, "each leased piece fetched once: {fetched:?}");
    assert!(
        held.iter().all(|t| *t < relet + FETCH_LEASE_MS / 2),
        "the leased pieces came when K left, not {} ms later: {held:?}",
        FETCH_LEASE_MS
    );
}
