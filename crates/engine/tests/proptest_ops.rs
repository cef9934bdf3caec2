//! Random operation sequences against one real engine: hostile frames from
//! several peers, raw garbage, HTTP failures and corrupt CDN bytes, peers
//! leaving, time passing. Whatever happens, the engine never panics, never
//! stores a byte that differs from the file, and — once the peers are gone
//! and the CDN behaves — finishes within a bounded number of steps
//! (drive-until-idle with a step budget: a livelock fails).

mod common;

use std::collections::VecDeque;

use common::*;
use edgeswarm_engine::{EngineConfig, HttpRequestId, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message, RejectReason};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Connect(u64),
    Hello(u64, u8),
    Frame(u64, u8, u32, u32, Vec<u8>),
    Raw(u64, Vec<u8>),
    Gone(u64),
    HttpServe,
    HttpFail,
    HttpCorrupt,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 1u64..4;
    prop_oneof![
        peer.clone().prop_map(Op::Connect),
        (peer.clone(), any::<u8>()).prop_map(|(k, b)| Op::Hello(k, b)),
        (
            peer.clone(),
            0u8..8,
            0u32..8,
            0u32..20_000,
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(k, t, p, o, d)| Op::Frame(k, t, p, o, d)),
        (peer.clone(), prop::collection::vec(any::<u8>(), 0..32)).prop_map(|(k, d)| Op::Raw(k, d)),
        peer.prop_map(Op::Gone),
        Just(Op::HttpServe),
        Just(Op::HttpFail),
        Just(Op::HttpCorrupt),
        (0u64..30_000).prop_map(Op::Advance),
    ]
}

struct Run {
    node: Node,
    file: Vec<u8>,
    meta: edgeswarm_protocol::Metadata,
    meta_bytes: Vec<u8>,
    http: VecDeque<(HttpRequestId, std::ops::Range<u64>)>,
    bad_stores: usize,
}

impl Run {
    fn pump(&mut self) {
        while let Some(o) = self.node.engine.poll_output() {
            match o {
                Output::HttpRequest { id, range } => self.http.push_back((id, range)),
                Output::StorePiece {
                    piece,
                    offset,
                    bytes,
                } => {
                    let at = offset as usize;
                    if self.file.get(at..at + bytes.len()) != Some(&bytes[..]) {
                        self.bad_stores += 1;
                    }
                    self.node.stored[at..at + bytes.len()].copy_from_slice(&bytes);
                    self.node.input(Input::PieceStored { piece });
                }
                Output::ReadPiece { piece } => {
                    let at = piece as usize * PIECE;
                    let end = (at + PIECE).min(self.file.len());
                    let bytes = self.file[at..end].into();
                    self.node.input(Input::PieceRead { piece, bytes });
                }
                _ => {}
            }
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Connect(k) => self.node.input(Input::PeerConnected { peer: PeerKey(k) }),
            Op::Hello(k, bits) => {
                for bytes in hello(&self.meta, &self.meta_bytes, vec![bits & 0xf0]) {
                    self.node.input(Input::PeerData {
                        peer: PeerKey(k),
                        bytes,
                    });
                }
            }
            Op::Frame(k, t, piece, offset, data) => {
                let msg = match t {
                    0 => Message::Have { piece },
                    1 => Message::Request { piece },
                    2 => Message::Cancel { piece },
                    3 => Message::Reject {
                        piece,
                        reason: RejectReason::NotHave,
                    },
                    4 => Message::Reject {
                        piece,
                        reason: RejectReason::Busy,
                    },
                    5 => Message::Bitfield(data.clone()),
                    6 => Message::Fetching { piece },
                    _ => {
                        // A block of the right bytes or of garbage.
                        let at = piece as usize * PIECE + offset as usize;
                        let real = self
                            .file
                            .get(at..at + data.len().max(1))
                            .map(<[u8]>::to_vec);
                        let data = if data.first() == Some(&0) {
                            real.unwrap_or(data)
                        } else {
                            data
                        };
                        Message::PieceData {
                            piece,
                            offset,
                            data,
                        }
                    }
                };
                self.node.input(Input::PeerData {
                    peer: PeerKey(k),
                    bytes: wire::encode(&msg),
                });
            }
            Op::Raw(k, bytes) => self.node.input(Input::PeerData {
                peer: PeerKey(k),
                bytes,
            }),
            Op::Gone(k) => self.node.input(Input::PeerGone { peer: PeerKey(k) }),
            Op::HttpServe | Op::HttpCorrupt => {
                if let Some((id, r)) = self.http.pop_front() {
                    let mut body = self.file[r.start as usize..r.end as usize].to_vec();
                    if matches!(op, Op::HttpCorrupt) {
                        body[0] ^= 0x80;
                    }
                    self.node.input(Input::HttpResponse {
                        id,
                        status: 206,
                        body,
                    });
                }
            }
            Op::HttpFail => {
                if let Some((id, _)) = self.http.pop_front() {
                    self.node.input(Input::HttpFailed { id });
                }
            }
            Op::Advance(ms) => {
                self.node.now += ms;
                self.node.input(Input::Timeout);
            }
        }
        self.pump();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_never_corrupt_and_still_finish(
        ops in prop::collection::vec(op(), 0..60),
        len in 1usize..(4 * PIECE),
        seed_candidates: bool,
    ) {
        let file = file(len);
        let (meta, meta_bytes) = metadata(&file);
        let cfg = EngineConfig { stall_timeout_ms: 5_000, ..EngineConfig::default() };
        let node = Node::new(cfg, content(&meta_bytes, true), len);
        let mut run = Run { node, file, meta, meta_bytes, http: VecDeque::new(), bad_stores: 0 };
        if seed_candidates {
            run.node.input(Input::PeerCandidates(vec![PeerKey(1), PeerKey(2)]));
        }
        run.pump();
        for op in ops {
            run.apply(op);
        }
        // The peers leave; the CDN now answers correctly. Drive until done.
        for k in 1..4 {
            run.apply(Op::Gone(k));
        }
        let mut steps = 0;
        while !run.node.engine.is_finished() {
            steps += 1;
            prop_assert!(steps < 1_000, "no progress: livelock or deadlock");
            if run.http.is_empty() {
                let Some(t) = run.node.engine.poll_timeout() else {
                    prop_assert!(false, "idle without finishing");
                    break;
                };
                run.node.now = run.node.now.max(t.0);
                run.node.input(Input::Timeout);
                run.pump();
            } else {
                run.apply(Op::HttpServe);
            }
        }
        prop_assert_eq!(run.bad_stores, 0);
        prop_assert!(run.node.stored == run.file, "stored bytes differ from the file");
    }
}
