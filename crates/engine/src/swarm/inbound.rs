//! Messages from peers. Every frame is decoded by the protocol codec; anything
//! malformed or out of order bans the sender (an event, never an `Err`), and a
//! handshake for other content or another metadata version only disconnects.
//! This is the wire boundary for piece numbers: each one is validated here,
//! once, into a [`PieceIndex`] (a number out of range bans the sender), and
//! only `PieceIndex` goes further.
//!
//! Piece bytes count (`bytes_from_peers`, the minimum-QoS rate, the drip
//! floor) only when accepted into a live request at the right offset: late
//! blocks for pieces given up, cancelled or verified elsewhere are dropped
//! uncounted, so junk cannot make a slow download look fast.

use edgeswarm_protocol::wire::{
    self, Bitfield, Decoded, Message, RejectReason, MAX_OUTSTANDING_REQUESTS, PROTOCOL_VERSION,
};
use edgeswarm_protocol::PieceIndex;

use super::peer::{Phase, Upload};
use super::Swarm;
use crate::types::{BanReason, Event, PeerKey, Source};

impl Swarm {
    pub(super) fn on_peer_data(&mut self, k: PeerKey, bytes: &[u8]) {
        let Some(phase) = self.peers.get(&k).map(|p| p.phase) else {
            return; // gone or banned: late bytes are ignored
        };
        // A data block is borrowed from the frame and copied once, into the
        // piece it belongs to.
        let msg = match wire::decode_borrowed(bytes) {
            Ok(Decoded::Block {
                piece,
                offset,
                data,
            }) if phase == Phase::Ready => return self.on_block_frame(k, piece, offset, data),
            Ok(Decoded::Block { .. }) => {
                return self.ban(k, BanReason::ProtocolViolation("message out of order"))
            }
            Ok(Decoded::Other(m)) => m,
            Err(e) => return self.ban(k, BanReason::malformed(&e)),
        };
        match (phase, msg) {
            (
                Phase::AwaitHandshake,
                Message::Handshake {
                    version,
                    content_id,
                    metadata_sha256,
                },
            ) => {
                let same = version == PROTOCOL_VERSION
                    && &content_id == self.meta.content_id()
                    && metadata_sha256 == self.meta_sha256;
                if !same {
                    return self.drop_peer(k);
                }
                self.set_phase(k, Phase::AwaitBitfield);
            }
            (Phase::AwaitBitfield, Message::Bitfield(bits)) => {
                let Some(has) = Bitfield::from_wire(&bits, self.pieces.len()) else {
                    return self.ban(
                        k,
                        BanReason::ProtocolViolation("bitfield of the wrong length"),
                    );
                };
                for p in has.ones().filter_map(|p| self.meta.piece(p)) {
                    self.pieces.add_availability(p);
                }
                if let Some(peer) = self.peers.get_mut(&k) {
                    peer.has = has;
                    peer.phase = Phase::Ready;
                }
                self.dirty.insert(k);
            }
            (Phase::Ready, m) => self.on_ready_message(k, m),
            _ => self.ban(k, BanReason::ProtocolViolation("message out of order")),
        }
    }

    fn set_phase(&mut self, k: PeerKey, phase: Phase) {
        if let Some(peer) = self.peers.get_mut(&k) {
            peer.phase = phase;
        }
    }

    /// A data block (borrowed from its frame) from a `Ready` peer.
    fn on_block_frame(&mut self, k: PeerKey, raw: u32, offset: u32, data: &[u8]) {
        let Some(piece) = self.meta.piece(raw) else {
            return self.ban(k, BanReason::ProtocolViolation("piece number out of range"));
        };
        self.on_block(k, piece, offset, data);
    }

    fn on_ready_message(&mut self, k: PeerKey, msg: Message) {
        let raw = match &msg {
            Message::Have { piece }
            | Message::Request { piece }
            | Message::Cancel { piece }
            | Message::Reject { piece, .. }
            | Message::Fetching { piece }
            | Message::PieceData { piece, .. } => *piece,
            Message::Handshake { .. } | Message::Bitfield(_) => {
                return self.ban(
                    k,
                    BanReason::ProtocolViolation("second handshake or bitfield"),
                )
            }
        };
        let Some(piece) = self.meta.piece(raw) else {
            return self.ban(k, BanReason::ProtocolViolation("piece number out of range"));
        };
        match msg {
            Message::Have { .. } => {
                let Some(peer) = self.peers.get_mut(&k) else {
                    return;
                };
                peer.leases.fulfil(piece);
                if peer.has.set(piece.get()) {
                    self.pieces.add_availability(piece);
                    self.dirty.insert(k);
                }
            }
            Message::Request { .. } => self.on_request(k, piece),
            Message::Cancel { .. } => {
                if let Some(peer) = self.peers.get_mut(&k) {
                    peer.uploads.retain(|u| u.piece != piece);
                }
            }
            Message::Reject { reason, .. } => self.on_reject(k, piece, reason),
            Message::Fetching { .. } => self.on_fetching(k, piece),
            Message::PieceData { offset, data, .. } => self.on_block(k, piece, offset, &data),
            Message::Handshake { .. } | Message::Bitfield(_) => {}
        }
    }

