//! Scheduling and serving through the public API: fair, rate-capped uploads
//! and the endgame.

mod common;

use common::*;
use edgeswarm_engine::{EngineConfig, Event, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);

/// Two requesters of a seeding engine with an upload cap: blocks alternate
/// between them, and no more than the cap (plus one burst) leaves per second.
#[test]
fn uploads_are_fair_and_rate_capped() {
    let f = file(8 * PIECE);
    let (meta, mb) = metadata(&f);
    let rate = 64 * 1024;
    let cfg = EngineConfig {
        upload_rate: rate,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![]));
    let outs = n.drain();
    n.serve_http(&f, outs);
    assert!(n.engine.is_finished());
    for k in [A, B] {
        n.input(Input::PeerConnected { peer: k });
        for fr in hello(&meta, &mb, vec![0]) {
            n.input(Input::PeerData { peer: k, bytes: fr });
        }
        for piece in 0..4 {
            let bytes = wire::encode(&Message::Request { piece });
            n.input(Input::PeerData { peer: k, bytes });
        }
    }
    let mut order = Vec::new();
    let mut sent = 0u64;
    for _ in 0..200 {
        for o in n.drain() {
            if let Output::SendToPeer { peer, bytes } = o {
                if let Ok(Message::PieceData { data, .. }) = wire::decode(&bytes) {
                    order.push(peer);
                    sent += data.len() as u64;
                }
            }
        }
        let burst = (64 * 1024).max(rate / 4);
        assert!(
            sent <= rate * n.now / 1000 + burst,
            "cap exceeded at {} ms",
            n.now
        );
        if order.len() == 8 || !n.advance_to_timeout() {
            break;
        }
    }
    assert_eq!(order.len(), 8, "every requested block is eventually sent");
    for pair in order.windows(2) {
        assert_ne!(pair[0], pair[1], "requesters take turns: {order:?}");
    }
    assert!(n.now >= 1000, "8 × 16 KiB at 64 KiB/s takes seconds");
}

/// Endgame: with every piece requested from a silent holder, another holder
/// is asked for the same pieces; the download ends without waiting for the
/// stall timeout and the silent holder's requests are cancelled.
#[test]
fn endgame_routes_around_a_silent_holder() {
    let f = file(2 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A, B]));
    let mut to_b = Vec::new();
    for k in [A, B] {
        n.input(Input::PeerConnected { peer: k });
        for fr in hello(&meta, &mb, vec![0xc0]) {
            n.input(Input::PeerData { peer: k, bytes: fr });
        }
        to_b.extend(frames_to(&n.drain(), B));
    }
    // B answers whatever it is asked; A stays silent.
    let mut cancels_to_a = 0;
    while let Some(piece) = to_b.iter().find_map(|m| match m {
        Message::Request { piece } => Some(*piece),
        _ => None,
    }) {
        to_b.retain(|m| *m != Message::Request { piece });
        let start = piece as usize * PIECE;
        let data = f[start..start + PIECE].to_vec();
        let msg = Message::PieceData {
            piece,
            offset: 0,
            data,
        };
        n.input(Input::PeerData {
            peer: B,
            bytes: wire::encode(&msg),
        });
        let outs = n.drain();
        cancels_to_a += frames_to(&outs, A)
            .iter()
            .filter(|m| matches!(m, Message::Cancel { .. }))
            .count();
        to_b.extend(frames_to(&outs, B));
    }
    assert!(n.engine.is_finished());
    assert_eq!(n.now, 0, "no timeout was needed");
    assert!(n.stored == f, "stored bytes differ from the file");
    assert!(
        cancels_to_a >= 1,
        "the silent holder's duplicate requests were cancelled"
    );
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
}

/// A peer answering "busy" is left alone for `snub_ms`, then asked again for
/// the same piece — busy is not a strike.
#[test]
fn busy_peers_are_retried_later_without_a_strike() {
    let f = file(PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        snub_ms: 5_000,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0x80]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let requests = |outs: &[Output]| {
        frames_to(outs, A)
            .iter()
            .filter(|m| matches!(m, Message::Request { piece: 0 }))
            .count()
    };
    assert_eq!(requests(&n.drain()), 1);
    let busy = Message::Reject {
        piece: 0,
        reason: wire::RejectReason::Busy,
    };
    n.input(Input::PeerData {
        peer: A,
        bytes: wire::encode(&busy),
    });
    assert_eq!(requests(&n.drain()), 0, "not asked again at once");
    assert!(n.advance_to_timeout());
    assert_eq!(n.now, 5_000);
    assert_eq!(requests(&n.drain()), 1, "asked again after the snub");
    let data = f.clone();
    let msg = Message::PieceData {
        piece: 0,
        offset: 0,
        data,
    };
    n.input(Input::PeerData {
        peer: A,
        bytes: wire::encode(&msg),
    });
    n.drain();
    assert!(n.engine.is_finished());
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
}

