//! The array's division of the CDN's work (issue 9 §3). Fetch leases
//! ([`lease`](super::lease)) keep a page's connected peers from fetching the
//! same piece, but in an array larger than a page may connect to, pages that
//! never meet still fetch the same pieces: 300 pages × 64 pieces took 6 CDN
//! copies with leases alone (docs/bench/engine.md "The array's share").
//!
//! The array tells each member its rank (0-based; a member that finishes
//! gives its rank to the last one) among the members still downloading, and
//! their number ([`Input::ArrayShare`], docs/array-protocol.md). Piece `p`
//! belongs to the rank that
//! jump consistent hashing (Lamping and Veach) maps `p` to among `members`
//! buckets: when the array grows by one member, only the pieces that move to
//! it change owner.
//!
//! States of the share:
//! - *unused*: no share yet, or the array has at most `max_peers` members
//!   (every member can be a peer, and leases divide the work);
//! - *settling*: the rank changed, or the count by a quarter, less than
//!   [`SETTLE_MS`] ago (a burst of joins re-divides the work several times;
//!   acting on each division fetches pieces twice);
//! - *settled*: the share is used, as follows:
//!   - the owner fetches, at once and with `http_concurrency` requests (no
//!     patience wait; runs held to the race's slow start, `swarm::race`),
//!     its missing pieces that no usable peer can serve or has leased —
//!     only those, whatever else is due;
//!   - the patience path takes only owned pieces (none while the share
//!     settles) until the page has been starving (nothing in flight from
//!     usable peers) for [`ORPHAN_WAIT_MS`] in all: then any piece, for the
//!     rest of the download, so owners that left, lie or never fetch cost
//!     at most that wait;
//!   - the race, the minimum-QoS guard, ignores the share in Internet and
//!     Group modes; in LAN mode (or with `race_follows_share` set to true)
//!     it too takes only owned pieces until the orphan wait (the members
//!     share one link to the CDN: `EngineConfig::race_follows_share`), and
//!     the time the race would run counts as starving, so peers that deliver,
//!     however slowly, hold it for at most that wait;
//!   - the minimum-QoS rule and pieces stuck with slow peers ignore it.
//!
//! Invariants: `owned` is exactly the pieces owned under the current share;
//! a share with `rank >= members` is ignored (the glue passes what the
//! array sent).
//!
//! [`Input::ArrayShare`]: crate::types::Input::ArrayShare

use edgeswarm_protocol::array::share_push_now;
use edgeswarm_protocol::PieceIndex;

use super::download::SlowPeers;
use super::peer::PieceSet;
use super::Swarm;
use crate::types::Millis;

/// A changed share is used once it has stayed the same this long.
pub const SETTLE_MS: u64 = 300;

/// A page that has starved this long takes pieces it does not own.
pub const ORPHAN_WAIT_MS: u64 = 4_000;

