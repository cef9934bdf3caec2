//! The CDN against the peers: which source is faster right now, for the
//! "CDN race" rule (issue 9 §3, DO's minimum-QoS idea: P2P must not make a
//! download much slower than the CDN alone would be).
//!
//! Each source has a [`BusyRate`]: the bytes received from it divided by
//! the time it had requests in flight ("busy"), both decayed over about
//! [`TAU_MS`] of busy time, so the rate follows the source as it changes
//! (a shared link filling up, peers slowing down) and an idle source keeps
//! its last rate instead of drifting to zero. The CDN's rate is known once it
//! has delivered one piece (in P2P mode it may deliver few); the peers' once
//! they have delivered [`MIN_SAMPLE_BYTES`] (or one piece, if larger): their
//! first pieces' times are mostly connection set-up and latency, and a swarm
//! that finishes within its first samples does not need the race.
//!
//! The engine records both meters at the start of every `tick` (the time
//! since the last record counts as busy for a source that was busy then) and
//! notes which sources are busy at its end, after the schedulers ran.
//!
//! The rule (`EngineConfig::http_race_percent`, 0 = off): in P2P mode, once
//! both rates are known, the CDN races the peers while the peers' rate is
//! below `100 / http_race_percent` of the CDN's. Peers that have been
//! connected for [`PEER_GRACE_MS`] without delivering
//! one piece's worth count as rate 0 (peers holding slots and sending
//! nothing must not keep the CDN at one request at a time) — with `120`, while P2P
//! alone would take more than 1.2× the time the CDN alone would. Racing, the
//! CDN runs as in HTTP-only mode (`http_concurrency` ranges of consecutive
//! missing pieces, no patience wait) and the peers keep fetching too: two
//! sources at once are never slower than the faster one alone.
//!
//! Late joiners (the probe): a page whose peers already hold every piece
//! never asks the CDN, so it would never measure it and never race. Every
//! page therefore tells its peers its own measured CDN rate
//! (`Message::CdnRate`, sent after the bitfield and again when it moves by
//! a quarter, at most once per [`ADVERTISE_MS`]; never a rate it was told).
//! A page that has not measured the CDN itself takes the highest rate its
//! connected peers report as a *hint*: while the peers' rate (after the
//! grace, what they delivered so far if short of their sample) is below
//! `100 / http_race_percent` of the hint, the CDN gets one request for one
//! piece (the probe) and nothing more until the page's own measurement
//! replaces the hint. A hint is never trusted further: a peer that lies
//! about the CDN costs each victim one piece from the CDN, once.
//!
//! Invariants: both decayed sums only shrink by the decay and grow by what
//! is recorded; a meter's rate is `None` until its sample size arrived; a
//! hint never counts once the page's own CDN rate is known.

use edgeswarm_protocol::wire::Message;

use super::Swarm;
use crate::types::Millis;

/// Time constant of the decay, in busy milliseconds.
pub const TAU_MS: u64 = 2_000;

/// Bytes the peers must have delivered before their rate counts.
pub const MIN_SAMPLE_BYTES: u64 = 2 << 20;

/// How long peers may be connected without a measured rate before they
/// count as delivering nothing.
pub const PEER_GRACE_MS: u64 = 1_000;

/// Least time between two advertisements of a page's CDN rate.
pub const ADVERTISE_MS: u64 = 1_000;

/// What the rule says for the CDN right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The peers are fast enough (or not yet measured): no race.
    Peers,
    /// The page has not measured the CDN, and a peer's reported CDN rate is
    /// ahead of the peers: one request for one piece, to measure it.
    Probe,
    /// The CDN is measured ahead of the peers: race.
    Cdn,
}

/// One source's throughput while it is busy.
#[derive(Debug)]
pub struct BusyRate {
    last: Millis,
    last_total: u64,
    busy: bool,
    /// Decayed bytes and busy milliseconds.
    bytes: u128,
    busy_ms: u128,
    /// Bytes received from the source in all (not decayed).
    seen: u64,
}

