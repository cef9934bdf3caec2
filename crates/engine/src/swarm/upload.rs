//! Serving verified pieces: requests are queued per requester and served in
//! 64 KiB blocks, round-robin one block per requester per turn (fairness),
//! under an optional token-bucket rate cap (`upload_rate`).
//!
//! With a rate cap, a new requester is answered Busy when one round-robin
//! turn (a block for every requester being served, after a token-bucket
//! burst already handed to the transport) would take more than half of
//! `stall_timeout_ms`: otherwise honest requesters would see this honest
//! but slow holder as stalled and strike it.
//!
//! Piece bytes come from a small cache (freshly verified pieces and recent
//! reads); a piece not in the cache is read back from storage with
//! `Output::ReadPiece`, and its requesters wait for `Input::PieceRead`.
//! Invariant: only verified pieces are queued, cached or sent.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use edgeswarm_protocol::wire::{self, Message, RejectReason, MAX_BLOCK_LEN};
use edgeswarm_protocol::PieceIndex;

use super::Swarm;
use crate::types::{Event, Millis, Output, PeerKey};

#[derive(Debug)]
pub(super) struct UploadState {
    /// Least recently used first.
    cache: Vec<(PieceIndex, Arc<[u8]>)>,
    reading: BTreeSet<PieceIndex>,
    last_served: Option<PeerKey>,
    tokens: f64,
    last_refill: Millis,
    /// When tokens run short: the time enough will have accrued.
    blocked_until: Option<Millis>,
}

/// Token bucket size: a quarter second of the rate, at least one block (so
/// that every block can eventually go) and no more at low rates (a large
/// burst sits in the transport and delays every requester).
fn burst_bytes(rate: u64) -> u64 {
    (MAX_BLOCK_LEN as u64).max(rate / 4)
}

impl UploadState {
    pub fn new(now: Millis) -> Self {
        Self {
            cache: Vec::new(),
            reading: BTreeSet::new(),
            last_served: None,
            tokens: 0.0,
            last_refill: now,
            blocked_until: None,
        }
    }

    pub fn cache_insert(&mut self, p: PieceIndex, bytes: Arc<[u8]>) {
        self.cache.retain(|(q, _)| *q != p);
        self.cache.push((p, bytes));
    }

    fn cache_get(&mut self, p: PieceIndex) -> Option<Arc<[u8]>> {
        let i = self.cache.iter().position(|(q, _)| *q == p)?;
        let entry = self.cache.remove(i);
        let bytes = entry.1.clone();
        self.cache.push(entry);
        Some(bytes)
    }
}

impl Swarm {
    fn refill_tokens(&mut self) {
        let rate = self.cfg.upload_rate;
        let u = &mut self.upload;
        if rate == 0 {
            return;
        }
        let elapsed = self.now.since(u.last_refill);
        u.last_refill = self.now;
        let burst = burst_bytes(rate) as f64;
        u.tokens = (u.tokens + rate as f64 * elapsed as f64 / 1000.0).min(burst);
    }

    /// Sends as many blocks as the rate cap allows, one per requester per turn.
    pub(super) fn pump_uploads(&mut self) {
        self.refill_tokens();
        self.upload.blocked_until = None;
        while let Some((k, piece, offset, bytes)) = self.next_upload() {
            let end = (offset as usize + MAX_BLOCK_LEN).min(bytes.len());
            let len = end - offset as usize;
            if !self.budget_allows(len) {
                self.refuse_queued_uploads();
                break;
            }
            if self.cfg.upload_rate > 0 && self.upload.tokens < len as f64 {
                let missing = len as f64 - self.upload.tokens;
                let wait = (missing * 1000.0 / self.cfg.upload_rate as f64).ceil() as u64;
                self.upload.blocked_until = Some(self.now.plus(wait.max(1)));
                break;
            }
            self.upload.tokens -= len as f64;
            self.spend_budget(len);
            self.upload.last_served = Some(k);
            self.stats.bytes_to_peers += len as u64;
            let frame = wire::encode_piece_data(piece.get(), offset, &bytes[offset as usize..end]);
            if let Some(peer) = self.peers.get_mut(&k) {
                if end == bytes.len() {
                    peer.uploads.pop_front();
                } else if let Some(head) = peer.uploads.front_mut() {
                    // `end` < piece length, which is a u32.
                    head.offset = end as u32;
                }
            }
            self.out.push_back(Output::SendToPeer {
                peer: k,
                bytes: frame,
            });
            if offset == 0 {
                let piece = piece.get();
                self.event(Event::PieceServed { piece, peer: k });
            }
        }
        self.trim_cache();
    }

