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
//! - drip defence (libtorrent's snubbing and parole; `min_request_bps`,
//!   0 = off): a peer's accepted piece bytes are measured per request-second
//!   (`peer::DeliveryWindow`) over windows of `slow_window_ms` that open
//!   with a request. A peer below the floor (after a quarter of a window's
//!   length in request time, or on parole after a slow window until
//!   measured again) is *slow*. A peer below the floor gets no new requests
//!   until its window closes; a piece whose only attempt
//!   is with slow peers may also be asked of the CDN or of another peer
//!   that is not slow and has delivered a whole piece before, and a
//!   slow peer's requests do not hold the CDN back. A window that closes
//!   below the floor cancels all its requests (reassigned, never asked of
//!   it again), snubs it for `snub_ms` and puts it on parole; the second
//!   and every further consecutive slow window is also a strike, so a
//!   trickling peer is banned at `strike_limit` + 1 windows. A byte now
//!   and then keeps no request alive;
//! - endgame: once no piece is unassigned and at most `endgame_pieces` are in
//!   flight, an idle peer may also be asked for a piece already in flight
//!   elsewhere (a second, separately verified attempt); the first verified copy
//!   wins and the other request is cancelled. This also routes around slow holders.

use std::collections::BTreeMap;

use edgeswarm_protocol::wire::{Message, MAX_OUTSTANDING_REQUESTS};
use edgeswarm_protocol::PieceIndex;
use rand_core::Rng;

use super::peer::{Peer, Phase};
use super::Swarm;
use crate::types::{BanReason, Event, Millis, PeerKey, Source};

/// The peers too slow to count on, in key order (usually none: then
/// nothing is allocated).
pub(super) struct SlowPeers(Vec<PeerKey>);

impl SlowPeers {
    pub fn contains(&self, k: &PeerKey) -> bool {
        self.0.binary_search(k).is_ok()
    }

    /// A usable peer that is not slow can serve `p`.
    pub fn served(&self, peers: &BTreeMap<PeerKey, Peer>, p: PieceIndex, now: Millis) -> bool {
        peers
            .iter()
            .any(|(k, peer)| peer.can_serve(p, now) && !self.contains(k))
    }

    /// A usable peer that is not slow holds a live lease on `p` (`lease`).
    pub fn leased(&self, peers: &BTreeMap<PeerKey, Peer>, p: PieceIndex, now: Millis) -> bool {
        peers
            .iter()
            .any(|(k, peer)| peer.leases.covers(p) && peer.usable(now) && !self.contains(k))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Swarm {
    pub(super) fn check_stalls(&mut self) {
        let now = self.now;
        if !self.stall_check_due() {
            return;
        }
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
            if self.take_requests_back(k) {
                self.strike(k, BanReason::Unresponsive);
            }
        }
        self.cancel_slow_pieces();
        self.close_slow_windows();
    }

    /// True when some peer is due for one of `check_stalls`' actions: a
    /// handshake timeout, a stall, a slow request or a closing window. None
    /// of those actions makes another one due, so when this is false
    /// `check_stalls` would change nothing (one pass over the peers instead
    /// of four on every input).
    fn stall_check_due(&self) -> bool {
        let now = self.now;
        let cfg = &self.cfg;
        self.peers.values().any(|p| {
            // A request is slow iff the oldest one is.
            let oldest = p.oldest_request();
            (p.phase != Phase::Ready && now.since(p.connected_at) >= cfg.connect_timeout_ms)
                || oldest.is_some_and(|o| {
                    now.since(o) >= cfg.slow_piece_timeout_ms
                        || now.since(p.silent_since_given(o)) >= cfg.stall_timeout_ms
                })
                || p.window
                    .start
                    .is_some_and(|t| now.since(t) >= cfg.slow_window_ms.max(1))
        })
    }

    /// Cancels every request to `k` (they go elsewhere; we never ask `k`
    /// for those pieces again) and snubs it; false if `k` is not connected.
    fn take_requests_back(&mut self, k: PeerKey) -> bool {
        let until = self.now.plus(self.cfg.snub_ms);
        let Some(peer) = self.peers.get_mut(&k) else {
            return false;
        };
        self.all_dirty = true;
        let pieces: Vec<PieceIndex> = peer.downloads.keys().copied().collect();
        peer.downloads.clear();
        peer.snubbed_until = until;
        peer.given_up.extend(pieces.iter().copied());
        for p in pieces {
            self.pieces.end_attempt(p, Source::Peer(k));
            self.send(k, &Message::Cancel { piece: p.get() });
        }
        true
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

    /// Drip defence: adds the request time since the last input to every
    /// delivery window (called before an input changes any request).
    pub(super) fn account_windows(&mut self) {
        let now = self.now;
        for p in self.peers.values_mut() {
            let n = p.downloads.len();
            p.window.account(now, n);
        }
    }

    /// Request time after which a window below the floor shows a slow peer
    /// (a quarter of the window's length: with two requests outstanding, an
    /// eighth of it in wall time).
    pub(super) fn slow_grace(&self) -> u64 {
        self.cfg.slow_window_ms / 4
    }

    /// Drip defence: closes every delivery window that is `slow_window_ms`
    /// old (see the module doc).
    fn close_slow_windows(&mut self) {
        let (now, floor, window) = (self.now, self.cfg.min_request_bps, self.cfg.slow_window_ms);
        let closing: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.window
                    .start
                    .is_some_and(|t| now.since(t) >= window.max(1))
            })
            .map(|(k, _)| *k)
            .collect();
        for k in closing {
            let Some(peer) = self.peers.get_mut(&k) else {
                continue;
            };
            if !peer.window.close(floor) {
                if !peer.downloads.is_empty() {
                    peer.window.open(now);
                }
                continue;
            }
            let parole = peer.window.slow_closes == 1;
            self.take_requests_back(k);
            if !parole {
                self.strike(k, BanReason::TooSlow);
            }
        }
    }

