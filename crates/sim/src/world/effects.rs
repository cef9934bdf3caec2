//! What an honest engine's outputs do in the simulated world: messages go on
//! links, HTTP requests go to the CDN, stored pieces are checked against the
//! original file and confirmed to the engine (`PieceStored`) when the write
//! completes (`Costs::store_us` after the previous write; at once when 0),
//! and events are tallied for the report.

use edgeswarm_engine::{Event, Input, Output, Source};

use super::{Node, World};
use crate::net::Ev;

impl World {
    /// Performs one engine output; returns an input to feed back immediately.
    pub(super) fn carry_out(&mut self, i: usize, out: Output) -> Option<Input> {
        match out {
            Output::SendToPeer { peer, bytes } => self.send(i, peer.0 as usize, bytes),
            Output::HttpRequest { id, range } => {
                let end = range.end.min(self.file.len() as u64);
                self.http_request(i, id, range.start.min(end)..end);
            }
            Output::ConnectPeer { peer } => {
                let b = peer.0 as usize;
                let at = self.now + 2 * self.net.latency(i, b);
                self.queue.push(at, Ev::Connect { a: i, b });
            }
            Output::DisconnectPeer { peer } => {
                let b = peer.0 as usize;
                if self.net.close(i, b) {
                    let at = self.now + self.net.latency(i, b);
                    self.queue.push(at, Ev::Gone { to: b, peer: i });
                }
            }
            Output::StorePiece {
                piece,
                offset,
                bytes,
            } => {
                let start = offset as usize;
                let intact = self.file.get(start..start + bytes.len()) == Some(&bytes[..]);
                let (now, store_us) = (self.now, self.cfg.costs.store_us);
                let Node::Honest(h) = &mut self.nodes[i] else {
                    return None;
                };
                let at = h.store(piece, intact, now, store_us);
                // The engine hears of the write when it completes.
                let input = Input::PieceStored { piece };
                if store_us == 0 {
                    return Some(input);
                }
                let ev = Ev::Input {
                    node: i,
                    other: i,
                    gen: None,
                    input,
                };
                self.queue.push(at, ev);
            }
            Output::ReadPiece { piece } => return self.read_piece(i, piece),
            Output::HashPiece { job, bytes, .. } => {
                let at = self.now + crate::hasher::hash_delay_us(bytes.len());
                let ticket = self.hasher.submit(bytes);
                self.queue.push(
                    at,
                    Ev::Hashed {
                        node: i,
                        job,
                        ticket,
                    },
                );
            }
            Output::Event(e) => self.record(i, e),
        }
        None
    }

    fn record(&mut self, i: usize, e: Event) {
        let now = self.now;
        let peers = self.cfg.peers;
        let Node::Honest(h) = &mut self.nodes[i] else {
            return;
        };
        match e {
            Event::PieceRejected {
                source: Source::Peer(k),
                ..
            } => h.rejected_from(k.0 as usize),
            Event::PieceRejected { .. } => h.rejected_http += 1,
            Event::PeerBanned { peer, .. } => {
                h.banned.push((peer.0 as usize, (peer.0 as usize) < peers))
            }
            Event::Done { .. } if h.done(now) => {
                self.finished += 1;
                self.share_changed();
            }
            _ => {}
        }
    }
}
