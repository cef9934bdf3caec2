//! Engine behaviour through its public API, with real metadata and real
//! bytes: peers share verified pieces, bad bytes are never stored, bad peers
//! are banned, the CDN is retried with backoff, and the HTTP-only modes work.

mod common;

use common::*;
use edgeswarm_engine::{
    BanReason, Content, EngineConfig, Event, HttpOnlyReason, Input, Mode, Output, PeerKey, Source,
};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);

/// A downloads everything over HTTP; B then gets every piece from A alone.
#[test]
fn a_peer_serves_verified_pieces_to_another() {
    let f = file(5 * PIECE + 100);
    let (_, mb) = metadata(&f);
    let mut a = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    a.input(Input::PeerCandidates(vec![]));
    let outs = a.drain();
    assert!(a.serve_http(&f, outs).is_empty());
    assert!(a.engine.is_finished());
    assert!(a.stored == f, "stored bytes differ from the file");
    assert!(a.events.iter().any(|e| matches!(e, Event::Done { .. })));

    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut b = Node::new(cfg, content(&mb, true), f.len());
    b.input(Input::PeerCandidates(vec![A]));
    assert!(b.drain().contains(&Output::ConnectPeer { peer: A }));
    a.input(Input::PeerConnected { peer: B });
    b.input(Input::PeerConnected { peer: A });
    shuttle(&mut a, A, &mut b, B, &f);
    assert!(b.stored == f, "stored bytes differ from the file");
    assert!(b.events.iter().any(|e| matches!(e, Event::Done { .. })));
    // Every piece's path is traceable (the browser turns these into
    // performance marks): asked of A, first bytes from A, verified; and A
    // reports serving it.
    for piece in 0..6 {
        let at = |want: &Event| b.events.iter().position(|e| e == want);
        let src = Source::Peer(A);
        let asked = at(&Event::PieceRequested { piece, source: src }).expect("requested");
        let first = at(&Event::PieceFirstBytes { piece, source: src }).expect("first bytes");
        let done = at(&Event::PieceVerified { piece, source: src }).expect("verified");
        assert!(asked < first && first <= done, "piece {piece} out of order");
        assert!(a.events.contains(&Event::PieceServed { piece, peer: B }));
    }
    let s = b.engine.stats();
    assert_eq!(s.bytes_from_http, 0);
    assert_eq!(s.bytes_from_peers, f.len() as u64);
    assert_eq!(a.engine.stats().bytes_to_peers, f.len() as u64);
    assert!(b.events.iter().all(|e| !matches!(
        e,
        Event::PieceVerified {
            source: Source::Http,
            ..
        }
    )));
}

/// A remote peer that claims every piece and serves corrupt bytes: nothing
/// it sends is stored, and it is banned after `strike_limit` bad pieces.
#[test]
fn corrupt_pieces_are_rejected_and_the_sender_banned() {
    let f = file(4 * PIECE);
    let mut n = greeted_by(&f, A, vec![0xf0]);
    let mut served = 0;
    while let Some(piece) = frames_to(&n.drain(), A).into_iter().find_map(|m| match m {
        Message::Request { piece } => Some(piece),
        _ => None,
    }) {
        let start = piece as usize * PIECE;
        let mut data = f[start..start + PIECE].to_vec();
        data[100] ^= 1; // one flipped bit
        let msg = Message::PieceData {
            piece,
            offset: 0,
            data,
        };
        n.input(Input::PeerData {
            peer: A,
            bytes: wire::encode(&msg),
        });
        served += 1;
        if served > 10 {
            break;
        }
    }
    let rejected = n
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::PieceRejected {
                    source: Source::Peer(A),
                    ..
                }
            )
        })
        .count();
    assert_eq!(rejected, 2);
    assert!(n.events.contains(&Event::PeerBanned {
        peer: A,
        reason: BanReason::BadPieces
    }));
    assert!(n.stored.iter().all(|b| *b == 0), "nothing was stored");
    assert_eq!(n.engine.stats().peers_banned, 1);
    // A banned peer is refused when it comes back.
    n.input(Input::PeerConnected { peer: A });
    assert!(n.drain().contains(&Output::DisconnectPeer { peer: A }));
}

