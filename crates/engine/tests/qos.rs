//! The CDN next to a peer, through the public API: the CDN fetches what no
//! peer has while the peer serves the rest, concurrently (no waiting for the
//! peer to run dry); pieces the peer has go to the CDN too only under the
//! minimum QoS: when the CDN is measurably faster than the peer (so P2P
//! never makes a download much slower than the CDN alone), or when the
//! download rate is below `min_download_bps` (DO's minimum download QoS).

mod common;

use std::collections::VecDeque;
use std::ops::Range;

use common::*;
use edgeswarm_engine::{EngineConfig, HttpRequestId, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);
const PIECES: usize = 16;
/// Peer A holds the first half of the file.
const A_BITS: [u8; 2] = [0xff, 0x00];

/// What happened while peer A served one piece per second (16 KiB/s) and the
/// CDN answered each request `cdn_ms` after it was issued.
struct Run {
    /// Most CDN requests outstanding at once while A had requests outstanding.
    http_while_peer_busy: usize,
    /// Every CDN range requested.
    ranges: Vec<Range<u64>>,
    /// Virtual ms at which the download completed.
    finished: Option<u64>,
}

impl Run {
    /// The CDN fetched a piece that peer A has.
    fn cdn_took_peer_pieces(&self) -> bool {
        let half = (PIECES / 2 * PIECE) as u64;
        self.ranges.iter().any(|r| r.start < half)
    }
}

fn run(min_download_bps: u64, cdn_ms: u64) -> Run {
    run_with(min_download_bps, cdn_ms, 2)
}

fn run_with(min_download_bps: u64, cdn_ms: u64, http_concurrency: usize) -> Run {
    let f = file(PIECES * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        min_download_bps,
        http_concurrency,
        ..EngineConfig::cooperative_cdn()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, A_BITS.to_vec()) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let mut to_a: VecDeque<u32> = VecDeque::new();
    let mut http: Vec<(u64, HttpRequestId, Range<u64>)> = Vec::new();
    let mut result = Run {
        http_while_peer_busy: 0,
        ranges: Vec::new(),
        finished: None,
    };
    // 250 ms steps, 30 s of virtual time at most.
    for step in 0..120u64 {
        for o in n.drain() {
            match o {
                Output::HttpRequest { id, range } => {
                    result.ranges.push(range.clone());
                    http.push((n.now, id, range));
                }
                Output::SendToPeer { peer, bytes } if peer == A => match wire::decode(&bytes) {
                    Ok(Message::Request { piece }) => to_a.push_back(piece),
                    Ok(Message::Cancel { piece }) => to_a.retain(|p| *p != piece),
                    _ => {}
                },
                _ => {}
            }
        }
        if !to_a.is_empty() {
            result.http_while_peer_busy = result.http_while_peer_busy.max(http.len());
        }
        if n.engine.is_finished() {
            result.finished = Some(n.now);
            break;
        }
        n.now = (step + 1) * 250;
        if n.now.is_multiple_of(1000) {
            if let Some(piece) = to_a.pop_front() {
                let start = piece as usize * PIECE;
                let msg = Message::PieceData {
                    piece,
                    offset: 0,
                    data: f[start..start + PIECE].to_vec(),
                };
                let bytes = wire::encode(&msg);
                n.input(Input::PeerData { peer: A, bytes });
            }
        }
        let due: Vec<_> = http
            .iter()
            .filter(|h| h.0 + cdn_ms <= n.now)
            .cloned()
            .collect();
        http.retain(|h| h.0 + cdn_ms > n.now);
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
    assert!(
        n.stored == f || result.finished.is_none(),
        "stored bytes differ"
    );
    result
}

#[test]
fn the_cdn_fetches_what_the_peer_lacks_alongside_it() {
    // The CDN (one piece per 4 s per request) is slower than the peer.
    for min_download_bps in [0, 8 * 1024] {
        let r = run(min_download_bps, 4000);
        assert!(r.finished.is_some(), "the download completes");
        assert!(
            r.http_while_peer_busy >= 1,
            "the CDN ran while the peer was downloading"
        );
        assert!(
            !r.cdn_took_peer_pieces(),
            "the CDN only fetched pieces the peer does not have: {:?}",
            r.ranges
        );
    }
}

#[test]
fn a_faster_cdn_also_fetches_pieces_the_peer_has() {
    // Two requests of 16 KiB per 500 ms: 64 KiB/s, four times the peer.
    let r = run(0, 500);
    assert!(r.cdn_took_peer_pieces(), "{:?}", r.ranges);
    // The CDN alone: 16 pieces, two every 500 ms.
    let cdn_alone = (PIECES as u64 / 2) * 500;
    let done = r.finished.expect("the download completes");
    assert!(
        done * 10 <= cdn_alone * 12,
        "P2P is not slower than 1.2 x the CDN alone: {done} ms vs {cdn_alone} ms"
    );
}

#[test]
fn below_the_minimum_qos_the_cdn_runs_at_full_concurrency() {
    // 16 KiB/s from the peer plus a slow CDN are below 64 KiB/s: all four
    // CDN slots run, not just the measured depth (one request).
    let r = run_with(64 * 1024, 4000, 4);
    assert!(r.finished.is_some(), "the download completes");
    assert_eq!(r.http_while_peer_busy, 4);
    let r = run_with(0, 4000, 4);
    assert!(r.finished.is_some(), "the download completes");
    assert!(r.http_while_peer_busy <= 2, "{}", r.http_while_peer_busy);
}
