//! Whom to ask for what: rarest-first with a random tie-break, one source per
//! attempt, pipelines sized to measured throughput, stall detection and the
//! endgame.
//!
//! Rules:
//! - a peer gets whole-piece requests while it has fewer in flight than its
//!   pipeline depth (about `pipeline_ms` of its measured throughput, clamped to
//!   `min/max_requests_per_peer` and the protocol's 32);
//! - it is asked for the rarest missing piece it can serve; never for a piece
//!   it refused, stalled on or sent bad bytes for;
//! - a peer with requests in flight that sends nothing for `stall_timeout_ms`
//!   (counted from its last piece bytes or from our oldest outstanding
//!   request to it, whichever is later) is stalled: its requests are
//!   cancelled and reassigned, it takes a strike and gets no requests for
//!   `snub_ms`;
//! - a peer that is not `Ready` (handshake and bitfield received)
//!   `connect_timeout_ms` after its channel opened is disconnected (no ban),
//!   so a silent peer cannot hold a connection slot forever;
//! - a request still unanswered after `slow_piece_timeout_ms` is cancelled
//!   and reassigned, without a strike (slow holders);
//! - endgame: once no piece is unassigned and at most `endgame_pieces` are in
//!   flight, an idle peer may also be asked for a piece already in flight
//!   elsewhere (a second, separately verified attempt); the first verified copy
//!   wins and the other request is cancelled. This also routes around slow holders.

use edgeswarm_protocol::wire::{Message, MAX_OUTSTANDING_REQUESTS};
use edgeswarm_protocol::PieceIndex;
use rand_core::Rng;

use super::peer::{Download, Phase};
use super::Swarm;
use crate::types::{BanReason, Event, Millis, PeerKey, Source};

impl Swarm {
    pub(super) fn check_stalls(&mut self) {
        let now = self.now;
        let silent: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.phase != Phase::Ready && now.since(p.connected_at) >= self.cfg.connect_timeout_ms
            })
            .map(|(k, _)| *k)
            .collect();
        for k in silent {
            self.drop_peer(k);
        }
        let timeout = self.cfg.stall_timeout_ms;
        let stalled: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.silent_since().is_some_and(|t| now.since(t) >= timeout))
            .map(|(k, _)| *k)
            .collect();
        for k in stalled {
            self.all_dirty = true;
            let snub = self.cfg.snub_ms;
            let Some(peer) = self.peers.get_mut(&k) else {
                continue;
            };
            let pieces: Vec<PieceIndex> = peer.downloads.keys().copied().collect();
            peer.downloads.clear();
            peer.snubbed_until = now.plus(snub);
            peer.given_up.extend(pieces.iter().copied());
            for p in pieces {
                self.pieces.end_attempt(p, Source::Peer(k));
                self.send(k, &Message::Cancel { piece: p.get() });
            }
            self.strike(k, BanReason::Unresponsive);
        }
        self.cancel_slow_pieces();
    }

    /// Requests older than `slow_piece_timeout_ms` go elsewhere (no strike:
    /// the holder is slow, not necessarily dishonest).
    fn cancel_slow_pieces(&mut self) {
        let now = self.now;
        let limit = self.cfg.slow_piece_timeout_ms;
        let slow: Vec<(PeerKey, PieceIndex)> = self
            .peers
            .iter()
            .flat_map(|(k, p)| {
                p.downloads
                    .iter()
                    .map(move |(piece, d)| (*k, *piece, d.since))
            })
            .filter(|(_, _, since)| now.since(*since) >= limit)
            .map(|(k, piece, _)| (k, piece))
            .collect();
        for (k, p) in slow {
            self.all_dirty = true;
            if let Some(peer) = self.peers.get_mut(&k) {
                peer.downloads.remove(&p);
                peer.given_up.insert(p);
            }
            self.pieces.end_attempt(p, Source::Peer(k));
            self.send(k, &Message::Cancel { piece: p.get() });
        }
    }

    pub(super) fn schedule_peers(&mut self) {
        if !self.p2p || self.done || self.peers.is_empty() {
            self.dirty.clear();
            return;
        }
        if self.background.hold {
            return;
        }
        let now = self.now;
        let all = std::mem::take(&mut self.all_dirty);
        let dirty = std::mem::take(&mut self.dirty);
        let mut keys: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(k, p)| p.usable(now) && (all || dirty.contains(k)))
            .map(|(k, _)| *k)
            .collect();
        if keys.is_empty() {
            return;
        }
        // Rotate so no peer is always served first.
        let start = (self.rng.next_u64() % keys.len() as u64) as usize;
        keys.rotate_left(start);
        let max = self.cfg.max_requests_per_peer.min(MAX_OUTSTANDING_REQUESTS);
        for k in keys {
            while let Some(peer) = self.peers.get(&k) {
                let depth = peer.throughput.depth(
                    self.meta.piece_size().get(),
                    self.cfg.pipeline_ms,
                    // Never above the protocol cap, or the holder sees a flood.
                    self.cfg
                        .min_requests_per_peer
                        .clamp(1, MAX_OUTSTANDING_REQUESTS),
                    max,
                );
                if peer.downloads.len() >= depth {
                    break;
                }
                let mut pick = self
                    .pieces
                    .pick_rarest(&self.meta, &mut self.rng, |p| peer.can_serve(p, now));
                let endgame = self.pieces.missing() == 0
                    && self.pieces.in_flight() <= self.cfg.endgame_pieces;
                if pick.is_none() && endgame {
                    pick = self
                        .pieces
                        .pick_endgame(&self.meta, &mut self.rng, |p, sources| {
                            peer.can_serve(p, now) && !sources.contains(&Source::Peer(k))
                        });
                }
                let Some(p) = pick else { break };
                if !self.request(k, p, now) {
                    break;
                }
            }
        }
    }

    /// Sends a request for `p` to `k`; false when nothing was sent.
    fn request(&mut self, k: PeerKey, p: PieceIndex, now: Millis) -> bool {
        if !self.peers.contains_key(&k) || !self.pieces.start(p, Source::Peer(k)) {
            return false;
        }
        let Some(peer) = self.peers.get_mut(&k) else {
            return false;
        };
        if peer.downloads.is_empty() {
            peer.last_progress = now;
        }
        // The buffer is allocated when the first block arrives: a deep
        // pipeline of large pieces must not reserve memory up front.
        let buf = Vec::new();
        peer.downloads.insert(p, Download { buf, since: now });
        self.send(k, &Message::Request { piece: p.get() });
        self.event(Event::PieceRequested {
            piece: p.get(),
            source: Source::Peer(k),
        });
        true
    }

    /// Next stall check or end of a snub.
    pub(super) fn download_deadline(&self) -> Option<Millis> {
        let now = self.now;
        self.peers
            .values()
            .flat_map(|p| {
                let stall = p.silent_since().map(|t| t.plus(self.cfg.stall_timeout_ms));
                let snub = (p.snubbed_until > now).then_some(p.snubbed_until);
                let oldest = p.downloads.values().map(|d| d.since).min();
                let slow = oldest.map(|t| t.plus(self.cfg.slow_piece_timeout_ms));
                let handshake = (p.phase != Phase::Ready)
                    .then(|| p.connected_at.plus(self.cfg.connect_timeout_ms));
                [stall, snub, slow, handshake]
            })
            .flatten()
            .min()
    }
}