#[test]
fn garbage_frames_ban_and_foreign_content_only_disconnects() {
    let f = file(2 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerConnected { peer: A });
    n.input(Input::PeerData {
        peer: A,
        bytes: vec![0xff, 0xff, 0xff, 0xff, 1],
    });
    assert!(n.drain().contains(&Output::DisconnectPeer { peer: A }));
    assert!(matches!(
        n.events.last(),
        Some(Event::PeerBanned {
            peer: A,
            reason: BanReason::Malformed(_)
        })
    ));

    let other = file(3 * PIECE);
    let (_, other_mb) = metadata(&other);
    n.input(Input::PeerConnected { peer: B });
    let hs = hello(&meta, &other_mb, vec![0]).remove(0);
    n.input(Input::PeerData { peer: B, bytes: hs });
    assert!(n.drain().contains(&Output::DisconnectPeer { peer: B }));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { peer: B, .. })));
}

#[test]
fn a_request_flood_bans() {
    let f = file(40 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(
        EngineConfig {
            // Slow enough that nothing is sent while the requests arrive (time
            // stands still), fast enough to take this one requester.
            upload_rate: 64 * 1024,
            ..EngineConfig::default()
        },
        content(&mb, true),
        f.len(),
    );
    n.input(Input::PeerCandidates(vec![]));
    let outs = n.drain();
    n.serve_http(&f, outs);
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0; 5]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    for piece in 0..40 {
        n.input(Input::PeerData {
            peer: A,
            bytes: wire::encode(&Message::Request { piece }),
        });
    }
    n.drain();
    assert!(n.events.contains(&Event::PeerBanned {
        peer: A,
        reason: BanReason::RequestFlood
    }));
}

#[test]
fn http_failures_back_off_then_retry() {
    let f = file(PIECE);
    let (_, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![]));
    let Some(Output::HttpRequest { id, .. }) = n.drain().into_iter().next() else {
        panic!("no request")
    };
    n.input(Input::HttpFailed { id });
    assert!(n.drain().is_empty(), "no retry before the backoff ends");
    let t = n.engine.poll_timeout().expect("a retry timer");
    assert!(t.0 >= 500);
    assert!(n.advance_to_timeout());
    let Some(Output::HttpRequest { id, range }) = n.drain().into_iter().next() else {
        panic!("no retry")
    };
    // Corrupt CDN bytes are rejected too.
    let mut body = f[range.start as usize..range.end as usize].to_vec();
    body[0] ^= 0xff;
    n.input(Input::HttpResponse {
        id,
        status: 206,
        body,
    });
    n.drain();
    assert!(n.events.contains(&Event::PieceRejected {
        piece: 0,
        source: Source::Http
    }));
    while !n.engine.is_finished() && n.advance_to_timeout() {
        let outs = n.drain();
        n.serve_http(&f, outs);
    }
    assert!(n.stored == f, "stored bytes differ from the file");
}

#[test]
fn missing_metadata_means_simple_mode_with_whole_file_check() {
    let f = file(3 * PIECE + 5);
    let sha = edgeswarm_protocol::sha256(&f);
    for (hash, want) in [
        (
            sha,
            Event::Done {
                sha256: sha,
                verified: true,
            },
        ),
        ([0; 32], Event::FileHashMismatch),
    ] {
        let c = Content {
            file_size: f.len() as u64,
            file_sha256: Some(hash),
            ..Content::default()
        };
        let cfg = EngineConfig {
            simple_chunk_size: PIECE as u32,
            ..EngineConfig::default()
        };
        let mut n = Node::new(cfg, c, f.len());
        assert_eq!(n.engine.mode(), Mode::Simple);
        n.input(Input::PeerConnected { peer: A });
        let outs = n.drain();
        assert!(
            outs.contains(&Output::DisconnectPeer { peer: A }),
            "simple mode never talks to peers"
        );
        n.serve_http(&f, outs);
        assert_eq!(
            n.events[0],
            Event::ModeChanged {
                mode: Mode::Simple,
                reason: HttpOnlyReason::MetadataMissing
            }
        );
        assert_eq!(n.events.last(), Some(&want));
        assert!(n.stored == f, "stored bytes differ from the file");
    }
}

