//! Connection slots: whom to dial (candidates from the glue, `ConnectPeer`
//! hints while below `max_peers`), who may hold one of the `max_peers`
//! slots, and who must give one up.
//!
//! Rules:
//! - `dialed_peer_slots` (at most half of `max_peers`) are reserved for
//!   peers this client dialled: an inbound connection is refused once
//!   `max_peers - reserved` connected peers are inbound, so peers that
//!   connect to us (for instance after forging their reports to the array
//!   so that everyone learns of them first) cannot take every slot;
//! - a `Ready` peer that for `idle_peer_ms` has neither announced a piece
//!   we lack (and have not given up on), delivered accepted bytes, nor
//!   asked us for a piece, and has no request in either direction, is
//!   *useless*;
//! - under slot pressure, useless peers are disconnected — not banned —
//!   and remembered (the last [`EVICTED_MEMORY`]) so that they are not
//!   dialled again: all of them while every slot is taken or being dialled
//!   and candidates wait; the longest-idle one (inbound if the inbound
//!   slots are full) when an inbound peer finds no free slot. A peer that
//!   holds a slot without being useful is thus starved of influence.

use std::collections::VecDeque;

use super::peer::Phase;
use super::Swarm;
use crate::types::{Millis, Output, PeerKey};

/// How many evicted peers are remembered (oldest forgotten first).
pub const EVICTED_MEMORY: usize = 256;

/// Evicted peers, not to be dialled again (bounded).
#[derive(Debug, Default)]
pub(super) struct Evicted(VecDeque<PeerKey>);

impl Evicted {
    pub fn contains(&self, k: &PeerKey) -> bool {
        self.0.contains(k)
    }

    fn insert(&mut self, k: PeerKey) {
        if self.0.len() >= EVICTED_MEMORY {
            self.0.pop_front();
        }
        self.0.push_back(k);
    }
}

impl Swarm {
    /// Most inbound peers at once.
    fn inbound_cap(&self) -> usize {
        let max = self.cfg.max_peers;
        max - self.cfg.dialed_peer_slots.min(max / 2)
    }

    fn inbound_count(&self) -> usize {
        self.peers.values().filter(|p| !p.dialed).count()
    }

    /// True when a peer that connected to us (not dialled) may take a slot.
    pub(super) fn inbound_slot_free(&self) -> bool {
        self.peers.len() < self.cfg.max_peers && self.inbound_count() < self.inbound_cap()
    }

    /// Every slot is taken or being dialled while candidates wait.
    fn pressure(&self) -> bool {
        self.peers.len() + self.dialing.len() >= self.cfg.max_peers && !self.candidates.is_empty()
    }

    /// Time since `k` was last useful, if it is `Ready` with no request in
    /// either direction (whether it has a piece we want is checked by
    /// `refresh_wanted`, only once this time reaches `idle_peer_ms`).
    fn idle_for(&self, k: PeerKey) -> Option<u64> {
        let p = self.peers.get(&k)?;
        let busy = !p.downloads.is_empty() || !p.uploads.is_empty();
        (p.phase == Phase::Ready && !busy).then(|| self.now.since(p.last_useful))
    }

    /// Peers idle past `idle_peer_ms` that announced a piece we lack (and
    /// have not given up on) are useful after all: their clocks restart.
    /// The bitfield scan runs at most once per peer per `idle_peer_ms`.
    fn refresh_wanted(&mut self) {
        let idle = self.cfg.idle_peer_ms;
        let wanted: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(k, _)| self.idle_for(**k).is_some_and(|t| t >= idle))
            .filter(|(_, p)| {
                p.has
                    .ones()
                    .filter_map(|i| self.meta.piece(i))
                    .any(|i| !self.pieces.is_verified(i) && !p.given_up.contains(&i))
            })
            .map(|(k, _)| *k)
            .collect();
        let now = self.now;
        for k in wanted {
            if let Some(p) = self.peers.get_mut(&k) {
                p.last_useful = now;
            }
        }
    }

    /// Peers useless for at least `idle_peer_ms`, longest idle first
    /// (inbound ones only if `inbound_only`).
    fn idle_peers(&self, inbound_only: bool) -> Vec<PeerKey> {
        let idle = self.cfg.idle_peer_ms;
        let mut v: Vec<(u64, PeerKey)> = self
            .peers
            .iter()
            .filter(|(_, p)| !inbound_only || !p.dialed)
            .filter_map(|(k, _)| self.idle_for(*k).map(|t| (t, *k)))
            .filter(|(t, _)| *t >= idle)
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter().map(|(_, k)| k).collect()
    }

    fn evict(&mut self, k: PeerKey) {
        self.evicted.insert(k);
        self.drop_peer(k);
    }

    /// Disconnects useless peers while every slot is taken and candidates
    /// wait (see the module doc).
    pub(super) fn evict_idle(&mut self) {
        if !self.p2p {
            return;
        }
        if !self.pressure() {
            return;
        }
        self.refresh_wanted();
        for k in self.idle_peers(false) {
            self.evict(k);
        }
    }

    /// An inbound peer wants a slot: true when it may have one, after
    /// evicting the longest-idle useless peer if there is no room.
    pub(super) fn admit_inbound(&mut self) -> bool {
        if self.inbound_slot_free() {
            return true;
        }
        let inbound_full = self.inbound_count() >= self.inbound_cap();
        self.refresh_wanted();
        if let Some(k) = self.idle_peers(inbound_full).first().copied() {
            self.evict(k);
        }
        self.inbound_slot_free()
    }

    /// When a useless peer becomes evictable under slot pressure.
    pub(super) fn slots_deadline(&self) -> Option<Millis> {
        if !self.p2p || !self.pressure() {
            return None;
        }
        self.peers
            .keys()
            .filter_map(|k| self.idle_for(*k))
            .map(|t| self.now.plus(self.cfg.idle_peer_ms.saturating_sub(t)))
            .min()
    }

    pub(super) fn on_candidates(&mut self, list: Vec<PeerKey>) {
        if !self.p2p {
            return;
        }
        self.http.discovery_until = None;
        for k in list {
            let known = self.peers.contains_key(&k)
                || self.dialing.contains_key(&k)
                || self.candidates.contains(&k);
            if !known && !self.banned.contains(&k) && !self.evicted.contains(&k) {
                self.candidates.push_back(k);
            }
        }
    }

    /// Emits `ConnectPeer` hints while below `max_peers`.
    pub(super) fn dial(&mut self) {
        // A dial the glue never answered stops counting after the timeout.
        let (now, timeout) = (self.now, self.cfg.connect_timeout_ms);
        self.dialing.retain(|_, since| now.since(*since) < timeout);
        while self.p2p && self.peers.len() + self.dialing.len() < self.cfg.max_peers {
            let Some(k) = self.candidates.pop_front() else {
                break;
            };
            if self.peers.contains_key(&k) || self.banned.contains(&k) || self.evicted.contains(&k)
            {
                continue;
            }
            self.dialing.insert(k, self.now);
            self.out.push_back(Output::ConnectPeer { peer: k });
        }
    }
}