    /// The next requester after the last one served whose head piece is in
    /// the cache; issues reads for heads that are not (walks the peers in
    /// round-robin order without collecting them: this runs once per block).
    fn next_upload(&mut self) -> Option<(PeerKey, PieceIndex, u32, Arc<[u8]>)> {
        let (first, second) = match self.upload.last_served {
            Some(a) => (
                self.peers.range((Bound::Excluded(a), Bound::Unbounded)),
                self.peers.range(..=a),
            ),
            None => (self.peers.range(..), self.peers.range(..PeerKey(0))),
        };
        let heads = first
            .chain(second)
            .filter_map(|(k, p)| p.uploads.front().map(|u| (*k, u.piece, u.offset)));
        for (k, piece, offset) in heads {
            if let Some(bytes) = self.upload.cache_get(piece) {
                return Some((k, piece, offset, bytes));
            }
            if self.upload.reading.insert(piece) {
                self.out.push_back(Output::ReadPiece { piece: piece.get() });
            }
        }
        None
    }

    /// Evicts least recently used pieces beyond the cap, except those being served.
    fn trim_cache(&mut self) {
        let cap = self.cfg.upload_cache_pieces;
        let mut i = 0;
        while self.upload.cache.len() > cap && i < self.upload.cache.len() {
            let p = self.upload.cache[i].0;
            let in_use = self
                .peers
                .values()
                .any(|peer| peer.uploads.front().is_some_and(|u| u.piece == p));
            if in_use {
                i += 1;
            } else {
                self.upload.cache.remove(i);
            }
        }
    }

    /// True when `k`, not served yet, would make one round-robin turn (plus
    /// a burst already handed to the transport) longer than half the stall
    /// timeout at the upload rate cap.
    pub(super) fn upload_round_too_long(&self, k: PeerKey) -> bool {
        let rate = self.cfg.upload_rate;
        if rate == 0 || self.peers.get(&k).is_some_and(|p| !p.uploads.is_empty()) {
            return false;
        }
        let block = MAX_BLOCK_LEN.min(self.meta.piece_size().get() as usize) as u64;
        let served = self
            .peers
            .values()
            .filter(|p| !p.uploads.is_empty())
            .count() as u64;
        let turn = (served + 1)
            .saturating_mul(block)
            .saturating_add(burst_bytes(rate));
        let turn_ms = turn.saturating_mul(1000) / rate;
        turn_ms > self.cfg.stall_timeout_ms / 2
    }

    pub(super) fn upload_deadline(&self) -> Option<Millis> {
        self.upload.blocked_until
    }

    /// The glue's answer to `ReadPiece` (its piece number is validated here).
    pub(super) fn on_piece_read(&mut self, raw: u32, bytes: Arc<[u8]>) {
        let Some(piece) = self.meta.piece(raw) else {
            return;
        };
        if !self.upload.reading.remove(&piece) {
            return;
        }
        if !self.pieces.is_verified(piece) || bytes.len() != self.meta.piece_len(piece) as usize {
            return self.read_failed(piece);
        }
        self.upload.cache_insert(piece, bytes);
    }

    /// The glue could not read a piece back (its number is validated here).
    pub(super) fn on_piece_read_failed(&mut self, raw: u32) {
        if let Some(piece) = self.meta.piece(raw) {
            self.read_failed(piece);
        }
    }

    fn read_failed(&mut self, piece: PieceIndex) {
        self.upload.reading.remove(&piece);
        let keys: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.uploads.front().is_some_and(|u| u.piece == piece))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            if let Some(peer) = self.peers.get_mut(&k) {
                peer.uploads.pop_front();
            }
            let reason = RejectReason::Busy;
            let piece = piece.get();
            self.send(k, &Message::Reject { piece, reason });
        }
    }
}