    fn on_request(&mut self, k: PeerKey, piece: PieceIndex) {
        let have = self.pieces.is_verified(piece);
        let queued: usize = self.peers.values().map(|p| p.uploads.len()).sum();
        let busy = queued >= self.cfg.upload_queue_total.max(1)
            || self.upload_round_too_long(k)
            || !self.budget_allows(1);
        let Some(peer) = self.peers.get_mut(&k) else {
            return;
        };
        if peer.uploads.iter().any(|u| u.piece == piece) {
            return;
        }
        if peer.uploads.len() >= MAX_OUTSTANDING_REQUESTS {
            return self.ban(k, BanReason::RequestFlood);
        }
        if !have {
            // Requesters may only ask for pieces we announced, and announcements
            // are never withdrawn: an honest peer cannot send this request.
            return self.ban(
                k,
                BanReason::ProtocolViolation("request for a piece not announced"),
            );
        }
        peer.last_useful = self.now;
        let reason = if busy { Some(RejectReason::Busy) } else { None };
        match reason {
            Some(reason) => self.send(
                k,
                &Message::Reject {
                    piece: piece.get(),
                    reason,
                },
            ),
            None => peer.uploads.push_back(Upload { piece, offset: 0 }),
        }
    }

    fn on_reject(&mut self, k: PeerKey, piece: PieceIndex, reason: RejectReason) {
        let now = self.now;
        let snub = self.cfg.snub_ms;
        let Some(peer) = self.peers.get_mut(&k) else {
            return;
        };
        if peer.downloads.remove(&piece).is_none() {
            return; // answer to a request we already cancelled
        }
        self.all_dirty = true;
        let announced = peer.has.get(piece.get());
        self.pieces.end_attempt(piece, Source::Peer(k));
        match reason {
            // Busy is temporary: leave the peer alone for a while, then it may
            // be asked again (even for this piece).
            RejectReason::Busy => peer.snubbed_until = now.plus(snub),
            RejectReason::NotHave => {
                peer.given_up.insert(piece);
                // Announced pieces are never dropped: refusing one is a lie.
                if announced {
                    self.strike(k, BanReason::Unresponsive);
                }
            }
        }
    }

    fn on_block(&mut self, k: PeerKey, piece: PieceIndex, offset: u32, data: &[u8]) {
        let now = self.now;
        let piece_len = self.meta.piece_len(piece) as usize;
        let Some(peer) = self.peers.get_mut(&k) else {
            return;
        };
        let Some(buf) = peer.downloads.buf_mut(&piece) else {
            if peer.given_up.contains(&piece) {
                return; // late blocks of a cancelled request
            }
            return self.ban(
                k,
                BanReason::ProtocolViolation("data that was not requested"),
            );
        };
        let first = buf.is_empty();
        if offset as usize != buf.len() || !buf.push(data, piece_len) {
            return self.ban(k, BanReason::ProtocolViolation("block at the wrong offset"));
        }
        // Only accepted bytes (for a live request, at the right offset)
        // count: toward the minimum-QoS rate and the drip floor.
        self.stats.bytes_from_peers += data.len() as u64;
        peer.window.bytes += data.len() as u64;
        peer.last_useful = now;
        peer.last_progress = now;
        peer.throughput.record(now, data.len() as u64);
        self.dirty.insert(k);
        let complete = buf
            .complete()
            .then(|| {
                peer.downloads
                    .remove(&piece)
                    .and_then(|d| d.buf.into_bytes())
            })
            .flatten();
        if complete.is_some() {
            peer.pieces_delivered += 1;
        }
        let source = Source::Peer(k);
        if first {
            self.event(Event::PieceFirstBytes {
                piece: piece.get(),
                source,
            });
        }
        if let Some(bytes) = complete {
            self.piece_complete(piece, source, bytes);
        }
    }
}
