//! HTTP-only mode asks for runs of consecutive pieces in one range request
//! and takes the body as it streams (`HttpHead`, `HttpData`…, `HttpEnd`):
//! every piece is verified and stored as soon as its bytes are in, a range
//! that breaks off or carries a bad piece loses only those pieces, and
//! nothing is fetched twice.

mod common;

use std::ops::Range;

use common::*;
use edgeswarm_engine::{EngineConfig, Event, HttpRequestId, Input, Output, Source};

/// How the test's CDN answers one request.
enum Answer {
    /// The right bytes, streamed in chunks of this size.
    Chunks(usize),
    /// Only the first `n` bytes, then the body ends (`HttpEnd`).
    Truncated(usize),
    /// The first `n` bytes, then the connection fails (`HttpFailed`).
    FailsAfter(usize),
    /// Byte `at` of the range flipped.
    Corrupt(usize),
    /// The range's bytes and one more.
    OneByteTooMany,
}

struct Cdn {
    file: Vec<u8>,
    /// Every range asked for, in order.
    asked: Vec<Range<u64>>,
    /// Piece stores seen while a body was still streaming: (request, piece).
    stored_mid_body: Vec<(usize, u32)>,
}

impl Cdn {
    fn new(file: Vec<u8>) -> Self {
        Self {
            file,
            asked: Vec::new(),
            stored_mid_body: Vec::new(),
        }
    }

    /// Answers requests (and the ones they lead to) until none is left;
    /// `answer(n, range)` decides how request `n` goes.
    fn serve(&mut self, node: &mut Node, answer: impl Fn(usize, &Range<u64>) -> Answer) {
        let mut outs = node.drain();
        while let Some(i) = outs
            .iter()
            .position(|o| matches!(o, Output::HttpRequest { .. }))
        {
            let Output::HttpRequest { id, range } = outs.remove(i) else {
                unreachable!()
            };
            let n = self.asked.len();
            self.asked.push(range.clone());
            let mut body = self.file[range.start as usize..range.end as usize].to_vec();
            let (chunk, end_ok) = match answer(n, &range) {
                Answer::Chunks(c) => (c, true),
                Answer::Truncated(len) => {
                    body.truncate(len);
                    (4096, true)
                }
                Answer::FailsAfter(len) => {
                    body.truncate(len);
                    (4096, false)
                }
                Answer::Corrupt(at) => {
                    body[at] ^= 0x55;
                    (5000, true)
                }
                Answer::OneByteTooMany => {
                    body.push(0);
                    (body.len(), true)
                }
            };
            node.input(Input::HttpHead { id, status: 206 });
            outs.extend(node.drain());
            let last = body.chunks(chunk).count();
            for (c, bytes) in body.chunks(chunk).enumerate() {
                let before = node.events.len();
                node.input(Input::HttpData {
                    id,
                    bytes: bytes.to_vec(),
                });
                outs.extend(node.drain());
                if c + 1 < last {
                    for e in &node.events[before..] {
                        if let Event::PieceVerified { piece, .. } = e {
                            self.stored_mid_body.push((n, *piece));
                        }
                    }
                }
            }
            let end = if end_ok {
                Input::HttpEnd { id }
            } else {
                Input::HttpFailed { id }
            };
            node.input(end);
            outs.extend(node.drain());
            // Backoff after a failure: let time pass until requests go out.
            while !outs.iter().any(|o| matches!(o, Output::HttpRequest { .. }))
                && !node.engine.is_finished()
                && node.advance_to_timeout()
            {
                outs.extend(node.drain());
            }
        }
    }

    fn pieces_asked(&self) -> Vec<u64> {
        self.asked
            .iter()
            .flat_map(|r| r.start / PIECE as u64..r.end.div_ceil(PIECE as u64))
            .collect()
    }
}

fn http_only(pieces: usize, tail: usize) -> (Node, Vec<u8>) {
    let f = file(pieces * PIECE + tail);
    let (_, mb) = metadata(&f);
    let n = Node::new(EngineConfig::default(), content(&mb, false), f.len());
    (n, f)
}

fn rejected(n: &Node) -> Vec<u32> {
    n.events
        .iter()
        .filter_map(|e| match e {
            Event::PieceRejected { piece, .. } => Some(*piece),
            _ => None,
        })
        .collect()
}

#[test]
fn ranges_of_many_pieces_stream_into_verified_stored_pieces() {
    let (mut n, f) = http_only(40, 777);
    let mut cdn = Cdn::new(f.clone());
    cdn.serve(&mut n, |_, _| Answer::Chunks(5000));
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f, "bytes intact");
    assert!(
        cdn.asked.len() < 41,
        "several pieces per request: {} requests",
        cdn.asked.len()
    );
    assert_eq!(
        n.engine.stats().bytes_from_http,
        f.len() as u64,
        "nothing fetched twice"
    );
    let mut asked = cdn.pieces_asked();
    asked.sort_unstable();
    assert_eq!(asked, (0..41).collect::<Vec<_>>(), "each piece asked once");
    // Pieces are verified and stored while their range still streams.
    assert!(
        cdn.stored_mid_body.len() >= 20,
        "stored mid-body: {:?}",
        cdn.stored_mid_body
    );
    let firsts = n
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::PieceFirstBytes {
                    source: Source::Http,
                    ..
                }
            )
        })
        .count();
    assert_eq!(firsts, 41, "each piece's first bytes reported once");
}