impl BusyRate {
    pub fn new(start: Millis) -> Self {
        Self {
            last: start,
            last_total: 0,
            busy: false,
            bytes: 0,
            busy_ms: 0,
            seen: 0,
        }
    }

    /// The source's running byte total is `total` at `now`; the time since
    /// the last record was busy if the source was busy then.
    pub fn record(&mut self, now: Millis, total: u64) {
        let dt = if self.busy {
            u128::from(now.since(self.last))
        } else {
            0
        };
        let db = u128::from(total.saturating_sub(self.last_total));
        if dt > 0 {
            let tau = u128::from(TAU_MS);
            self.bytes = self.bytes * tau / (tau + dt);
            self.busy_ms = self.busy_ms * tau / (tau + dt);
        }
        self.bytes = self.bytes.saturating_add(db);
        self.busy_ms = self.busy_ms.saturating_add(dt);
        self.seen = self
            .seen
            .saturating_add(total.saturating_sub(self.last_total));
        self.last = self.last.max(now);
        self.last_total = self.last_total.max(total);
    }

    /// Whether the source has requests in flight from now on.
    pub fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
    }

    /// Bytes per second while busy, once `min_bytes` have arrived.
    pub fn rate(&self, min_bytes: u64) -> Option<u64> {
        if self.seen < min_bytes.max(1) || self.busy_ms == 0 {
            return None;
        }
        // bytes < 2^64 · a few, so × 1000 stays far inside u128.
        Some(u64::try_from(self.bytes * 1000 / self.busy_ms).unwrap_or(u64::MAX))
    }
}

/// The two meters, and since when peers have been there.
#[derive(Debug)]
pub struct Race {
    pub cdn: BusyRate,
    pub peers: BusyRate,
    peers_since: Option<Millis>,
    /// The sample sizes: one piece for the CDN, at least
    /// [`MIN_SAMPLE_BYTES`] for the peers.
    cdn_sample: u64,
    peers_sample: u64,
    /// The CDN rate last told to the peers, and when.
    advertised: Option<(u32, Millis)>,
}

impl Race {
    pub fn new(start: Millis, piece_size: u64) -> Self {
        Self {
            cdn: BusyRate::new(start),
            peers: BusyRate::new(start),
            peers_since: None,
            cdn_sample: piece_size,
            peers_sample: MIN_SAMPLE_BYTES.max(piece_size),
            advertised: None,
        }
    }

    /// The page's own CDN rate, once measured.
    pub fn cdn_rate(&self) -> Option<u64> {
        self.cdn.rate(self.cdn_sample)
    }

    /// Whether peers are connected at `now`.
    pub fn note_peers(&mut self, now: Millis, present: bool) {
        if !present {
            self.peers_since = None;
        } else if self.peers_since.is_none() {
            self.peers_since = Some(now);
        }
    }

    /// The rule at `now` (`percent` 0 = off): the CDN races while its rate
    /// is known and the peers' is below `100 / percent` of it, an unknown
    /// peer rate counting as 0 after [`PEER_GRACE_MS`] of peers; without a
    /// CDN rate of its own, the page probes when `hint` (a peer's reported
    /// CDN rate) is ahead of the peers by the same rule — peers short of
    /// their sample judged by what they delivered so far, not as 0.
    pub fn verdict(&self, now: Millis, percent: u64, hint: Option<u64>) -> Verdict {
        if percent == 0 {
            return Verdict::Peers;
        }
        let waited = self
            .peers_since
            .is_some_and(|t| now.since(t) >= PEER_GRACE_MS);
        let full = self.peers.rate(self.peers_sample);
        let peers = match full {
            Some(r) => r,
            None if waited => 0,
            None => return Verdict::Peers,
        };
        let ahead =
            |cdn: u64, peers: u64| u128::from(cdn) * 100 > u128::from(peers) * u128::from(percent);
        match self.cdn_rate() {
            Some(cdn) if ahead(cdn, peers) => Verdict::Cdn,
            Some(_) => Verdict::Peers,
            None => {
                // A probe costs a piece from the CDN: peers still short of
                // their sample are judged by what they delivered so far.
                // Peers that delivered nothing yet may have nothing to give
                // (a swarm that starts together): no probe for them.
                match (hint, full.or_else(|| self.peers.rate(1))) {
                    (Some(h), Some(so_far)) if ahead(h, so_far) => Verdict::Probe,
                    _ => Verdict::Peers,
                }
            }
        }
    }

