//! A tiny test harness: one real engine, a real file and its real metadata;
//! the test plays the network, the CDN and (when needed) a remote peer.

#![allow(dead_code)]

use edgeswarm_engine::{
    Content, Engine, EngineConfig, Event, HttpRequestId, Input, Millis, Output, PeerKey,
};
use edgeswarm_protocol::wire::{self, Message, PROTOCOL_VERSION};
use edgeswarm_protocol::{sha256, ContentId, Metadata, MetadataBuilder, PieceSize};

pub const PIECE: usize = 16 << 10;

pub fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub fn metadata(file: &[u8]) -> (Metadata, Vec<u8>) {
    metadata_sized(file, PIECE)
}

/// `metadata` with pieces of `piece` bytes.
pub fn metadata_sized(file: &[u8], piece: usize) -> (Metadata, Vec<u8>) {
    let mut b = MetadataBuilder::new(
        ContentId::new("test-file").unwrap(),
        PieceSize::new(piece as u64).unwrap(),
    );
    b.update(file);
    let m = b.finish().unwrap();
    let bytes = m.encode();
    (m, bytes)
}

pub fn content(meta_bytes: &[u8], p2p: bool) -> Content {
    Content {
        mode: edgeswarm_protocol::DownloadMode::Internet,
        metadata: Some(meta_bytes.to_vec()),
        metadata_sha256: Some(sha256(meta_bytes)),
        p2p_allowed: p2p,
        file_size: 0,
        file_sha256: None,
    }
}

pub struct Node {
    pub engine: Engine,
    pub now: u64,
    /// Bytes written by StorePiece, at their offsets.
    pub stored: Vec<u8>,
    pub events: Vec<Event>,
    /// Answer every `StorePiece` with `PieceStored` at once (default); when
    /// false, written pieces wait in `unacked` for the test to answer.
    pub auto_ack: bool,
    pub unacked: Vec<u32>,
    /// Every range `serve_http` answered, with the time.
    pub served: Vec<(u64, std::ops::Range<u64>)>,
}

impl Node {
    pub fn new(cfg: EngineConfig, content: Content, file_len: usize) -> Self {
        Self {
            engine: Engine::new(cfg, content, Millis(0), 42),
            now: 0,
            stored: vec![0; file_len],
            events: Vec::new(),
            auto_ack: true,
            unacked: Vec::new(),
            served: Vec::new(),
        }
    }

    pub fn input(&mut self, input: Input) {
        self.engine.handle_input(Millis(self.now), input);
    }

    /// Drains outputs; stores pieces and records events; returns the rest.
    pub fn drain(&mut self) -> Vec<Output> {
        let mut rest = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::StorePiece {
                    piece,
                    offset,
                    bytes,
                } => {
                    let at = offset as usize;
                    self.stored[at..at + bytes.len()].copy_from_slice(&bytes);
                    if self.auto_ack {
                        self.input(Input::PieceStored { piece });
                    } else {
                        self.unacked.push(piece);
                    }
                }
                Output::Event(e) => self.events.push(e),
                other => rest.push(other),
            }
        }
        rest
    }

    /// Answers every HTTP request from `file` until none is left; returns how many.
    pub fn serve_http(&mut self, file: &[u8], mut outs: Vec<Output>) -> Vec<Output> {
        let mut left = Vec::new();
        while !outs.is_empty() {
            let mut next = Vec::new();
            for o in outs {
                match o {
                    Output::HttpRequest { id, range } => {
                        self.served.push((self.now, range.clone()));
                        let body = file[range.start as usize..range.end as usize].to_vec();
                        self.input(Input::HttpResponse {
                            id,
                            status: 206,
                            body,
                        });
                        next.extend(self.drain());
                    }
                    other => left.push(other),
                }
            }
            outs = next;
        }
        left
    }

    /// Answers one CDN range with its bytes from `file` (status 206).
    pub fn answer_range(&mut self, file: &[u8], id: HttpRequestId, range: std::ops::Range<u64>) {
        let body = file[range.start as usize..range.end as usize].to_vec();
        self.input(Input::HttpResponse {
            id,
            status: 206,
            body,
        });
    }

    pub fn advance_to_timeout(&mut self) -> bool {
        match self.engine.poll_timeout() {
            Some(t) => {
                self.now = t.0;
                self.input(Input::Timeout);
                true
            }
            None => false,
        }
    }
}

/// The frames a remote peer sends to open a connection for `meta`.
pub fn hello(meta: &Metadata, meta_bytes: &[u8], bits: Vec<u8>) -> Vec<Vec<u8>> {
    vec![
        wire::encode(&Message::Handshake {
            version: PROTOCOL_VERSION,
            content_id: meta.content_id().clone(),
            metadata_sha256: sha256(meta_bytes),
        }),
        wire::encode(&Message::Bitfield(bits)),
    ]
}

/// A P2P node (CDN held back for an hour) whose only peer `peer` connected
/// and said hello with the bitfield `bits`.
pub fn greeted_by(f: &[u8], peer: PeerKey, bits: Vec<u8>) -> Node {
    let (meta, mb) = metadata(f);
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![peer]));
    n.input(Input::PeerConnected { peer });
    for fr in hello(&meta, &mb, bits) {
        n.input(Input::PeerData { peer, bytes: fr });
    }
    n
}

/// Carries frames between `a` (peer `ka` to `b`) and `b` (peer `kb` to
/// `a`) until both are quiet; `a`'s `ReadPiece`s are answered from `f`.
pub fn shuttle(a: &mut Node, ka: PeerKey, b: &mut Node, kb: PeerKey, f: &[u8]) {
    let (mut to_a, mut to_b) = (b.drain(), a.drain());
    for _ in 0..10_000 {
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        for o in std::mem::take(&mut to_a) {
            if let Output::SendToPeer { bytes, .. } = o {
                a.input(Input::PeerData { peer: kb, bytes });
                to_b.extend(a.drain());
            }
        }
        for o in std::mem::take(&mut to_b) {
            match o {
                Output::SendToPeer { bytes, .. } => {
                    b.input(Input::PeerData { peer: ka, bytes });
                    to_a.extend(b.drain());
                }
                Output::ReadPiece { piece } => {
                    let at = piece as usize * PIECE;
                    let bytes = f[at..(at + PIECE).min(f.len())].into();
                    a.input(Input::PieceRead { piece, bytes });
                    to_b.extend(a.drain());
                }
                _ => {}
            }
        }
    }
    panic!("the peers never went quiet");
}

/// Peer `peer` sends piece `piece` of `f` whole, as one block.
pub fn send_piece(n: &mut Node, peer: PeerKey, f: &[u8], piece: u32) {
    let start = piece as usize * PIECE;
    let msg = Message::PieceData {
        piece,
        offset: 0,
        data: f[start..start + PIECE].to_vec(),
    };
    n.input(Input::PeerData {
        peer,
        bytes: wire::encode(&msg),
    });
}

pub fn frames_to(outs: &[Output], peer: PeerKey) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            Output::SendToPeer { peer: p, bytes } if *p == peer => wire::decode(bytes).ok(),
            _ => None,
        })
        .collect()
}
