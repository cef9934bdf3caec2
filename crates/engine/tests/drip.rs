//! The drip defence (issue 11) through the public API: a peer that
//! announces every piece and then sends one byte per request about every
//! 19 s keeps no request alive, does not hold the CDN back, is banned after
//! repeated slow windows, and its bytes for pieces given up do not count.

mod common;

use std::collections::BTreeMap;

use common::*;
use edgeswarm_engine::{BanReason, EngineConfig, Event, Input, Output, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);
const PIECES: usize = 8;
/// The drip's period: just under the 20 s stall timeout.
const DRIP_MS: u64 = 19_000;

/// A connected dripping peer A and what it was asked.
struct Drip {
    n: Node,
    f: Vec<u8>,
    /// A's live requests: piece → next offset.
    live: BTreeMap<u32, u32>,
    /// (time, piece) of every Cancel A got.
    cancels: Vec<(u64, u32)>,
    /// Times of CDN requests, and whether A had live requests then.
    http: Vec<(u64, bool)>,
    /// Piece bytes A sent for live requests.
    accepted: u64,
}

impl Drip {
    fn new(cfg: EngineConfig) -> Self {
        let f = file(PIECES * PIECE);
        let (meta, mb) = metadata(&f);
        let mut n = Node::new(cfg, content(&mb, true), f.len());
        n.input(Input::PeerCandidates(vec![A]));
        n.input(Input::PeerConnected { peer: A });
        for fr in hello(&meta, &mb, vec![0xff]) {
            n.input(Input::PeerData { peer: A, bytes: fr });
        }
        let mut d = Self {
            n,
            f,
            live: BTreeMap::new(),
            cancels: Vec::new(),
            http: Vec::new(),
            accepted: 0,
        };
        d.pump();
        d
    }

    /// Handles the engine's outputs: A notes requests and cancels (and
    /// sends its first byte at once), the CDN answers at once.
    fn pump(&mut self) {
        let mut outs = self.n.drain();
        while !outs.is_empty() {
            let mut next = Vec::new();
            for o in outs {
                match o {
                    Output::HttpRequest { id, range } => {
                        self.http.push((self.n.now, !self.live.is_empty()));
                        let body = self.f[range.start as usize..range.end as usize].to_vec();
                        self.n.input(Input::HttpResponse {
                            id,
                            status: 206,
                            body,
                        });
                        next.extend(self.n.drain());
                    }
                    Output::SendToPeer { peer, bytes } if peer == A => match wire::decode(&bytes) {
                        Ok(Message::Request { piece }) => {
                            self.live.insert(piece, 0);
                            self.drip(piece);
                            next.extend(self.n.drain());
                        }
                        Ok(Message::Cancel { piece }) => {
                            self.live.remove(&piece);
                            self.cancels.push((self.n.now, piece));
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
            outs = next;
        }
    }

    /// A sends the next byte of `piece`.
    fn drip(&mut self, piece: u32) {
        let Some(offset) = self.live.get_mut(&piece) else {
            return;
        };
        let at = piece as usize * PIECE + *offset as usize;
        let msg = Message::PieceData {
            piece,
            offset: *offset,
            data: self.f[at..at + 1].to_vec(),
        };
        *offset += 1;
        self.accepted += 1;
        self.n.input(Input::PeerData {
            peer: A,
            bytes: wire::encode(&msg),
        });
    }

    /// Runs in 250 ms steps until `until` ms; A drips every `DRIP_MS`.
    fn run(&mut self, until: u64) {
        while self.n.now < until && self.banned().is_none() {
            self.n.now += 250;
            if self.n.now.is_multiple_of(DRIP_MS) {
                let pieces: Vec<u32> = self.live.keys().copied().collect();
                for p in pieces {
                    self.drip(p);
                }
            }
            self.n.input(Input::Timeout);
            self.pump();
        }
    }

    fn banned(&self) -> Option<(u64, BanReason)> {
        self.n.events.iter().find_map(|e| match e {
            Event::PeerBanned { peer, reason } if *peer == A => Some((self.n.now, reason.clone())),
            _ => None,
        })
    }
}

/// With no CDN, a drip's requests are cancelled when its first window
/// closes (not kept alive by a byte every 19 s), and it is banned for being
/// too slow at its third consecutive slow window (parole, then two
/// strikes).
#[test]
fn a_byte_every_19_s_keeps_no_request_alive_and_is_banned() {
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let window = cfg.slow_window_ms;
    let mut d = Drip::new(cfg);
    assert_eq!(d.live.len(), 2, "A was asked for two pieces");
    d.run(120_000);
    let first = d.cancels.first().copied();
    assert!(
        first.is_some_and(|(t, _)| t <= window),
        "requests cancelled when the first window closed: {:?}",
        d.cancels
    );
    let (at, reason) = d.banned().expect("the drip is banned");
    assert_eq!(reason, BanReason::TooSlow);
    assert!(
        at < 60_000,
        "banned after three windows and two snubs: {at}"
    );
}

/// With the CDN available, the pieces a drip holds are fetched from the CDN
/// while it still holds them (it does not count as a source), so the
/// download finishes long before its first window closes.
#[test]
fn the_cdn_fetches_the_pieces_only_a_drip_holds() {
    let cfg = EngineConfig::default();
    let window = cfg.slow_window_ms;
    let mut d = Drip::new(cfg);
    assert!(d.http.is_empty(), "no CDN while A looks able to serve");
    d.run(window);
    assert!(d.n.engine.is_finished(), "finished within one window");
    assert!(d.n.stored == d.f, "stored bytes differ from the file");
    assert!(
        d.http.iter().any(|(_, a_busy)| *a_busy),
        "the CDN ran while A held requests: {:?}",
        d.http
    );
}

/// Bytes for a request that was given up (here: the piece came from the
/// CDN and A was told to cancel) are dropped and not counted: only accepted
/// bytes make `bytes_from_peers`, and with it the minimum-QoS rate.
#[test]
fn bytes_for_pieces_given_up_do_not_count() {
    let mut d = Drip::new(EngineConfig::default());
    d.run(5_000);
    assert!(d.n.engine.is_finished());
    let cancelled: Vec<u32> = d.cancels.iter().map(|c| c.1).collect();
    assert!(!cancelled.is_empty(), "A's requests were cancelled");
    // A ignores the cancels and sends the rest of every piece it was asked.
    for &piece in &cancelled {
        let start = piece as usize * PIECE;
        let msg = Message::PieceData {
            piece,
            offset: 1,
            data: d.f[start + 1..start + PIECE].to_vec(),
        };
        d.n.input(Input::PeerData {
            peer: A,
            bytes: wire::encode(&msg),
        });
    }
    d.n.drain();
    assert_eq!(d.n.engine.stats().bytes_from_peers, d.accepted);
    assert!(d.banned().is_none(), "late blocks are not a violation");
}