    /// Peers too slow to count on right now (see the module doc).
    pub(super) fn slow_peers(&self) -> SlowPeers {
        let (floor, grace) = (self.cfg.min_request_bps, self.slow_grace());
        SlowPeers(
            self.peers
                .iter()
                .filter(|(_, p)| p.slow(floor, grace))
                .map(|(k, _)| *k)
                .collect(),
        )
    }

    pub(super) fn schedule_peers(&mut self) {
        if !self.p2p || self.done || self.peers.is_empty() {
            self.dirty.clear();
            return;
        }
        if self.background.hold || self.store.holds() {
            return;
        }
        let now = self.now;
        let all = std::mem::take(&mut self.all_dirty);
        let dirty = std::mem::take(&mut self.dirty);
        let mut keys: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(k, p)| p.usable(now) && (all || dirty.contains(k)))
            // A peer below the floor gets no new requests this window.
            .filter(|(_, p)| {
                !p.window
                    .lagging(self.cfg.min_request_bps, self.slow_grace())
            })
            .map(|(k, _)| *k)
            .collect();
        if keys.is_empty() {
            return;
        }
        // Rotate so no peer is always served first.
        let start = (self.rng.next_u64() % keys.len() as u64) as usize;
        keys.rotate_left(start);
        let max = self.cfg.max_requests_per_peer.min(MAX_OUTSTANDING_REQUESTS);
        let slow = self.slow_peers();
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
                // A piece held only by slow peers is open to this one too,
                // if it is not slow itself and has delivered a piece before
                // (a newcomer that stalls must not take the second attempt).
                let proven = !slow.contains(&k) && peer.pieces_delivered > 0;
                let reclaim = |sources: &[Source]| {
                    proven
                        && sources.iter().all(|s| match s {
                            Source::Peer(o) => *o != k && slow.contains(o),
                            Source::Http => false,
                        })
                };
                // Without a slow peer to reclaim from, only missing pieces
                // are open: the bitwise picker gives the same choice.
                let mut pick = if (slow.is_empty() || !proven) && peer.usable(now) {
                    let (has, excluded) = (peer.has.as_bytes(), peer.given_up.as_bytes());
                    self.pieces
                        .pick_rarest_of(&self.meta, &mut self.rng, has, excluded)
                } else {
                    self.pieces.pick_rarest_reclaiming(
                        &self.meta,
                        &mut self.rng,
                        |p| peer.can_serve(p, now),
                        reclaim,
                    )
                };
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
        peer.window.open(now);
        // The buffer grows with the bytes received (`PieceBuf`): a deep
        // pipeline of large pieces reserves no memory up front.
        peer.downloads.insert(p, now);
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
                let oldest = p.oldest_request();
                let stall = oldest
                    .map(|o| p.silent_since_given(o))
                    .map(|t| t.plus(self.cfg.stall_timeout_ms));
                let snub = (p.snubbed_until > now).then_some(p.snubbed_until);
                let slow = oldest.map(|t| t.plus(self.cfg.slow_piece_timeout_ms));
                let handshake = (p.phase != Phase::Ready)
                    .then(|| p.connected_at.plus(self.cfg.connect_timeout_ms));
                // When the drip window's grace ends (slowness shows) and its close.
                let w = &p.window;
                let n = p.downloads.len() as u64;
                let left = self.slow_grace().saturating_sub(w.request_ms);
                let lag = (n > 0 && left > 0).then(|| w.mark.plus(left.div_ceil(n)));
                let close = w.start.map(|t| t.plus(self.cfg.slow_window_ms.max(1)));
                [stall, snub, slow, handshake, lag, close]
            })
            .chain([self.slots_deadline()])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }
}
