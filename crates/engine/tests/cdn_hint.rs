//! A peer's reported CDN rate (`Message::CdnRate`) through the public API:
//! a page that has not measured the CDN probes it with one request for one
//! piece when a peer says the CDN is ahead of its peers, and a lie costs
//! exactly that one piece (the page's own measurement replaces the hint);
//! the page tells its peers its own measured rate, never one it was told.

mod common;

use std::collections::VecDeque;
use std::ops::Range;

use common::*;
use edgeswarm_engine::{EngineConfig, HttpRequestId, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);
/// 3 MiB: more than the 2 MiB the peers' rate needs to be measured.
const PIECES: usize = 192;

/// What happened while peer A (holding every piece, reporting `hint` as its
/// CDN rate) served 16 pieces (256 KiB) every 250 ms, and the CDN answered
/// each request 4 s after it was issued.
struct Run {
    ranges: Vec<Range<u64>>,
    /// CDN rates the page sent to A.
    told: Vec<u32>,
    finished: bool,
}

fn run(hint: Option<u32>) -> Run {
    let f = file(PIECES * PIECE);
    let (meta, mb) = metadata(&f);
    let mut n = Node::new(EngineConfig::default(), content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    let mut frames = hello(&meta, &mb, vec![0xff; PIECES / 8]);
    frames.extend(hint.map(|r| {
        wire::encode(&Message::CdnRate {
            bytes_per_second: r,
        })
    }));
    for fr in frames {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let mut to_a: VecDeque<u32> = VecDeque::new();
    let mut http: Vec<(u64, HttpRequestId, Range<u64>)> = Vec::new();
    let mut result = Run {
        ranges: Vec::new(),
        told: Vec::new(),
        finished: false,
    };
    for step in 0..400u64 {
        for o in n.drain() {
            match o {
                Output::HttpRequest { id, range } => {
                    result.ranges.push(range.clone());
                    http.push((n.now, id, range));
                }
                Output::SendToPeer { bytes, .. } => match wire::decode(&bytes) {
                    Ok(Message::Request { piece }) => to_a.push_back(piece),
                    Ok(Message::Cancel { piece }) => to_a.retain(|p| *p != piece),
                    Ok(Message::CdnRate { bytes_per_second }) => result.told.push(bytes_per_second),
                    _ => {}
                },
                _ => {}
            }
        }
        if n.engine.is_finished() {
            result.finished = true;
            break;
        }
        n.now = (step + 1) * 250;
        for piece in to_a.drain(..).take(16).collect::<Vec<_>>() {
            let start = piece as usize * PIECE;
            let msg = Message::PieceData {
                piece,
                offset: 0,
                data: f[start..start + PIECE].to_vec(),
            };
            n.input(Input::PeerData {
                peer: A,
                bytes: wire::encode(&msg),
            });
        }
        let due: Vec<_> = http
            .iter()
            .filter(|h| h.0 + 4000 <= n.now)
            .cloned()
            .collect();
        http.retain(|h| h.0 + 4000 > n.now);
        for (_, id, range) in due {
            let body = f[range.start as usize..range.end as usize].to_vec();
            n.input(Input::HttpResponse {
                id,
                status: 206,
                body,
            });
        }
        n.input(Input::Timeout);
    }
    assert!(n.stored == f || !result.finished, "stored bytes differ");
    result
}

#[test]
fn without_a_hint_the_page_never_asks_a_cdn_it_has_not_measured() {
    let r = run(None);
    assert!(r.finished);
    assert!(r.ranges.is_empty(), "{:?}", r.ranges);
    assert!(r.told.is_empty(), "nothing measured, nothing told");
}

#[test]
fn a_lying_hint_costs_one_probe_piece() {
    let r = run(Some(u32::MAX));
    assert!(r.finished);
    assert_eq!(r.ranges.len(), 1, "one probe: {:?}", r.ranges);
    assert_eq!(
        r.ranges[0].end - r.ranges[0].start,
        PIECE as u64,
        "of one piece"
    );
    // What the page tells is its own measurement (one piece in 4 s), not
    // the hint.
    assert!(!r.told.is_empty(), "the page told its measured rate");
    assert!(r.told.iter().all(|&t| t < 10_000), "{:?}", r.told);
}

#[test]
fn an_honest_hint_below_the_peers_starts_no_probe() {
    // 100 KB/s against a peer delivering about 1 MB/s.
    let r = run(Some(100_000));
    assert!(r.finished);
    assert!(r.ranges.is_empty(), "{:?}", r.ranges);
}
