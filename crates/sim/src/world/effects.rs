//! What an honest engine's outputs do in the simulated world: messages go on
//! links, HTTP requests go to the CDN, stored pieces are checked against the
//! original file, and events are tallied for the report.

use edgeswarm_engine::{Event, Input, Output, Source};

use super::{Node, World};
use crate::net::Ev;

impl World {
    /// Performs one engine output; returns an input to feed back immediately.
    pub(super) fn carry_out(&mut self, i: usize, out: Output) -> Option<Input> {
        match out {
            Output::SendToPeer { peer, bytes } => self.send(i, peer.0 as usize, bytes),
            Output::HttpRequest { id, range } => {
                let (s, e) = (
                    range.start as usize,
                    (range.end as usize).min(self.file.len()),
                );
                let body = self.file.get(s..e).unwrap_or(&[]).to_vec();
                self.cdn_bytes += body.len() as u64;
                let at = self.net.cdn(self.now, body.len() as u64);
                self.queue.push(at, Ev::Http { node: i, id, body });
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
                let now = self.now;
                if let Node::Honest(h) = &mut self.nodes[i] {
                    h.store(piece, intact, now);
                }
            }
            Output::ReadPiece { piece } => {
                let index = self.meta.piece(piece)?;
                let start = self.meta.piece_offset(index) as usize;
                let bytes = self.file[start..start + self.meta.piece_len(index) as usize].to_vec();
                return Some(Input::PieceRead { piece, bytes });
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
            Event::Done { .. } if h.done(now) => self.finished += 1,
            _ => {}
        }
    }
}
