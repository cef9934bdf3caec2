//! Limits and extremes through the public API: silent peers cannot hold a
//! connection slot, extreme bootstrap values neither panic nor make us flood
//! a peer, content too large for a wire bitfield stays off P2P, and simple
//! mode covers a file whatever its configured chunk size.

mod common;

use common::*;
use edgeswarm_engine::{Content, EngineConfig, Event, Input, Mode, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message, MAX_BITFIELD_LEN, MAX_OUTSTANDING_REQUESTS};
use edgeswarm_protocol::{sha256, ContentId, Metadata, PieceSize};

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);

/// A peer that opens a channel and never sends its handshake is dropped
/// (not banned) after `connect_timeout_ms`, and its slot goes to the next
/// candidate.
#[test]
fn a_silent_peer_is_dropped_and_its_slot_reused() {
    let f = file(2 * PIECE);
    let (_, mb) = metadata(&f);
    let cfg = EngineConfig {
        max_peers: 1,
        connect_timeout_ms: 4_000,
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A, B]));
    let outs = n.drain();
    assert!(outs.contains(&Output::ConnectPeer { peer: A }));
    assert!(!outs.contains(&Output::ConnectPeer { peer: B }), "one slot");
    n.input(Input::PeerConnected { peer: A });
    n.drain();
    let mut dropped_at = None;
    while dropped_at.is_none() && n.advance_to_timeout() {
        let outs = n.drain();
        if outs.contains(&Output::DisconnectPeer { peer: A }) {
            dropped_at = Some(n.now);
            assert!(
                outs.contains(&Output::ConnectPeer { peer: B }),
                "the freed slot is used"
            );
        }
    }
    assert_eq!(dropped_at, Some(4_000));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
    assert_eq!(n.engine.stats().peers_banned, 0);
}

/// A peer that shakes hands correctly is not dropped by that timeout.
#[test]
fn a_peer_that_shakes_hands_stays() {
    let f = file(2 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        connect_timeout_ms: 4_000,
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    n.now = 10_000;
    n.input(Input::Timeout);
    assert!(!n.drain().contains(&Output::DisconnectPeer { peer: A }));
    assert_eq!(n.engine.stats().peers_connected, 1);
}

/// Extreme values from the bootstrap config: no overflow panic, and never
/// more outstanding requests at one peer than the protocol allows (more
/// would be a flood that gets us banned by honest peers).
#[test]
fn extreme_config_neither_panics_nor_floods() {
    let f = file(64 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        http_patience_ms_per_peer: u64::MAX,
        min_requests_per_peer: 40,
        max_requests_per_peer: 40,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    // One peer being dialed and none serving: the CDN waits a random time.
    n.input(Input::PeerCandidates(vec![A]));
    n.drain();
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0xff; 8]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let requests = frames_to(&n.drain(), A)
        .iter()
        .filter(|m| matches!(m, Message::Request { .. }))
        .count();
    assert_eq!(requests, MAX_OUTSTANDING_REQUESTS);
}

/// Content with more pieces than a bitfield frame can carry cannot be
/// shared: the engine runs HTTP-only instead of sending a bitfield every
/// peer would reject as malformed.
#[test]
fn content_beyond_the_bitfield_cap_stays_http_only() {
    let pieces = MAX_BITFIELD_LEN * 8 + 1;
    let piece_size = PieceSize::new(PIECE as u64).unwrap();
    let meta = Metadata::new(
        ContentId::new("huge").unwrap(),
        piece_size,
        pieces as u64 * PIECE as u64,
        [0; 32],
        vec![[0; 32]; pieces],
    )
    .unwrap();
    let mb = meta.encode();
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), 0);
    assert_eq!(n.engine.mode(), Mode::HttpOnly);
    n.input(Input::PeerConnected { peer: A });
    let outs = n.drain();
    assert!(outs.contains(&Output::DisconnectPeer { peer: A }));
    assert!(
        !outs.iter().any(|o| matches!(o, Output::SendToPeer { .. })),
        "no bitfield is sent"
    );
    assert!(outs.iter().any(|o| matches!(o, Output::HttpRequest { .. })));
    // The largest content that still fits is shared normally.
    let fits = Metadata::new(
        ContentId::new("large").unwrap(),
        piece_size,
        (pieces as u64 - 1) * PIECE as u64,
        [0; 32],
        vec![[0; 32]; pieces - 1],
    )
    .unwrap();
    let n = Node::new(EngineConfig::default(), content(&fits.encode(), true), 0);
    assert_eq!(n.engine.mode(), Mode::P2p);
    assert!(wire::decode(&wire::encode(&Message::Bitfield(vec![0; MAX_BITFIELD_LEN]))).is_ok());
}

