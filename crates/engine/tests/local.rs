//! The local host's inputs: pieces from the cache of an earlier session
//! (resume) and the upload budget (monthly cap, battery).

mod common;

use common::*;
use edgeswarm_engine::{EngineConfig, Event, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message, RejectReason};

const B: PeerKey = PeerKey(2);

/// Resume: cached pieces count as verified and are never fetched, even the
/// ones whose requests the engine queued at construction.
#[test]
fn cached_pieces_are_counted_and_not_fetched() {
    let f = file(5 * PIECE + 100);
    let (_, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, false), f.len());
    n.input(Input::PiecesFromCache {
        pieces: vec![0, 1, 3, 99, 3],
    });
    let outs = n.drain();
    let asked: Vec<u64> = outs
        .iter()
        .filter_map(|o| match o {
            Output::HttpRequest { range, .. } => Some(range.start / PIECE as u64),
            _ => None,
        })
        .collect();
    assert!(
        asked.iter().all(|p| ![0, 1, 3].contains(p)),
        "cached pieces requested: {asked:?}"
    );
    let cached = n
        .events
        .iter()
        .filter(|e| matches!(e, Event::PieceFromCache { .. }))
        .count();
    assert_eq!(cached, 3, "each valid piece counted once, 99 ignored");
    let left = n.serve_http(&f, outs);
    assert!(left.is_empty());
    assert!(n.engine.is_finished());
    let s = n.engine.stats();
    assert_eq!(s.bytes_from_cache, 3 * PIECE as u64);
    assert_eq!(s.bytes_from_http, f.len() as u64 - 3 * PIECE as u64);
    assert_eq!(s.bytes_left, 0);
    // Nothing was stored again where the cache holds it.
    assert!(n.stored[..2 * PIECE].iter().all(|b| *b == 0));
}

/// A full cache finishes at once, with the metadata's hash.
#[test]
fn a_full_cache_is_done_without_a_request() {
    let f = file(3 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PiecesFromCache {
        pieces: vec![0, 1, 2],
    });
    let outs = n.drain();
    assert!(!outs.iter().any(|o| matches!(o, Output::HttpRequest { .. })));
    assert!(n.events.contains(&Event::Done {
        sha256: *meta.file_sha256(),
        verified: true
    }));
}

/// A seeder that holds the file serves within its budget, then refuses.
#[test]
fn the_upload_budget_is_never_exceeded() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let mut a = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    a.input(Input::PeerCandidates(vec![]));
    let outs = a.drain();
    assert!(a.serve_http(&f, outs).is_empty());
    // One and a half pieces of budget.
    let budget = (PIECE + PIECE / 2) as u64;
    a.input(Input::UploadBudget {
        bytes: Some(budget),
    });
    a.input(Input::PeerConnected { peer: B });
    for frame in hello(&meta, &mb, vec![0]) {
        a.input(Input::PeerData {
            peer: B,
            bytes: frame,
        });
    }
    a.drain();
    for piece in 0..4 {
        a.input(Input::PeerData {
            peer: B,
            bytes: wire::encode(&Message::Request { piece }),
        });
    }
    let outs = a.drain();
    let sent: u64 = frames_to(&outs, B)
        .iter()
        .map(|m| match m {
            Message::PieceData { data, .. } => data.len() as u64,
            _ => 0,
        })
        .sum();
    let rejected = frames_to(&outs, B)
        .iter()
        .filter(|m| {
            matches!(
                m,
                Message::Reject {
                    reason: RejectReason::Busy,
                    ..
                }
            )
        })
        .count();
    assert!(sent <= budget, "sent {sent} > budget {budget}");
    assert!(sent >= PIECE as u64, "the budget was usable: {sent}");
    assert!(
        rejected >= 2,
        "requests beyond the budget refused: {rejected}"
    );
    assert_eq!(a.engine.stats().bytes_to_peers, sent);
    // A new request while the budget is spent is refused at once.
    a.input(Input::PeerData {
        peer: B,
        bytes: wire::encode(&Message::Request { piece: 3 }),
    });
    let outs = a.drain();
    assert!(frames_to(&outs, B)
        .iter()
        .all(|m| !matches!(m, Message::PieceData { .. })));
    // Lifting the budget serves again.
    a.input(Input::UploadBudget { bytes: None });
    a.input(Input::PeerData {
        peer: B,
        bytes: wire::encode(&Message::Request { piece: 2 }),
    });
    let outs = a.drain();
    assert!(frames_to(&outs, B)
        .iter()
        .any(|m| matches!(m, Message::PieceData { piece: 2, .. })));
}

/// DO's background share: in the background, new requests wait while the
/// download runs at or above the configured share of its peak rate.
#[test]
fn a_background_download_takes_its_share_of_the_peak_rate() {
    let f = file(400 * PIECE);
    let (_, mb) = metadata(&f);
    // One piece per request: ranges of many pieces would finish this
    // file within the foreground phase.
    let cfg = EngineConfig {
        background_download_percent: 25,
        http_max_range_pieces: 1,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, false), f.len());
    // The CDN answers every request 100 ms after it was made.
    let mut pending: Vec<(u64, Output)> = n.drain().into_iter().map(|o| (100, o)).collect();
    let run = |n: &mut Node, until: u64, pending: &mut Vec<(u64, Output)>| -> u64 {
        let mut bytes = 0;
        while n.now < until {
            n.now += 10;
            let (due, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(t, _)| *t <= n.now);
            *pending = later;
            for (_, o) in due {
                if let Output::HttpRequest { id, range } = o {
                    let body = f[range.start as usize..range.end as usize].to_vec();
                    bytes += body.len() as u64;
                    n.input(Input::HttpResponse {
                        id,
                        status: 206,
                        body,
                    });
                }
            }
            n.input(Input::Timeout);
            let now = n.now;
            pending.extend(n.drain().into_iter().map(|o| (now + 100, o)));
        }
        bytes
    };
    let fg = run(&mut n, 6_000, &mut pending);
    n.input(Input::Background { on: true });
    let _settle = run(&mut n, 9_000, &mut pending);
    let bg = run(&mut n, 15_000, &mut pending);
    n.input(Input::Background { on: false });
    let _settle = run(&mut n, 18_000, &mut pending);
    let back = run(&mut n, 24_000, &mut pending);
    // Per second: foreground over 6 s, background and foreground again over 6 s.
    let (fg, bg, back) = (fg / 6, bg / 6, back / 6);
    assert!(bg > 0, "a background download still progresses");
    assert!(
        bg * 100 <= fg * 40,
        "background {bg} B/s vs foreground {fg} B/s"
    );
    assert!(
        back * 100 >= fg * 80,
        "foreground again: {back} vs {fg} B/s"
    );
}
