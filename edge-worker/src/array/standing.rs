//! Report plausibility, standing and shared bans: how much the array
//! believes what peers say about themselves and each other.
//!
//! - Plausibility ([`plausible`]): a report's rates are clamped to
//!   [`MAX_PLAUSIBLE_BPS`] and to the report's own counters (a peer that
//!   uploaded 5 bytes in all cannot upload faster than 5 B/s).
//! - Standing: a peer named in another peer's `verifiedFrom` (an
//!   [`Attestation`]) has served SHA-256-verified bytes as far as the array
//!   can tell. Selection ranks every peer with standing ahead of every peer
//!   without, and uses self-reports only among peers of equal standing.
//! - Shared bans: a peer named in `banned` by at least [`BAN_QUORUM`]
//!   distinct peers *with standing*, and by more of them than vouchers with
//!   standing, is dropped from peer lists (its socket stays; it is only no
//!   longer offered). Accusations by peers without standing count for
//!   nothing, so fresh attacker sockets cannot drop an honest peer.
//!
//! Invariants: a peer never vouches for or accuses itself; a peer that both
//! vouches for and accuses another only accuses it; each list holds at most
//! [`MAX_ATTESTED_PEERS`] distinct ids; only peers in the roster count.

use std::collections::{BTreeMap, BTreeSet};

use edgeswarm_protocol::array::{
    Attestation, PeerId, Report, BAN_QUORUM, MAX_ATTESTED_PEERS, MAX_PLAUSIBLE_BPS,
};

/// The counters of `r` that the array keeps, rates made plausible.
pub fn plausible(r: &Report) -> Report {
    let fetched = r.downloaded.saturating_add(r.downloaded_cdn);
    Report {
        is_background: r.is_background,
        uploaded: r.uploaded,
        downloaded: r.downloaded,
        downloaded_cdn: r.downloaded_cdn,
        left: r.left,
        peers_wanted: r.peers_wanted,
        scope: r.scope,
        uploaded_bps: r.uploaded_bps.min(r.uploaded).min(MAX_PLAUSIBLE_BPS),
        download_bps: r.download_bps.min(fetched).min(MAX_PLAUSIBLE_BPS),
        ..Report::default()
    }
}

/// One peer's current attestation, normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    vouches: BTreeSet<PeerId>,
    accuses: BTreeSet<PeerId>,
}

impl Claims {
    /// `a` from peer `me` (already validated for length).
    pub fn new(me: &PeerId, a: Attestation) -> Self {
        let accuses: BTreeSet<PeerId> = a
            .banned
            .into_iter()
            .filter(|p| p != me)
            .take(MAX_ATTESTED_PEERS)
            .collect();
        let vouches = a
            .verified_from
            .into_iter()
            .filter(|p| p != me && !accuses.contains(p))
            .take(MAX_ATTESTED_PEERS)
            .collect();
        Claims { vouches, accuses }
    }
}

/// Who has standing and who is dropped, for one roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    vouchers: BTreeMap<PeerId, usize>,
    dropped: BTreeSet<PeerId>,
}

