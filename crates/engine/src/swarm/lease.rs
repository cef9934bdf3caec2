//! CDN leases ([`Message::Fetching`]): peers tell each other which pieces
//! they are fetching from the CDN, so that the swarm keeps the CDN busy with
//! distinct pieces.
//!
//! Sender side (this engine's CDN requests, `swarm::http`):
//! - every CDN request starts with `Fetching { piece, lease_ms }` to every
//!   connected peer (`lease_ms` from the measured CDN answer time, at most
//!   [`MAX_LEASE_MS`]: `swarm::http`); a peer that connects later gets the
//!   leases still running, with the time they have left, between our
//!   handshake and our bitfield (the one place besides `Ready` where
//!   `Fetching` is allowed), so it knows them before it may pick a piece
//!   for the CDN;
//! - the lease ends with our `Have` (sent to every peer when the piece
//!   verifies, from whatever source); a request that fails, times out or is
//!   still running [`RELEASE_MARGIN_MS`] before its lease ends sends
//!   `lease_ms` 0 (release), so the receivers never see it lapse.
//!
//! Receiver side ([`Leases`], one per peer), remote input and bounded:
//! - at most [`MAX_LEASES_PER_PEER`] live leases per peer and one lease per
//!   (peer, piece) for the whole connection (a piece claimed again is
//!   ignored, so nobody can hold a piece by claiming and releasing it);
//!   `lease_ms` is cut to [`MAX_LEASE_MS`]; claims for pieces the peer
//!   announced or we hold are ignored;
//! - a lease ends with the peer's `Have` (kept), a release (a *miss*) or its
//!   end; one still live [`LAPSE_GRACE_MS`] after its end has *lapsed* (the
//!   sender releases before the end, so only a liar or a lost peer lapses);
//!   a lapse, or [`MAX_RELEASES`] misses, make the peer
//!   untrusted: its leases are dropped and it is never honoured again on
//!   this connection. A liar that claims every piece therefore holds at most
//!   [`MAX_LEASES_PER_PEER`] pieces back from our CDN requests, for at most
//!   one lease period;
//! - leases go with the peer (`PeerGone`, ban, drop).
//!
//! A lease only keeps *our CDN requests* off a piece; peer requests and the
//! verification of every byte are unchanged.

use std::collections::{BTreeMap, HashSet};

use edgeswarm_protocol::wire::{Message, MAX_LEASES_PER_PEER, MAX_LEASE_MS};
use edgeswarm_protocol::PieceIndex;

use super::Swarm;
use crate::types::{Millis, PeerKey};

/// A sender releases a lease whose request is still running this long
/// before the lease ends.
pub const RELEASE_MARGIN_MS: u64 = 500;
/// Releases (leases ended without a `Have`) after which a peer's leases are
/// no longer honoured.
pub const MAX_RELEASES: u32 = 4;
/// A lease still live this long after its end has lapsed (its release may
/// be on the way: messages are not instant).
pub const LAPSE_GRACE_MS: u64 = 1_000;

/// The CDN leases one peer holds with us (receiver side).
#[derive(Debug, Default)]
pub struct Leases {
    /// Live leases: piece → end (kept until `LAPSE_GRACE_MS` after it).
    live: BTreeMap<PieceIndex, Millis>,
    /// Every piece this peer ever claimed (at most the piece count).
    claimed: HashSet<PieceIndex>,
    releases: u32,
    /// A lease lapsed or it released too often: ignored from now on.
    pub untrusted: bool,
}

impl Leases {
    /// A claim of `p` for `lease_ms` (0 = release) at `now`.
    pub fn claim(&mut self, p: PieceIndex, lease_ms: u32, now: Millis) {
        if lease_ms == 0 {
            if self.live.remove(&p).is_some() {
                self.releases += 1;
                if self.releases >= MAX_RELEASES {
                    self.distrust();
                }
            }
            return;
        }
        if self.untrusted || self.live.len() >= MAX_LEASES_PER_PEER || !self.claimed.insert(p) {
            return;
        }
        let ms = u64::from(lease_ms.min(MAX_LEASE_MS));
        self.live.insert(p, now.plus(ms));
    }

    /// The peer announced `p`: its lease on it was kept.
    pub fn kept(&mut self, p: PieceIndex) {
        self.live.remove(&p);
    }

    /// A lease `LAPSE_GRACE_MS` past its end has lapsed: the peer is
    /// untrusted from now on.
    pub fn expire(&mut self, now: Millis) {
        if self
            .live
            .values()
            .any(|end| end.plus(LAPSE_GRACE_MS) <= now)
        {
            self.distrust();
        }
    }

