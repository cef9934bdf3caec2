//! Fetch leases: the pieces one peer said it is fetching from the CDN
//! (`Message::Fetching`), which this client then leaves to it instead of
//! asking the CDN for them as well (issue 9 §3: no two pages of a swarm
//! fetch the same piece from the CDN).
//!
//! A lease for piece `p` lives from its `Fetching` until the peer's `Have`
//! for `p` (fulfilled) or its hold time later (expired), whichever comes
//! first. The hold is what this client's own CDN takes for
//! [`HOLD_PIECES`] pieces at its measured rate, within
//! [`MIN_HOLD_MS`]..=[`FETCH_LEASE_MS`] ([`FETCH_LEASE_MS`] before the rate
//! is known): long enough for an honest peer's request on the same link,
//! short for a liar's.
//!
//! Invariants (the defences against a peer that lies with leases,
//! docs/security.md):
//! - at most [`MAX_FETCH_LEASES`] live leases per peer; further offers are
//!   ignored;
//! - a peer leases each piece at most once per connection (a repeated offer
//!   is ignored), so one peer holds a piece back for at most one hold
//!   ([`FETCH_LEASE_MS`] at most);
//! - a lease that expires while the peer still lacks the piece makes the
//!   peer *broken*: none of its leases is honoured again on this
//!   connection;
//! - leases hold back the CDN's patience path and the race, never the
//!   minimum-QoS rule (`swarm::http`); with the cap and the short hold a
//!   liar delays at most 4 pieces by one hold, once per connection.

use edgeswarm_protocol::wire::{Bitfield, FETCH_LEASE_MS, MAX_FETCH_LEASES};
use edgeswarm_protocol::PieceIndex;

use edgeswarm_protocol::wire::Message;

use super::peer::{Phase, PieceSet};
use super::Swarm;
use crate::types::{Millis, PeerKey};

/// A lease holds for what this client's CDN takes for this many pieces.
pub const HOLD_PIECES: u64 = 4;
/// Shortest hold.
pub const MIN_HOLD_MS: u64 = 500;

/// One peer's leases at this client.
#[derive(Debug)]
pub struct Leases {
    /// Live leases: piece and expiry.
    live: Vec<(PieceIndex, Millis)>,
    /// Pieces this peer has leased on this connection (live or not).
    offered: PieceSet,
    broken: bool,
}

impl Leases {
    pub fn new(piece_count: u32) -> Self {
        Self {
            live: Vec::new(),
            offered: PieceSet::new(piece_count),
            broken: false,
        }
    }

    /// The peer says at `now` it is fetching `p`, held for `hold_ms`; false
    /// when the offer is ignored (broken peer, piece leased before, or too
    /// many live leases).
    pub fn offer(&mut self, p: PieceIndex, now: Millis, hold_ms: u64) -> bool {
        if self.broken || self.offered.contains(&p) || self.live.len() >= MAX_FETCH_LEASES {
            return false;
        }
        self.offered.insert(p);
        self.live.push((p, now.plus(hold_ms.min(FETCH_LEASE_MS))));
        true
    }

    /// The peer announced `p`: its lease, if any, is fulfilled.
    pub fn fulfil(&mut self, p: PieceIndex) {
        self.live.retain(|(q, _)| *q != p);
    }

    /// Ends the leases due at `now`; one whose piece the peer still lacks
    /// (`has`) breaks the peer.
    pub fn expire(&mut self, now: Millis, has: &Bitfield) {
        let mut broken = false;
        self.live.retain(|(p, until)| {
            let due = *until <= now;
            broken |= due && !has.get(p.get());
            !due
        });
        if broken {
            self.broken = true;
            self.live.clear();
        }
    }

    /// Whether a live, honoured lease covers `p`.
    pub fn covers(&self, p: PieceIndex) -> bool {
        !self.broken && self.live.iter().any(|(q, _)| *q == p)
    }

    /// When the next live lease expires.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.live.iter().map(|(_, t)| *t).min()
    }

    #[cfg(test)]
    pub fn broken(&self) -> bool {
        self.broken
    }
}