    /// When the grace for peers without a rate ends (a decision may change
    /// then), if the rule is on and that is still ahead.
    pub fn grace_deadline(&self, percent: u64, hint: Option<u64>) -> Option<Millis> {
        let decides = (self.cdn_rate().is_some() || hint.is_some())
            && self.peers.rate(self.peers_sample).is_none();
        if percent == 0 || !decides {
            return None;
        }
        self.peers_since.map(|t| t.plus(PEER_GRACE_MS))
    }

    /// The rate to tell the peers at `now`, if it is time: the first
    /// measurement, then a change by a quarter, at most once per
    /// [`ADVERTISE_MS`].
    fn advertisement_due(&mut self, now: Millis) -> Option<u32> {
        let r = u32::try_from(self.cdn_rate()?).unwrap_or(u32::MAX);
        if let Some((last, at)) = self.advertised {
            let (r, l) = (u64::from(r), u64::from(last));
            let moved = r * 4 > l * 5 || r * 5 < l * 4;
            if !moved || now.since(at) < ADVERTISE_MS {
                return None;
            }
        }
        self.advertised = Some((r, now));
        Some(r)
    }
}

impl Swarm {
    /// The highest CDN rate a connected peer reports (see the module doc).
    pub(super) fn cdn_hint(&self) -> Option<u64> {
        self.peers
            .values()
            .filter_map(|p| p.cdn_rate)
            .max()
            .map(u64::from)
    }

    /// Tells every connected peer the page's own CDN rate when it is time.
    pub(super) fn advertise_cdn_rate(&mut self) {
        let Some(bytes_per_second) = self.race.advertisement_due(self.now) else {
            return;
        };
        let keys: Vec<_> = self.peers.keys().copied().collect();
        for k in keys {
            self.send(k, &Message::CdnRate { bytes_per_second });
        }
    }