    fn distrust(&mut self) {
        self.untrusted = true;
        self.live.clear();
    }

    pub fn covers(&self, p: PieceIndex, now: Millis) -> bool {
        self.live.get(&p).is_some_and(|end| *end > now)
    }

    /// The next time a lease ends or lapses.
    pub fn next_change(&self, now: Millis) -> Option<Millis> {
        self.live
            .values()
            .flat_map(|end| [*end, end.plus(LAPSE_GRACE_MS)])
            .filter(|t| *t > now)
            .min()
    }

    #[cfg(test)]
    pub fn live(&self) -> usize {
        self.live.len()
    }
}

impl Swarm {
    /// A `Fetching` from `k` (`AwaitBitfield` or `Ready`; `p` validated).
    pub(super) fn on_fetching(&mut self, k: PeerKey, p: PieceIndex, lease_ms: u32) {
        let have = self.pieces.is_verified(p);
        let now = self.now;
        if let Some(peer) = self.peers.get_mut(&k) {
            if lease_ms == 0 || !(have || peer.has.get(p.get())) {
                peer.leases.claim(p, lease_ms, now);
            }
        }
    }

    pub(super) fn expire_leases(&mut self) {
        let now = self.now;
        for peer in self.peers.values_mut() {
            peer.leases.expire(now);
        }
    }

    /// Tells every connected peer that we fetch `p` for `lease_ms` (0 =
    /// release). Our handshake went first (`on_connected`), so the peer
    /// reads it in `AwaitBitfield` or `Ready`, both allowed.
    pub(super) fn announce_lease(&mut self, p: PieceIndex, lease_ms: u32) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        let msg = Message::Fetching {
            piece: p.get(),
            lease_ms,
        };
        for k in keys {
            self.send(k, &msg);
        }
    }

    /// Our leases still running, for a peer that just connected (after our
    /// handshake, before our bitfield).
    pub(super) fn send_leases_to(&mut self, k: PeerKey) {
        let now = self.now;
        for (p, end) in self.http.leases() {
            let left = end.since(now);
            if left > 0 {
                let lease_ms = u32::try_from(left).unwrap_or(MAX_LEASE_MS);
                let msg = Message::Fetching {
                    piece: p.get(),
                    lease_ms,
                };
                self.send(k, &msg);
            }
        }
    }

    /// When the next received lease ends.
    pub(super) fn lease_deadline(&self) -> Option<Millis> {
        let now = self.now;
        self.peers
            .values()
            .filter_map(|p| p.leases.next_change(now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeswarm_protocol::{ContentId, Metadata, PieceSize};

    fn p(i: u32) -> PieceIndex {
        let id = ContentId::new("t").unwrap();
        let size = PieceSize::new(16384).unwrap();
        let m = Metadata::new(id, size, 100 * 16384, [0; 32], vec![[0; 32]; 100]).unwrap();
        m.piece(i).unwrap()
    }

    #[test]
    fn leases_are_bounded_and_a_lapse_ends_trust() {
        let mut l = Leases::default();
        for i in 0..20 {
            l.claim(p(i), u32::MAX, Millis(0));
        }
        assert_eq!(l.live(), MAX_LEASES_PER_PEER, "capped per peer");
        assert!(l.covers(p(0), Millis(u64::from(MAX_LEASE_MS) - 1)));
        assert!(!l.covers(p(0), Millis(u64::from(MAX_LEASE_MS))), "cut");
        l.kept(p(0));
        l.claim(p(0), 1000, Millis(0));
        assert!(!l.covers(p(0), Millis(1)), "one lease per piece");
        l.expire(Millis(u64::from(MAX_LEASE_MS)));
        assert!(!l.untrusted, "a release may still be on the way");
        l.expire(Millis(u64::from(MAX_LEASE_MS) + LAPSE_GRACE_MS));
        assert!(l.untrusted);
        l.claim(p(30), 1000, Millis(20_000));
        assert!(!l.covers(p(30), Millis(20_001)), "untrusted");
    }

    #[test]
    fn releases_count_until_trust_ends() {
        let mut l = Leases::default();
        for i in 0..MAX_RELEASES {
            l.claim(p(i), 1000, Millis(0));
            assert!(!l.untrusted);
            l.claim(p(i), 0, Millis(1));
        }
        assert!(l.untrusted);
        l.claim(p(99), 0, Millis(2));
    }
}
