//! Fetch leases through the public API: a CDN request is announced to the
//! peers that lack its pieces, a piece a peer leased is left to it, and a
//! peer that lies with leases holds nothing back for long (at most
//! `MAX_FETCH_LEASES` pieces, each once, for `FETCH_LEASE_MS`).

mod common;

use std::collections::BTreeSet;

use common::*;
use edgeswarm_engine::{EngineConfig, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message, FETCH_LEASE_MS, MAX_FETCH_LEASES};

const K: PeerKey = PeerKey(7);
const PIECES: usize = 32;

/// A P2P node whose only peer `K` holds nothing.
fn node(f: &[u8]) -> Node {
    let (meta, mb) = metadata(f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![K]));
    n.input(Input::PeerConnected { peer: K });
    for fr in hello(&meta, &mb, vec![0; PIECES / 8]) {
        n.input(Input::PeerData { peer: K, bytes: fr });
    }
    n
}

fn pieces_of(range: &std::ops::Range<u64>) -> impl Iterator<Item = u32> {
    let p = PIECE as u64;
    (range.start / p..range.end.div_ceil(p)).map(|i| i as u32)
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
    let mut fetched: Vec<(u64, u32)> = Vec::new();
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
        for o in &outs {
            if let Output::HttpRequest { range, .. } = o {
                fetched.extend(pieces_of(range).map(|p| (n.now, p)));
            }
        }
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
         (renewals ignored, the liar's later leases not honoured): last at {last} ms"
    );
    assert_eq!(fetched.len(), PIECES, "no piece fetched twice");
}
