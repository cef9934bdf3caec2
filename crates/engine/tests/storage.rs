//! Storage back-pressure through the engine's public API: a glue whose
//! writes do not complete stops the download from requesting more (CDN and
//! peers), its answers resume it, nothing is downloaded twice, `Done` waits
//! for the last write, and a failed write fails the download.

mod common;

use common::*;
use edgeswarm_engine::{Content, EngineConfig, Event, Input, Output, PeerKey};
use edgeswarm_protocol::sha256;

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);

fn http_content(f: &[u8], mb: &[u8], simple: bool) -> Content {
    if simple {
        Content {
            file_size: f.len() as u64,
            file_sha256: Some(sha256(f)),
            ..Content::default()
        }
    } else {
        content(mb, false)
    }
}

fn gated(limit_pieces: u64) -> EngineConfig {
    EngineConfig {
        max_unstored_bytes: limit_pieces * PIECE as u64,
        http_concurrency: 4,
        // One piece per range, so that "in flight" below is 4 pieces (a
        // streamed multi-piece range is paused by the glue instead, see
        // `Engine::storage_holds`).
        http_max_range_pieces: 1,
        simple_chunk_size: PIECE as u32,
        ..EngineConfig::default()
    }
}

fn is_done(e: &Event) -> bool {
    matches!(e, Event::Done { .. })
}

/// CDN only (with and without metadata): unanswered writes stop new range
/// requests at the limit, even as time passes; answers resume them.
#[test]
fn unconfirmed_writes_hold_cdn_requests_back_until_answered() {
    let f = file(20 * PIECE + 7);
    let (_, mb) = metadata(&f);
    for simple in [false, true] {
        let mut n = Node::new(gated(2), http_content(&f, &mb, simple), f.len());
        n.auto_ack = false;
        let outs = n.drain();
        assert!(n.serve_http(&f, outs).is_empty());
        // Everything in flight arrived; then nothing more was asked.
        for _ in 0..5 {
            if !n.advance_to_timeout() {
                break;
            }
            let outs = n.drain();
            assert!(outs.is_empty(), "simple {simple}: asked {outs:?}");
        }
        let held = n.unacked.len();
        assert!(held >= 2, "simple {simple}: held at {held}");
        assert!(
            held <= 2 + 4,
            "simple {simple}: limit + in flight, got {held}"
        );
        assert!(!n.engine.is_finished());
        assert!(!n.events.iter().any(is_done), "no Done before the writes");
        assert!(
            n.engine.storage_holds(),
            "simple {simple}: the glue is told"
        );
        // Storage catches up: the download resumes and finishes.
        n.auto_ack = true;
        for piece in std::mem::take(&mut n.unacked) {
            n.input(Input::PieceStored { piece });
        }
        let outs = n.drain();
        assert!(!outs.is_empty(), "simple {simple}: acks resume requests");
        assert!(!n.engine.storage_holds(), "simple {simple}: readers resume");
        assert!(n.serve_http(&f, outs).is_empty());
        assert!(n.engine.is_finished(), "simple {simple}");
        assert!(n.stored == f, "simple {simple}: stored bytes differ");
        let s = n.engine.stats();
        assert_eq!(s.bytes_from_http, f.len() as u64, "nothing fetched twice");
        assert_eq!(n.events.iter().filter(|e| is_done(e)).count(), 1);
    }
}

