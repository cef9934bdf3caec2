//! Fetch leases: the pieces a peer said it is fetching from the CDN
//! (`Message::Fetching`), which this client then leaves to it instead of
//! asking the CDN for them as well (issue 9 §3: no two pages of a swarm
//! fetch the same piece from the CDN).
//!
//! A lease for piece `p` lives from its `Fetching` until the peer's `Have`
//! for `p` (fulfilled), the peer's disconnection, or its hold time later
//! (expired), whichever comes first. The hold is what this client's own
//! CDN takes for [`HOLD_PIECES`] pieces at its measured rate, within
//! [`MIN_HOLD_MS`]..=[`FETCH_LEASE_MS`] ([`FETCH_LEASE_MS`] before the rate
//! is known): long enough for an honest peer's request on the same link,
//! short for a liar's. An expired lease only frees its piece.
//!
//! Invariants (the defences against peers that lie with leases,
//! docs/security.md):
//! - **each piece is leased at most once per download**, whichever peer,
//!   connection or key offers it (`Swarm::leased_once`): however many
//!   peers lie, reconnect or take turns, a piece is held back from this
//!   client's CDN requests for at most one hold;
//! - at most [`MAX_FETCH_LEASES`] live leases per peer; further offers are
//!   ignored;
//! - no lease for a piece this client has verified, or that the peer
//!   announced;
//! - peers that are slow (the drip defence) or snubbed can take no lease,
//!   and their leases taken before do not count; the minimum-QoS rule
//!   ignores all leases (`swarm::http`).
//!
//! A liar's `Have` ends its lease early and makes it a holder of the piece:
//! asking it then falls to the stall and drip defences, as for any peer
//! announcing what it does not serve.

use edgeswarm_protocol::wire::{Message, FETCH_LEASE_MS, MAX_FETCH_LEASES};
use edgeswarm_protocol::PieceIndex;

use super::peer::Phase;
use super::Swarm;
use crate::types::{Millis, PeerKey};

/// A lease holds for what this client's CDN takes for this many pieces.
pub const HOLD_PIECES: u64 = 4;
/// Shortest hold.
pub const MIN_HOLD_MS: u64 = 500;

/// One peer's live leases at this client: piece and expiry.
#[derive(Debug, Default)]
pub struct Leases {
    live: Vec<(PieceIndex, Millis)>,
}

impl Leases {
    /// Takes a lease on `p` until `until`; false when the peer already holds
    /// [`MAX_FETCH_LEASES`].
    pub fn take(&mut self, p: PieceIndex, until: Millis) -> bool {
        if self.live.len() >= MAX_FETCH_LEASES {
            return false;
        }
        self.live.push((p, until));
        true
    }

    /// The peer announced `p`: its lease, if any, is fulfilled.
    pub fn fulfil(&mut self, p: PieceIndex) {
        self.live.retain(|(q, _)| *q != p);
    }

    /// Ends the leases due at `now`.
    pub fn expire(&mut self, now: Millis) {
        self.live.retain(|(_, until)| *until > now);
    }

    /// Whether a live lease covers `p`.
    pub fn covers(&self, p: PieceIndex) -> bool {
        self.live.iter().any(|(q, _)| *q == p)
    }

    /// When the next live lease expires.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.live.iter().map(|(_, t)| *t).min()
    }
}

impl Swarm {
    /// How long a lease offered now holds (see the module doc).
    fn lease_hold_ms(&self) -> u64 {
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

    /// Peer `k` says it is fetching `p` from the CDN (see the invariants).
    /// A peer whose leases would not count (snubbed, slow) cannot use up a
    /// piece's one lease either.
    pub(super) fn on_fetching(&mut self, k: PeerKey, p: PieceIndex) {
        if self.pieces.is_verified(p) || self.leased_once.contains(&p) {
            return;
        }
        let (until, floor, grace) = (
            self.now.plus(self.lease_hold_ms()),
            self.cfg.min_request_bps,
            self.slow_grace(),
        );
        let Some(peer) = self.peers.get_mut(&k) else {
            return;
        };
        let counts = peer.usable(self.now) && !peer.slow(floor, grace);
        if counts && !peer.has.get(p.get()) && peer.leases.take(p, until) {
            self.leased_once.insert(p);
        }
    }

    /// Ends the leases due now.
    pub(super) fn expire_leases(&mut self) {
        let now = self.now;
        for peer in self.peers.values_mut() {
            peer.leases.expire(now);
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
        let mut l = Leases::default();
        assert!(l.take(p(3), Millis(100)));
        assert!(l.covers(p(3)));
        l.fulfil(p(3));
        assert!(!l.covers(p(3)));
        assert!(l.take(p(4), Millis(100)));
        l.expire(Millis(99));
        assert!(l.covers(p(4)));
        assert_eq!(l.next_expiry(), Some(Millis(100)));
        l.expire(Millis(100));
        assert!(!l.covers(p(4)));
        assert_eq!(l.next_expiry(), None);
    }

    #[test]
    fn live_leases_are_capped() {
        let mut l = Leases::default();
        let taken = (0..64).filter(|&i| l.take(p(i), Millis(9))).count();
        assert_eq!(taken, MAX_FETCH_LEASES);
        l.fulfil(p(0));
        assert!(l.take(p(63), Millis(9)), "room again after a Have");
    }
}