impl Swarm {
    /// How long a lease offered now holds (see the module doc).
    pub(super) fn lease_hold_ms(&self) -> u64 {
        let piece = u128::from(self.meta.piece_size().get());
        match self.race.cdn_rate() {
            Some(bps) if bps > 0 => {
                let ms = piece * u128::from(HOLD_PIECES) * 1000 / u128::from(bps);
                u64::try_from(ms)
                    .unwrap_or(u64::MAX)
                    .clamp(MIN_HOLD_MS, FETCH_LEASE_MS)
            }
            _ => FETCH_LEASE_MS,
        }
    }

    /// Ends the leases due now (see [`Leases::expire`]).
    pub(super) fn expire_leases(&mut self) {
        let now = self.now;
        for peer in self.peers.values_mut() {
            if peer.leases.next_expiry().is_some_and(|t| t <= now) {
                peer.leases.expire(now, &peer.has);
            }
        }
    }

    /// When the next lease ends.
    pub(super) fn lease_deadline(&self) -> Option<Millis> {
        self.peers
            .values()
            .filter_map(|p| p.leases.next_expiry())
            .min()
    }

    /// Tells every ready peer that lacks a piece of `run` that this client
    /// is fetching it from the CDN.
    pub(super) fn announce_fetching(&mut self, run: &[PieceIndex]) {
        let mut sends: Vec<(PeerKey, u32)> = Vec::new();
        for (k, peer) in &self.peers {
            if peer.phase != Phase::Ready {
                continue;
            }
            for p in run.iter().filter(|p| !peer.has.get(p.get())) {
                sends.push((*k, p.get()));
            }
        }
        for (k, piece) in sends {
            self.send(k, &Message::Fetching { piece });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u32) -> PieceIndex {
        let id = edgeswarm_protocol::ContentId::new("x").unwrap();
        let size = edgeswarm_protocol::PieceSize::new(16384).unwrap();
        let meta =
            edgeswarm_protocol::Metadata::new(id, size, 64 * 16384, [0; 32], vec![[0; 32]; 64])
                .unwrap();
        meta.piece(i).unwrap()
    }

    #[test]
    fn a_lease_lives_until_the_have_or_its_expiry() {
        let mut l = Leases::new(64);
        let mut has = Bitfield::new(64);
        assert!(l.offer(p(3), Millis(0), FETCH_LEASE_MS));
        assert!(l.covers(p(3)));
        l.fulfil(p(3));
        assert!(!l.covers(p(3)));
        assert!(l.offer(p(4), Millis(0), FETCH_LEASE_MS));
        l.expire(Millis(FETCH_LEASE_MS - 1), &has);
        assert!(l.covers(p(4)));
        has.set(4);
        l.expire(Millis(FETCH_LEASE_MS), &has);
        assert!(!l.covers(p(4)));
        assert!(!l.broken(), "the piece arrived: the lease was kept");
    }

    #[test]
    fn a_piece_is_leased_once_and_a_broken_lease_ends_them_all() {
        let mut l = Leases::new(64);
        let has = Bitfield::new(64);
        assert!(l.offer(p(1), Millis(0), FETCH_LEASE_MS));
        assert!(!l.offer(p(1), Millis(5), FETCH_LEASE_MS), "no renewal");
        assert!(l.offer(p(2), Millis(1_000), FETCH_LEASE_MS));
        l.expire(Millis(FETCH_LEASE_MS), &has);
        assert!(l.broken());
        assert!(!l.covers(p(2)));
        assert!(!l.offer(p(9), Millis(FETCH_LEASE_MS), FETCH_LEASE_MS));
    }

    #[test]
    fn live_leases_are_capped() {
        let mut l = Leases::new(64);
        let taken = (0..64)
            .filter(|&i| l.offer(p(i), Millis(0), FETCH_LEASE_MS))
            .count();
        assert_eq!(taken, MAX_FETCH_LEASES);
        l.fulfil(p(0));
        assert!(l.offer(p(63), Millis(0), 100), "room again after a Have");
    }
}