/// Simple mode numbers chunks with a u32: a tiny configured chunk size on a
/// large file grows so that the chunks still cover the whole file.
#[test]
fn simple_mode_chunks_cover_a_large_file() {
    let file_size = 1u64 << 33;
    let c = Content {
        file_size,
        file_sha256: Some(sha256(b"")),
        ..Content::default()
    };
    let cfg = EngineConfig {
        simple_chunk_size: 1,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, c, 0);
    assert_eq!(n.engine.mode(), Mode::Simple);
    let Some(Output::HttpRequest { range, .. }) = n
        .drain()
        .into_iter()
        .find(|o| matches!(o, Output::HttpRequest { .. }))
    else {
        panic!("no range request");
    };
    assert_eq!(range.start, 0);
    let chunk = range.end - range.start;
    assert!(
        chunk * u64::from(u32::MAX) >= file_size,
        "{chunk}-byte chunks numbered by u32 cannot cover {file_size} bytes"
    );
}

/// A CDN request the glue never answers (a hung fetch) does not hold its
/// piece forever: after `slow_piece_timeout_ms` the range is asked again,
/// and a late answer to the old request is ignored. Both with metadata
/// (HTTP-only) and in simple mode.
#[test]
fn an_unanswered_cdn_request_is_asked_again() {
    let f = file(PIECE);
    let (_, mb) = metadata(&f);
    for simple in [false, true] {
        let c = if simple {
            Content {
                file_size: f.len() as u64,
                file_sha256: Some(sha256(&f)),
                ..Content::default()
            }
        } else {
            content(&mb, false)
        };
        let cfg = EngineConfig {
            slow_piece_timeout_ms: 10_000,
            simple_chunk_size: PIECE as u32,
            ..EngineConfig::default()
        };
        let mut n = Node::new(cfg, c, f.len());
        let http = |outs: Vec<Output>| {
            outs.into_iter().find_map(|o| match o {
                Output::HttpRequest { id, range } => Some((id, range)),
                _ => None,
            })
        };
        let (old_id, old_range) = http(n.drain()).expect("a range request");
        let mut again = None;
        while again.is_none() && n.advance_to_timeout() {
            again = http(n.drain());
        }
        let (id, range) = again.expect("the range is asked again");
        assert!(n.now >= 10_000, "not before the timeout: {}", n.now);
        assert_eq!(range, old_range);
        assert_ne!(id, old_id);
        // The hung fetch finally answers, with bad bytes: ignored.
        n.input(Input::HttpResponse {
            id: old_id,
            status: 206,
            body: vec![0xee; f.len()],
        });
        n.drain();
        let body = f[range.start as usize..range.end as usize].to_vec();
        n.input(Input::HttpResponse {
            id,
            status: 206,
            body,
        });
        n.drain();
        assert!(n.engine.is_finished(), "simple: {simple}");
        assert!(
            matches!(n.events.last(), Some(Event::Done { .. })),
            "simple: {simple}"
        );
        assert!(n.stored == f, "stored bytes differ from the file");
    }
}
