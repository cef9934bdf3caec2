//! CDN leases (`Fetching`) through the public API: pages tell each other
//! which pieces they fetch from the CDN, so the CDN serves each piece once;
//! a peer that claims pieces it never fetches holds them back for at most
//! one lease period; a peer of another protocol version is refused.

mod common;

use common::*;
use edgeswarm_engine::{EngineConfig, Event, Input, Output, PeerKey, Source};
use edgeswarm_protocol::wire::{self, Message, MAX_LEASES_PER_PEER, MAX_LEASE_MS};
use edgeswarm_protocol::{sha256, Metadata};

const A: PeerKey = PeerKey(1);

/// A node of `pieces` pieces connected to A, which has nothing and sent
/// `claims` (piece, lease_ms) between its handshake and its bitfield.
fn with_claims(pieces: usize, claims: &[(u32, u32)]) -> (Node, Vec<u8>, Metadata, Vec<Output>) {
    let f = file(pieces * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::cooperative_cdn(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    let mut frames = hello(&meta, &mb, vec![0; pieces.div_ceil(8)]);
    let bitfield = frames.pop().unwrap();
    for &(piece, lease_ms) in claims {
        frames.push(wire::encode(&Message::Fetching { piece, lease_ms }));
    }
    frames.push(bitfield);
    for bytes in frames {
        n.input(Input::PeerData { peer: A, bytes });
    }
    let outs = n.drain();
    (n, f, meta, outs)
}

fn http_pieces(outs: &[Output]) -> Vec<u32> {
    outs.iter()
        .filter_map(|o| match o {
            Output::HttpRequest { range, .. } => Some((range.start / PIECE as u64) as u32),
            _ => None,
        })
        .collect()
}

#[test]
fn the_cdn_leaves_pieces_a_peer_fetches_to_it_and_gets_them_from_that_peer() {
    let leased = [0, 1, 2, 3];
    let claims: Vec<(u32, u32)> = leased.iter().map(|&p| (p, 5_000)).collect();
    let (mut n, f, _meta, outs) = with_claims(16, &claims);
    // Answer the CDN at once until it asks for nothing more.
    n.serve_http(&f, outs);
    let mut cdn: Vec<u32> = n
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PieceRequested {
                piece,
                source: Source::Http,
            } => Some(*piece),
            _ => None,
        })
        .collect();
    cdn.sort_unstable();
    assert_eq!(cdn, (4..16).collect::<Vec<_>>(), "each unleased piece once");
    assert!(!n.engine.is_finished());
    // A announces piece 0: it is asked of A, not of the CDN.
    let have = wire::encode(&Message::Have { piece: 0 });
    n.input(Input::PeerData {
        peer: A,
        bytes: have,
    });
    let outs = n.drain();
    assert!(http_pieces(&outs).is_empty());
    assert!(frames_to(&outs, A).contains(&Message::Request { piece: 0 }));
    let block = Message::PieceData {
        piece: 0,
        offset: 0,
        data: f[..PIECE].to_vec(),
    };
    n.input(Input::PeerData {
        peer: A,
        bytes: wire::encode(&block),
    });
    n.drain();
    assert_eq!(&n.stored[..PIECE], &f[..PIECE]);
}

#[test]
fn every_cdn_request_is_leased_to_peers_and_released_when_it_fails() {
    let (mut n, _f, _meta, mut outs) = with_claims(16, &[]);
    // A swarm that starts empty staggers its first CDN request (patience).
    while http_pieces(&outs).is_empty() && n.advance_to_timeout() {
        outs.extend(n.drain());
    }
    let requested = http_pieces(&outs);
    assert!(!requested.is_empty(), "the CDN starts");
    let to_a = frames_to(&outs, A);
    for p in &requested {
        let lease = to_a.iter().find_map(|m| match m {
            Message::Fetching { piece, lease_ms } if piece == p => Some(*lease_ms),
            _ => None,
        });
        assert!(
            lease.is_some_and(|l| l > 0 && l <= MAX_LEASE_MS),
            "piece {p}: {lease:?}"
        );
    }
    let id = outs
        .iter()
        .find_map(|o| match o {
            Output::HttpRequest { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    n.input(Input::HttpFailed { id });
    let released = frames_to(&n.drain(), A);
    assert!(
        released.contains(&Message::Fetching {
            piece: requested[0],
            lease_ms: 0
        }),
        "{released:?}"
    );
}

/// A liar claims every piece with the longest lease it can encode and never
/// fetches any: it holds at most `MAX_LEASES_PER_PEER` pieces back, for at
/// most `MAX_LEASE_MS` (plus the lapse grace), and is not trusted after.
/// Without the cap and the clamp, the download would never finish.
#[test]
fn a_lease_squatter_holds_pieces_back_for_one_lease_period_at_most() {
    let pieces = 24u32;
    let claims: Vec<(u32, u32)> = (0..pieces).map(|p| (p, u32::MAX)).collect();
    let (mut n, f, _meta, outs) = with_claims(pieces as usize, &claims);
    let mut outs = outs;
    let mut first_wave = 0;
    let mut done_at = None;
    for _ in 0..10_000 {
        let left = n.serve_http(&f, outs);
        let _ = left;
        if first_wave == 0 {
            first_wave = n
                .events
                .iter()
                .filter(|e| matches!(e, Event::PieceVerified { .. }))
                .count();
        }
        if n.engine.is_finished() {
            done_at = Some(n.now);
            break;
        }
        if !n.advance_to_timeout() {
            break;
        }
        outs = n.drain();
    }
    assert_eq!(
        first_wave,
        pieces as usize - MAX_LEASES_PER_PEER,
        "only the capped number of claims is honoured"
    );
    let done_at = done_at.expect("the download finishes");
    assert!(n.stored == f, "bytes intact");
    assert!(
        done_at <= u64::from(MAX_LEASE_MS) + 1_000,
        "held back {done_at} ms, at most one lease period"
    );
    // Claims are hints, not violations: the defence needs no ban.
    let claim = wire::encode(&Message::Fetching {
        piece: 0,
        lease_ms: 1_000,
    });
    n.input(Input::PeerData {
        peer: A,
        bytes: claim,
    });
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
}

#[test]
fn a_peer_of_another_protocol_version_is_refused_not_banned() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::cooperative_cdn(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    let old = wire::encode(&Message::Handshake {
        version: 1,
        content_id: meta.content_id().clone(),
        metadata_sha256: sha256(&mb),
    });
    n.input(Input::PeerData {
        peer: A,
        bytes: old,
    });
    let outs = n.drain();
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::DisconnectPeer { peer } if *peer == A)));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
}