#[test]
fn a_truncated_range_loses_only_its_unfinished_pieces() {
    let (mut n, f) = http_only(40, 0);
    let mut cdn = Cdn::new(f.clone());
    // The first range breaks off in the middle of its third piece.
    let cut = 2 * PIECE + 100;
    cdn.serve(&mut n, |i, _| {
        if i == 0 {
            Answer::Truncated(cut)
        } else {
            Answer::Chunks(3000)
        }
    });
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f, "bytes intact");
    let first = cdn.asked[0].clone();
    assert!(first.end - first.start > 3 * PIECE as u64);
    // Pieces 0 and 1 came with the broken range and are never asked again.
    let again: Vec<u64> = cdn.pieces_asked()[(first.end / PIECE as u64) as usize..].to_vec();
    assert!(
        !again.contains(&0) && !again.contains(&1),
        "asked again: {again:?}"
    );
    assert_eq!(
        n.engine.stats().bytes_from_http,
        f.len() as u64 + 100,
        "only the broken piece's 100 bytes came twice"
    );
}

#[test]
fn a_range_that_fails_mid_body_keeps_its_verified_pieces() {
    let (mut n, f) = http_only(24, 0);
    let mut cdn = Cdn::new(f.clone());
    cdn.serve(&mut n, |i, _| {
        if i == 1 {
            Answer::FailsAfter(PIECE + 1)
        } else {
            Answer::Chunks(PIECE)
        }
    });
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f);
    assert_eq!(n.engine.stats().bytes_from_http, f.len() as u64 + 1);
}

#[test]
fn a_corrupted_piece_in_a_range_is_the_only_one_fetched_again() {
    let (mut n, f) = http_only(32, 10);
    let mut cdn = Cdn::new(f.clone());
    // Request 0 carries a bad byte in its second piece.
    cdn.serve(&mut n, |i, _| {
        if i == 0 {
            Answer::Corrupt(PIECE + 17)
        } else {
            Answer::Chunks(7000)
        }
    });
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f, "bytes intact");
    assert_eq!(rejected(&n), vec![1], "only the bad piece rejected");
    let mut asked = cdn.pieces_asked();
    asked.sort_unstable();
    let mut want: Vec<u64> = (0..33).collect();
    want.push(1);
    want.sort_unstable();
    assert_eq!(asked, want, "only piece 1 asked twice");
    assert_eq!(
        n.engine.stats().bytes_from_http,
        f.len() as u64 + PIECE as u64
    );
}

#[test]
fn a_body_longer_than_the_range_fails_before_its_bytes_are_kept() {
    let (mut n, f) = http_only(8, 0);
    let mut cdn = Cdn::new(f.clone());
    // The first body is one byte too long, in one chunk: refused whole.
    cdn.serve(&mut n, |i, _| {
        if i == 0 {
            Answer::OneByteTooMany
        } else {
            Answer::Chunks(PIECE / 2)
        }
    });
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f);
    let first = cdn.asked[0].clone();
    let first_pieces = (first.end - first.start) / PIECE as u64;
    assert!(first_pieces > 1);
    // Nothing of the refused body was verified: its pieces were asked again.
    let again = cdn.pieces_asked();
    for p in 0..first_pieces {
        assert_eq!(again.iter().filter(|q| **q == p).count(), 2, "piece {p}");
    }
}

#[test]
fn one_piece_per_request_when_configured_and_data_before_head_fails() {
    let f = file(6 * PIECE);
    let (_, mb) = metadata(&f);
    let cfg = EngineConfig {
        http_max_range_pieces: 1,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, false), f.len());
    let outs = n.drain();
    let ranges: Vec<Range<u64>> = outs
        .iter()
        .filter_map(|o| match o {
            Output::HttpRequest { range, .. } => Some(range.clone()),
            _ => None,
        })
        .collect();
    assert!(ranges.iter().all(|r| r.end - r.start == PIECE as u64));
    // Bytes without a status are not taken: that request fails.
    let Some(Output::HttpRequest { id, .. }) = outs.first() else {
        panic!("no request")
    };
    n.input(Input::HttpData {
        id: *id,
        bytes: f[..PIECE].to_vec(),
    });
    n.drain();
    assert_eq!(n.engine.stats().pieces_verified, 0);
    let late = HttpRequestId(id.0);
    n.input(Input::HttpHead {
        id: late,
        status: 206,
    });
    n.drain();
    assert_eq!(
        n.engine.stats().pieces_verified,
        0,
        "a failed request stays failed"
    );
}

#[test]
fn simple_mode_takes_streamed_chunks_and_refuses_a_longer_body() {
    let f = file(5 * PIECE + 3);
    let content = edgeswarm_engine::Content {
        mode: edgeswarm_protocol::DownloadMode::Simple,
        file_size: f.len() as u64,
        file_sha256: Some(edgeswarm_protocol::sha256(&f)),
        ..edgeswarm_engine::Content::default()
    };
    let cfg = EngineConfig {
        simple_chunk_size: 2 * PIECE as u32,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content, f.len());
    let mut cdn = Cdn::new(f.clone());
    cdn.serve(&mut n, |i, _| {
        if i == 0 {
            Answer::OneByteTooMany
        } else {
            Answer::Chunks(1000)
        }
    });
    assert!(n.engine.is_finished());
    assert_eq!(n.stored, f);
    assert!(n
        .events
        .iter()
        .any(|e| matches!(e, Event::Done { verified: true, .. })));
    assert_eq!(cdn.asked.len(), 4, "3 chunks, the first one twice");
}
