//! Messages, CDN responses and piece reads on their way between the network
//! and a node, through the node's CPU ([`crate::cpu`], [`crate::Costs`]).
//!
//! - Sending: an honest node's thread spends `message_cost(len)` on the
//!   message before it leaves on the uplink.
//! - Receiving: a message (or CDN response) that arrived waits for the
//!   node's thread, which spends `message_cost(len)` on it; then the engine
//!   gets it ([`Ev::Input`]). With no CPU costs configured, inputs go to the
//!   engine the moment they arrive, as before the costs existed.
//! - CDN: FIFO responses are timed when requested; shared ones join the
//!   link one latency after the request and are timed by [`Cdn`] ticks.
//!   Either way the bytes are copied from the file only on arrival.
//! - Reads: `ReadPiece` is answered `read_us` later (at once when 0).

use edgeswarm_engine::{HttpRequestId, Input, PeerKey};

use super::{Node, World};
use crate::costs::CdnModel;
use crate::net::Ev;

impl World {
    fn honest(&self, i: usize) -> bool {
        matches!(self.nodes.get(i), Some(Node::Honest(_)))
    }

    /// `input` for node `to` is ready now; its handling costs `cost` µs of
    /// the node's thread (attackers are scripts and pay nothing).
    fn after_cpu(&mut self, to: usize, other: usize, gen: Option<u64>, input: Input, cost: u64) {
        if !self.cfg.costs.uses_cpu() || !self.honest(to) {
            return self.deliver(to, input, other);
        }
        let at = self.cpu.run(to, self.now, cost);
        let ev = Ev::Input {
            node: to,
            other,
            gen,
            input,
        };
        self.queue.push(at, ev);
    }

    /// A peer message arrived at `to` over connection generation `gen`.
    pub(super) fn arrive(&mut self, from: usize, to: usize, gen: u64, bytes: Vec<u8>) {
        if self.net.conn(from, to) != Some(gen) {
            return;
        }
        let cost = self.cfg.costs.message_cost(bytes.len());
        let input = Input::PeerData {
            peer: PeerKey(from as u64),
            bytes,
        };
        self.after_cpu(to, from, Some(gen), input, cost);
    }

    /// Puts a message on the link `from` → `to`, after `from`'s thread has
    /// spent its cost on it.
    pub(super) fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let Some(gen) = self.net.conn(from, to) else {
            return;
        };
        let ready = match self.honest(from) && self.cfg.costs.uses_cpu() {
            true => {
                let cost = self.cfg.costs.message_cost(bytes.len());
                self.cpu.run(from, self.now, cost)
            }
            false => self.now,
        };
        let at = self
            .net
            .transmit(ready, from, to, bytes.len(), &mut self.rng);
        let ev = Ev::Deliver {
            from,
            to,
            gen,
            bytes,
        };
        self.queue.push(at, ev);
    }

    /// Node `i` asked the CDN for `range` (already clamped to the file).
    pub(super) fn http_request(
        &mut self,
        i: usize,
        id: HttpRequestId,
        range: std::ops::Range<u64>,
    ) {
        let len = range.end - range.start;
        self.cdn_bytes += len;
        let lat = self.net.latency_us;
        match self.cfg.costs.cdn_model {
            CdnModel::Fifo => {
                let at = self.cdn.fifo(self.now + lat, len) + lat;
                self.queue.push(at, Ev::Http { node: i, id, range });
            }
            CdnModel::Shared => {
                let ev = Ev::CdnJoin { node: i, id, range };
                self.queue.push(self.now + lat, ev);
            }
        }
    }

    /// Queues a tick for the shared CDN's next finishing transfer.
    pub(super) fn schedule_cdn_tick(&mut self) {
        if let Some(at) = self.cdn.next_finish() {
            let gen = self.cdn.generation();
            self.queue.push(at.max(self.now), Ev::CdnTick { gen });
        }
    }

    pub(super) fn cdn_tick(&mut self, gen: u64) {
        if gen != self.cdn.generation() {
            return;
        }
        let lat = self.net.latency_us;
        for t in self.cdn.finished(self.now) {
            let ev = Ev::Http {
                node: t.node,
                id: t.id,
                range: t.range,
            };
            self.queue.push(self.now + lat, ev);
        }
        self.schedule_cdn_tick();
    }

    /// The last byte of a CDN response reached `node`.
    pub(super) fn http_arrives(
        &mut self,
        node: usize,
        id: HttpRequestId,
        range: std::ops::Range<u64>,
    ) {
        let body = self.file_bytes(range);
        let cost = self.cfg.costs.message_cost(body.len());
        let input = Input::HttpResponse {
            id,
            status: 206,
            body,
        };
        self.after_cpu(node, node, None, input, cost);
    }

    /// Answers `ReadPiece` now or, with a read latency, later.
    pub(super) fn read_piece(&mut self, i: usize, piece: u32) -> Option<Input> {
        let read_us = self.cfg.costs.read_us;
        if read_us == 0 {
            return self.piece_bytes(piece);
        }
        self.queue
            .push(self.now + read_us, Ev::Read { node: i, piece });
        None
    }

    pub(super) fn read_done(&mut self, node: usize, piece: u32) {
        if let Some(input) = self.piece_bytes(piece) {
            self.after_cpu(node, node, None, input, 0);
        }
    }

    fn piece_bytes(&mut self, piece: u32) -> Option<Input> {
        let index = self.meta.piece(piece)?;
        let start = self.meta.piece_offset(index);
        let (start, len) = (start as usize, self.meta.piece_len(index) as usize);
        let file = &self.file;
        let slot = self.read_back.get_mut(piece as usize)?;
        let bytes = slot
            .get_or_insert_with(|| file.get(start..start + len).unwrap_or_default().into())
            .clone();
        Some(Input::PieceRead { piece, bytes })
    }

    /// A copy of `range` of the file (empty outside it).
    fn file_bytes(&self, range: std::ops::Range<u64>) -> Vec<u8> {
        let end = (range.end as usize).min(self.file.len());
        let start = (range.start as usize).min(end);
        self.file[start..end].to_vec()
    }
}