/// The stall clock counts from the later of the holder's last bytes and our
/// oldest outstanding request to it: a request sent long after the last
/// bytes gets the full `stall_timeout_ms`, even when an older request to
/// the same holder ended otherwise (here: verified from another peer).
#[test]
fn the_stall_clock_starts_at_the_oldest_outstanding_request() {
    let f = file(2 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        stall_timeout_ms: 10_000,
        http_delay_secs: 3600,
        // A silent holder is also slow: the drip defence (tests/drip.rs)
        // would cancel at its window's close instead.
        min_request_bps: 0,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A, B]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0x80]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let asked = |outs: &[Output], k: PeerKey, p: u32| {
        frames_to(outs, k).contains(&Message::Request { piece: p })
    };
    assert!(asked(&n.drain(), A, 0));
    // At 5 s A announces piece 1 and is asked for it.
    n.now = 5_000;
    n.input(Input::PeerData {
        peer: A,
        bytes: wire::encode(&Message::Have { piece: 1 }),
    });
    assert!(asked(&n.drain(), A, 1));
    // At 6 s B arrives with piece 0 (endgame duplicate) and serves it.
    n.now = 6_000;
    n.input(Input::PeerConnected { peer: B });
    for fr in hello(&meta, &mb, vec![0x80]) {
        n.input(Input::PeerData { peer: B, bytes: fr });
    }
    assert!(asked(&n.drain(), B, 0));
    let msg = Message::PieceData {
        piece: 0,
        offset: 0,
        data: f[..PIECE].to_vec(),
    };
    n.input(Input::PeerData {
        peer: B,
        bytes: wire::encode(&msg),
    });
    assert!(frames_to(&n.drain(), A).contains(&Message::Cancel { piece: 0 }));
    // A stays silent: its request for piece 1 is given up 10 s after it was
    // sent (15 s), not 10 s after the request for piece 0 (10 s).
    let mut cancelled_at = None;
    while cancelled_at.is_none() && n.advance_to_timeout() {
        if frames_to(&n.drain(), A).contains(&Message::Cancel { piece: 1 }) {
            cancelled_at = Some(n.now);
        }
    }
    assert_eq!(cancelled_at, Some(15_000));
}

/// With an upload cap, a holder takes only as many requesters as it can
/// serve a block each within half the stall timeout; the next one is told
/// Busy (not a strike), and is taken once a slot frees up.
#[test]
fn a_rate_capped_holder_takes_no_more_requesters_than_it_can_serve() {
    let f = file(PIECE);
    let (meta, mb) = metadata(&f);
    // One 16 KiB block takes 250 ms at 64 KiB/s and the burst 1 s: with
    // 2 s (half of 4 s) per turn, four requesters fit.
    let cfg = EngineConfig {
        upload_rate: 64 * 1024,
        stall_timeout_ms: 4_000,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![]));
    let outs = n.drain();
    n.serve_http(&f, outs);
    assert!(n.engine.is_finished());
    let busy = Message::Reject {
        piece: 0,
        reason: wire::RejectReason::Busy,
    };
    let mut told_busy = Vec::new();
    for k in (1..=5).map(PeerKey) {
        n.input(Input::PeerConnected { peer: k });
        for fr in hello(&meta, &mb, vec![0]) {
            n.input(Input::PeerData { peer: k, bytes: fr });
        }
        n.input(Input::PeerData {
            peer: k,
            bytes: wire::encode(&Message::Request { piece: 0 }),
        });
        if frames_to(&n.drain(), k).contains(&busy) {
            told_busy.push(k);
        }
    }
    assert_eq!(told_busy, vec![PeerKey(5)]);
    // Once the first requesters got their piece, peer 5 is served.
    for _ in 0..100 {
        if !n.advance_to_timeout() {
            break;
        }
        n.drain();
    }
    n.input(Input::PeerData {
        peer: PeerKey(5),
        bytes: wire::encode(&Message::Request { piece: 0 }),
    });
    assert!(!frames_to(&n.drain(), PeerKey(5)).contains(&busy));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerBanned { .. })));
}