impl Standing {
    /// Assesses the claims of the peers in `roster` (id → claims).
    pub fn assess<'a>(roster: &BTreeMap<&'a PeerId, &'a Claims>) -> Self {
        let mut vouchers: BTreeMap<PeerId, usize> = BTreeMap::new();
        for claims in roster.values() {
            for v in claims.vouches.iter().filter(|v| roster.contains_key(v)) {
                *vouchers.entry(v.clone()).or_default() += 1;
            }
        }
        let has = |p: &PeerId| vouchers.get(p).is_some_and(|n| *n > 0);
        let mut accusers: BTreeMap<&PeerId, usize> = BTreeMap::new();
        let mut shields: BTreeMap<&PeerId, usize> = BTreeMap::new();
        for claims in roster.iter().filter(|(id, _)| has(id)).map(|(_, c)| c) {
            for a in claims.accuses.iter().filter(|a| roster.contains_key(a)) {
                *accusers.entry(a).or_default() += 1;
            }
            for v in claims.vouches.iter() {
                *shields.entry(v).or_default() += 1;
            }
        }
        let dropped = accusers
            .into_iter()
            .filter(|(p, n)| *n >= BAN_QUORUM && *n > shields.get(p).copied().unwrap_or(0))
            .map(|(p, _)| p.clone())
            .collect();
        Standing { vouchers, dropped }
    }

    /// Whether another peer vouched for `p`.
    pub fn has_standing(&self, p: &PeerId) -> bool {
        self.vouchers.get(p).is_some_and(|n| *n > 0)
    }

    /// Whether `p` is left out of peer lists.
    pub fn is_dropped(&self, p: &PeerId) -> bool {
        self.dropped.contains(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> PeerId {
        PeerId::new(s).unwrap()
    }

    fn claims(me: &str, vouch: &[&str], ban: &[&str]) -> (PeerId, Claims) {
        let a = Attestation {
            verified_from: vouch.iter().map(|s| pid(s)).collect(),
            banned: ban.iter().map(|s| pid(s)).collect(),
        };
        (pid(me), Claims::new(&pid(me), a))
    }

    fn assess(all: &[(PeerId, Claims)]) -> Standing {
        let roster: BTreeMap<&PeerId, &Claims> = all.iter().map(|(p, c)| (p, c)).collect();
        Standing::assess(&roster)
    }

    #[test]
    fn forged_rates_are_clamped_to_the_counters_and_the_ceiling() {
        let r = plausible(&Report {
            uploaded: 10,
            uploaded_bps: u64::MAX,
            downloaded: u64::MAX,
            downloaded_cdn: 5,
            download_bps: u64::MAX,
            profile: Some("dropped".into()),
            ..Report::default()
        });
        assert_eq!(r.uploaded_bps, 10);
        assert_eq!(r.download_bps, MAX_PLAUSIBLE_BPS);
        assert_eq!(r.profile, None, "only counters are kept");
    }

    #[test]
    fn vouched_peers_have_standing_and_self_vouching_is_ignored() {
        let s = assess(&[
            claims("a", &["a", "s"], &[]),
            claims("s", &[], &[]),
            claims("x", &["ghost"], &[]),
        ]);
        assert!(s.has_standing(&pid("s")));
        assert!(!s.has_standing(&pid("a")), "self-vouching does not count");
        assert!(!s.has_standing(&pid("ghost")), "not in the roster");
    }

    #[test]
    fn a_quorum_of_accusers_with_standing_drops_a_peer() {
        // v vouches for a and b; a and b accuse m.
        let s = assess(&[
            claims("v", &["a", "b"], &[]),
            claims("a", &[], &["m"]),
            claims("b", &[], &["m"]),
            claims("m", &[], &[]),
        ]);
        assert!(s.is_dropped(&pid("m")));
        // One accuser is not a quorum.
        let one = assess(&[
            claims("v", &["a"], &[]),
            claims("a", &[], &["m"]),
            claims("m", &[], &[]),
        ]);
        assert!(!one.is_dropped(&pid("m")));
    }

    #[test]
    fn accusers_without_standing_cannot_drop_an_honest_peer() {
        let s = assess(&[
            claims("d", &["h"], &[]),
            claims("h", &[], &[]),
            claims("e1", &[], &["h"]),
            claims("e2", &[], &["h"]),
            claims("e3", &[], &["h"]),
        ]);
        assert!(!s.is_dropped(&pid("h")));
        assert!(s.has_standing(&pid("h")));
    }

    #[test]
    fn vouchers_with_standing_outweigh_as_many_accusers() {
        // x and y (vouched by each other) accuse h; h is vouched by a, b,
        // c, which z vouches for.
        let s = assess(&[
            claims("x", &["y"], &["h"]),
            claims("y", &["x"], &["h"]),
            claims("z", &["a", "b", "c"], &[]),
            claims("a", &["h"], &[]),
            claims("b", &["h"], &[]),
            claims("c", &["h"], &[]),
            claims("h", &[], &[]),
        ]);
        assert!(!s.is_dropped(&pid("h")));
    }
}