/// The member (rank below `members`) that owns piece `p`: jump consistent
/// hashing of a mix of `p`.
pub fn owner_of(p: u32, members: u32) -> u32 {
    // SplitMix64 of the piece index: neighbouring pieces get unrelated keys.
    let mut key = u64::from(p).wrapping_add(0x9e37_79b9_7f4a_7c15);
    key = (key ^ (key >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    key = (key ^ (key >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    key ^= key >> 31;
    let (mut bucket, mut next) = (0u64, 0u64);
    while next < u64::from(members) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // (bucket + 1) · 2^31 / ((key >> 33) + 1): below 2^63 for any u32 bucket.
        next = (bucket + 1).saturating_mul(1 << 31) / ((key >> 33) + 1);
    }
    // bucket < members, a u32.
    u32::try_from(bucket).unwrap_or(0)
}

/// This page's share and the state the rules above need.
#[derive(Debug)]
pub(super) struct ShareState {
    /// (rank, members, since when unchanged).
    current: Option<(u32, u32, Millis)>,
    pub owned: PieceSet,
    /// The same pieces, in index order.
    owned_list: Vec<PieceIndex>,
    /// Since when this page has been starving (while the share is used).
    starving_since: Option<Millis>,
    /// Starving time of the episodes that ended.
    starved_ms: u64,
}

impl ShareState {
    pub fn new(piece_count: u32) -> Self {
        Self {
            current: None,
            owned: PieceSet::new(piece_count),
            owned_list: Vec::new(),
            starving_since: None,
            starved_ms: 0,
        }
    }
}

impl Swarm {
    /// The array's latest share for this page, received at `now`.
    pub(super) fn on_share(&mut self, rank: u32, members: u32, now: Millis) {
        if rank >= members {
            return;
        }
        if self
            .share
            .current
            .is_some_and(|(r, m, _)| (r, m) == (rank, members))
        {
            return;
        }
        // The share settles again when the rank moved or the count moved by
        // a quarter (the array's own rule for pushing at once); a small
        // change of the count moves about 1/n of the pieces, and under
        // steady churn a reset on each one would never let it settle.
        let since = match self.share.current {
            Some((r, m, since)) if r == rank && !share_push_now(m as usize, members as usize) => {
                since
            }
            _ => now,
        };
        self.share.current = Some((rank, members, since));
        let count = self.pieces.len();
        self.share.owned_list = (0..count)
            .filter(|&i| owner_of(i, members) == rank)
            .filter_map(|i| self.meta.piece(i))
            .collect();
        self.share.owned = PieceSet::new(count);
        self.share
            .owned
            .extend(self.share.owned_list.iter().copied());
    }

    /// Whether the share divides the work (a large array).
    pub(super) fn share_used(&self) -> bool {
        self.share
            .current
            .is_some_and(|(_, members, _)| members as usize > self.cfg.max_peers)
    }

    /// Whether owners fetch their pieces at once (the share is used and
    /// settled).
    pub(super) fn share_settled(&self) -> bool {
        self.share_used()
            && self
                .share
                .current
                .is_some_and(|(_, _, since)| self.now.since(since) >= SETTLE_MS)
    }

    /// An owned piece is missing, and no usable peer (slow ones do not
    /// count) can serve it or has leased it.
    pub(super) fn owner_has_work(&self, slow: &SlowPeers) -> bool {
        let (peers, now) = (&self.peers, self.now);
        self.share.owned_list.iter().any(|&p| {
            self.pieces.is_missing(p) && !slow.served(peers, p, now) && !slow.leased(peers, p, now)
        })
    }

    /// Notes whether the page is starving now (only while the share is used).
    pub(super) fn note_starving(&mut self, starving: bool) {
        if !starving || !self.share_used() {
            if let Some(t) = self.share.starving_since.take() {
                self.share.starved_ms = self.share.starved_ms.saturating_add(self.now.since(t));
            }
        } else if self.share.starving_since.is_none() {
            self.share.starving_since = Some(self.now);
        }
    }

    /// Starving time so far, this episode included.
    fn starved(&self) -> u64 {
        let episode = self.share.starving_since.map_or(0, |t| self.now.since(t));
        self.share.starved_ms.saturating_add(episode)
    }

    /// The page has starved long enough, in all, to take pieces it does not
    /// own: from then on for the rest of the download.
    pub(super) fn orphans_due(&self) -> bool {
        self.starved() >= ORPHAN_WAIT_MS
    }

    /// When the share's state may change without an input: it settles, or
    /// the starving page may take orphans.
    pub(super) fn share_deadline(&self) -> Option<Millis> {
        if !self.share_used() {
            return None;
        }
        let settles = self
            .share
            .current
            .map(|(_, _, since)| since.plus(SETTLE_MS));
        let left = ORPHAN_WAIT_MS.saturating_sub(self.share.starved_ms);
        let orphans = self.share.starving_since.map(|t| t.plus(left));
        [settles, orphans]
            .into_iter()
            .flatten()
            .filter(|t| *t > self.now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::owner_of;

    #[test]
    fn every_piece_has_one_owner_and_owners_are_spread() {
        let n = 10;
        let mut per = vec![0u32; n as usize];
        for p in 0..10_000 {
            let o = owner_of(p, n);
            assert!(o < n);
            per[o as usize] += 1;
        }
        assert!(per.iter().all(|&c| (800..1200).contains(&c)), "{per:?}");
        assert_eq!(owner_of(7, 1), 0);
    }

    #[test]
    fn a_joining_member_only_takes_pieces() {
        for n in 1..200u32 {
            for p in 0..500 {
                let (before, after) = (owner_of(p, n), owner_of(p, n + 1));
                assert!(
                    after == before || after == n,
                    "piece {p}: {before} → {after} at {n}"
                );
            }
        }
    }
}