#[test]
fn bad_metadata_hash_means_simple_mode_and_no_p2p_means_http_only() {
    let f = file(2 * PIECE);
    let (_, mb) = metadata(&f);
    let mut c = content(&mb, true);
    c.metadata_sha256 = Some([1; 32]);
    c.file_size = f.len() as u64;
    let mut n = Node::new(EngineConfig::default(), c, f.len());
    n.drain();
    assert_eq!(
        n.events[0],
        Event::ModeChanged {
            mode: Mode::Simple,
            reason: HttpOnlyReason::MetadataInvalid
        }
    );

    let mut n = Node::new(EngineConfig::default(), content(&mb, false), f.len());
    n.input(Input::PeerConnected { peer: A });
    let outs = n.drain();
    assert!(outs.contains(&Output::DisconnectPeer { peer: A }));
    n.serve_http(&f, outs);
    assert_eq!(
        n.events[0],
        Event::ModeChanged {
            mode: Mode::HttpOnly,
            reason: HttpOnlyReason::P2pNotAllowed
        }
    );
    assert!(n.stored == f, "stored bytes differ from the file");
    assert!(n.engine.is_finished());
}

/// The requested download mode is the engine's to weigh, like the rest:
/// mode 0 runs HTTP only with verified pieces, mode 99 runs simple mode even
/// when metadata is at hand; the reason is the engine's, with its sentence.
#[test]
fn requested_modes_0_and_99_are_decided_by_the_engine() {
    let f = file(2 * PIECE);
    let (m, mb) = metadata(&f);
    for (mode, want, reason) in [
        (
            edgeswarm_protocol::DownloadMode::HttpOnly,
            Mode::HttpOnly,
            HttpOnlyReason::HttpOnlyRequested,
        ),
        (
            edgeswarm_protocol::DownloadMode::Simple,
            Mode::Simple,
            HttpOnlyReason::SimpleRequested,
        ),
    ] {
        let mut c = content(&mb, true);
        c.mode = mode;
        c.file_size = f.len() as u64;
        let mut n = Node::new(EngineConfig::default(), c, f.len());
        assert_eq!(n.engine.mode(), want);
        n.input(Input::PeerConnected { peer: A });
        let outs = n.drain();
        assert!(outs.contains(&Output::DisconnectPeer { peer: A }));
        n.serve_http(&f, outs);
        assert_eq!(n.events[0], Event::ModeChanged { mode: want, reason });
        assert!(!reason.describe().is_empty());
        assert!(n.stored == f, "stored bytes differ from the file");
        let Some(Event::Done { sha256, .. }) = n.events.last() else {
            panic!("not done: {:?}", n.events.last());
        };
        assert_eq!(sha256, m.file_sha256());
    }
}

/// A peer that takes requests and never answers is timed out, struck, and
/// its piece is fetched elsewhere (here: the CDN, as no other peer has it).
#[test]
fn a_stalling_peer_loses_its_requests() {
    let f = file(2 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        stall_timeout_ms: 2_000,
        // The drip defence would route around it sooner (tests/drip.rs).
        min_request_bps: 0,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0xc0]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let outs = n.drain();
    let asked = frames_to(&outs, A)
        .iter()
        .filter(|m| matches!(m, Message::Request { .. }))
        .count();
    assert_eq!(asked, 2, "both pieces asked from the peer that has them");
    assert!(
        !outs.iter().any(|o| matches!(o, Output::HttpRequest { .. })),
        "no CDN while a peer can serve"
    );
    for _ in 0..20 {
        if n.engine.is_finished() || !n.advance_to_timeout() {
            break;
        }
        let outs = n.drain();
        n.serve_http(&f, outs);
    }
    assert!(n.stored == f, "stored bytes differ from the file");
    assert!(n.now >= 2_000);
}