    /// The last advertised rate, for a peer that just connected.
    pub(super) fn greet_with_cdn_rate(&mut self, k: super::PeerKey) {
        if let Some((bytes_per_second, _)) = self.race.advertised {
            self.send(k, &Message::CdnRate { bytes_per_second });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_busy_time_only() {
        let mut m = BusyRate::new(Millis(0));
        m.set_busy(true);
        m.record(Millis(1000), 1_000_000);
        m.set_busy(false);
        // Ten idle seconds change nothing.
        m.record(Millis(11_000), 1_000_000);
        let r = m.rate(1).unwrap();
        assert!((990_000..=1_010_000).contains(&r), "{r}");
    }

    #[test]
    fn rate_follows_a_change_within_a_few_time_constants() {
        let mut m = BusyRate::new(Millis(0));
        m.set_busy(true);
        for i in 1..=100u64 {
            m.record(Millis(i * 100), i * 1_000_000); // 10 MB/s
        }
        let fast = m.rate(1).unwrap();
        assert!((9_000_000..=11_000_000).contains(&fast), "{fast}");
        for i in 101..=300u64 {
            m.record(Millis(i * 100), 100_000_000 + (i - 100) * 100_000); // 1 MB/s
        }
        let slow = m.rate(1).unwrap();
        assert!((900_000..=1_300_000).contains(&slow), "{slow}");
    }

    #[test]
    fn unknown_until_enough_bytes_and_the_rule_needs_both() {
        use Verdict::{Cdn, Peers};
        let mut r = Race::new(Millis(0), 1 << 20);
        r.cdn.set_busy(true);
        r.cdn.record(Millis(100), 500_000);
        assert_eq!(r.cdn_rate(), None);
        r.cdn.record(Millis(200), 2_000_000);
        assert!(r.cdn_rate().is_some());
        assert_eq!(
            r.verdict(Millis(200), 120, None),
            Peers,
            "no peers: no race"
        );
        r.note_peers(Millis(200), true);
        let waited = Millis(200 + PEER_GRACE_MS);
        assert_eq!(
            r.verdict(Millis(1000), 120, None),
            Peers,
            "peers unknown yet"
        );
        assert_eq!(
            r.verdict(waited, 120, None),
            Cdn,
            "peers silent for the grace"
        );
        r.peers.set_busy(true);
        r.peers.record(Millis(1200), 3_000_000); // 2.5 MB/s against 10 MB/s
        assert_eq!(r.verdict(Millis(1200), 120, None), Cdn);
        assert_eq!(r.verdict(Millis(1200), 0, None), Peers, "0 = off");
        assert_eq!(r.verdict(Millis(1200), 500, None), Peers, "peers within 5x");
        assert_eq!(r.grace_deadline(120, None), None, "peers measured");
        let mut fresh = Race::new(Millis(0), 1 << 20);
        fresh.note_peers(Millis(1400), true);
        assert_eq!(fresh.grace_deadline(120, None), None, "the CDN unmeasured");
        fresh.cdn.set_busy(true);
        fresh.cdn.record(Millis(1500), 2_000_000);
        assert_eq!(
            fresh.grace_deadline(120, None),
            Some(Millis(1400 + PEER_GRACE_MS))
        );
        assert_eq!(fresh.grace_deadline(0, None), None, "rule off");
    }

    #[test]
    fn a_hint_only_probes_and_only_until_the_cdn_is_measured() {
        use Verdict::{Cdn, Peers, Probe};
        let mut r = Race::new(Millis(0), 1 << 20);
        r.note_peers(Millis(0), true);
        assert_eq!(r.grace_deadline(120, Some(1)), Some(Millis(PEER_GRACE_MS)));
        r.peers.set_busy(true);
        r.peers.record(Millis(1000), 2 << 20); // ~2.1 MB/s
        assert_eq!(r.verdict(Millis(1000), 120, None), Peers, "no hint");
        assert_eq!(r.verdict(Millis(1000), 120, Some(2_000_000)), Peers);
        assert_eq!(r.verdict(Millis(1000), 120, Some(10_000_000)), Probe);
        assert_eq!(r.verdict(Millis(1000), 0, Some(10_000_000)), Peers, "off");
        // The probe measured a slow CDN: the hint no longer counts.
        r.cdn.set_busy(true);
        r.cdn.record(Millis(2000), 1 << 20);
        assert_eq!(r.verdict(Millis(2000), 120, Some(u64::MAX)), Peers);
        // A fast one: the race proper.
        let mut f = Race::new(Millis(0), 1 << 20);
        f.note_peers(Millis(0), true);
        f.peers.set_busy(true);
        f.peers.record(Millis(1000), 2 << 20);
        f.cdn.record(Millis(1000), 0);
        f.cdn.set_busy(true);
        f.cdn.record(Millis(1100), 1 << 20); // ~10 MB/s
        assert_eq!(f.verdict(Millis(1100), 120, Some(1)), Cdn);
    }

    #[test]
    fn the_rate_is_advertised_when_measured_and_when_it_moves_a_quarter() {
        let mut r = Race::new(Millis(0), 1 << 20);
        assert_eq!(r.advertisement_due(Millis(0)), None, "not measured");
        r.cdn.set_busy(true);
        r.cdn.record(Millis(1000), 10_000_000);
        assert_eq!(r.advertisement_due(Millis(1000)), Some(10_000_000));
        assert_eq!(r.advertisement_due(Millis(1001)), None, "sent");
        // 10 MB/s for 1 s, then 1 MB/s: the decayed rate drops well below
        // three quarters of what was sent.
        for i in 1..=20u64 {
            r.cdn
                .record(Millis(1000 + i * 100), 10_000_000 + i * 100_000);
        }
        let now = r.cdn_rate().unwrap();
        assert!(now < 7_500_000, "{now}");
        assert_eq!(r.advertisement_due(Millis(1500)), None, "too soon");
        assert_eq!(r.advertisement_due(Millis(3000)), Some(now as u32));
    }
}