/// `Done` means stored: it comes with the answer to the last write.
#[test]
fn done_waits_for_the_last_write() {
    let f = file(6 * PIECE);
    let (_, mb) = metadata(&f);
    for simple in [false, true] {
        let mut n = Node::new(gated(0), http_content(&f, &mb, simple), f.len());
        n.auto_ack = false;
        let outs = n.drain();
        assert!(n.serve_http(&f, outs).is_empty());
        assert_eq!(n.unacked.len(), 6, "limit 0: no back-pressure");
        let mut acks = std::mem::take(&mut n.unacked);
        let last = acks.pop().expect("six writes");
        for piece in acks {
            n.input(Input::PieceStored { piece });
        }
        n.input(Input::PieceStored { piece: 99 }); // never handed: ignored
        n.drain();
        assert!(!n.events.iter().any(is_done), "simple {simple}");
        assert!(!n.engine.is_finished(), "simple {simple}");
        n.input(Input::PieceStored { piece: last });
        n.drain();
        assert!(matches!(n.events.last(), Some(Event::Done { .. })));
        assert!(n.engine.is_finished() && n.stored == f);
    }
}

/// A failed write fails the download: `StoreFailed`, no `Done`, no request.
#[test]
fn a_failed_write_fails_the_download() {
    let f = file(10 * PIECE);
    let (_, mb) = metadata(&f);
    for simple in [false, true] {
        let mut n = Node::new(gated(0), http_content(&f, &mb, simple), f.len());
        n.auto_ack = false;
        let first = n.drain();
        let (id, range) = match &first[0] {
            Output::HttpRequest { id, range } => (*id, range.clone()),
            o => panic!("expected a range request, got {o:?}"),
        };
        let body = f[range.start as usize..range.end as usize].to_vec();
        n.input(Input::HttpResponse {
            id,
            status: 206,
            body,
        });
        n.drain();
        let piece = n.unacked[0];
        n.input(Input::PieceStoreFailed { piece });
        let after = n.drain();
        assert!(n.events.contains(&Event::StoreFailed { piece }));
        // The other requests still answer, but nothing new is asked.
        let rest: Vec<Output> = first[1..].to_vec();
        let left = n.serve_http(&f, rest);
        assert!(left.is_empty() && after.is_empty(), "simple {simple}");
        while n.advance_to_timeout() {
            assert!(
                n.drain().is_empty(),
                "simple {simple}: nothing after failing"
            );
        }
        for piece in std::mem::take(&mut n.unacked) {
            n.input(Input::PieceStored { piece });
        }
        assert!(n.drain().is_empty());
        assert!(!n.events.iter().any(is_done), "simple {simple}");
        assert!(n.engine.is_finished(), "the download ended");
    }
}

/// Peers: B's storage never answers, so B stops asking its seed A for
/// pieces at the limit; answers resume it, and B gets every byte once.
#[test]
fn unconfirmed_writes_hold_peer_requests_back_until_answered() {
    let f = file(40 * PIECE);
    let (_, mb) = metadata(&f);
    let mut a = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    a.input(Input::PeerCandidates(vec![]));
    let outs = a.drain();
    assert!(a.serve_http(&f, outs).is_empty());
    assert!(a.engine.is_finished());

    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..gated(3)
    };
    let mut b = Node::new(cfg, content(&mb, true), f.len());
    b.auto_ack = false;
    b.input(Input::PeerCandidates(vec![A]));
    b.drain();
    a.input(Input::PeerConnected { peer: B });
    b.input(Input::PeerConnected { peer: A });
    shuttle(&mut a, A, &mut b, B, &f);
    let held = b.unacked.len();
    let max_in_flight = EngineConfig::default().max_requests_per_peer;
    assert!(held >= 3, "held at {held}");
    assert!(
        held <= 3 + max_in_flight,
        "limit + one pipeline, got {held}"
    );
    assert!(!b.engine.is_finished());
    assert!(!b.events.iter().any(is_done));
    b.auto_ack = true;
    for piece in std::mem::take(&mut b.unacked) {
        b.input(Input::PieceStored { piece });
    }
    shuttle(&mut a, A, &mut b, B, &f);
    assert!(b.engine.is_finished());
    assert!(b.stored == f, "stored bytes differ from the file");
    let s = b.engine.stats();
    assert_eq!(s.bytes_from_peers, f.len() as u64, "nothing fetched twice");
    assert_eq!(s.bytes_from_http, 0);
}
