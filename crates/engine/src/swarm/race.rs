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
//! CDN runs much as in HTTP-only mode (`http_concurrency` ranges of
//! consecutive missing pieces, no patience wait) and the peers keep fetching
//! too: two sources at once are never slower than the faster one alone.
//! (In LAN mode, where the race follows the array's share, the time the race
//! would run counts toward the share's orphan wait: `swarm::share`.)
//!
//! The cap ([`Race::room`]): racing, no new CDN request is sent while the
//! bytes still to come from the CDN come to what it carries in
//! [`RACE_HORIZON_MS`] at its measured rate (or to one piece per request
//! slot, if that is more). On a congested CDN every racing page would
//! otherwise queue long runs that hold pieces its peers could bring.
//!
//! The slow start ([`slow_start`]): a run of the race (or of an owner's
//! fetch, `swarm::share`) covers at most one piece more than the pieces the
//! CDN has delivered to this page and that verified, so runs grow by a
//! piece for every piece the CDN proved, up to `http_max_range_pieces`
//! (with `s` request slots, the pieces asked per round of requests grow
//! about `1 + s` times). A page's CDN rate comes from its first piece or
//! two: in a flash crowd the pages whose piece came first measure the
//! shared CDN at its full rate, race at once, and full runs of 16 pieces
//! then queued behind each other what the peers were about to bring — 300
//! pages × 64 MiB took 4.4–5.6 CDN copies, with the slow start 2.8–3.1, at
//! the same last-page time (docs/bench/engine.md, "The race's slow start").
//! The count covers the whole download: a page that took many pieces from
//! the CDN before it races gets full runs at once.
//!
//! Invariants: both decayed sums only shrink by the decay and grow by what
//! is recorded; a meter's rate is `None` until its sample size arrived.

use crate::types::Millis;

/// Time constant of the decay, in busy milliseconds.
pub const TAU_MS: u64 = 2_000;

/// Bytes the peers must have delivered before their rate counts.
pub const MIN_SAMPLE_BYTES: u64 = 2 << 20;

/// How long peers may be connected without a measured rate before they
/// count as delivering nothing.
pub const PEER_GRACE_MS: u64 = 1_000;

/// Racing, the CDN's bytes still to come are held to what it carries in
/// this long at its measured rate.
pub const RACE_HORIZON_MS: u64 = 4_000;

/// Racing, the most pieces one CDN run may cover once the CDN has
/// delivered `proved` pieces that verified: one more (the slow start above).
pub fn slow_start(proved: u64) -> usize {
    usize::try_from(proved.saturating_add(1)).unwrap_or(usize::MAX)
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
}

impl Race {
    /// The CDN's rate, once measured.
    pub fn cdn_rate(&self) -> Option<u64> {
        self.cdn.rate(self.cdn_sample)
    }

    pub fn new(start: Millis, piece_size: u64) -> Self {
        Self {
            cdn: BusyRate::new(start),
            peers: BusyRate::new(start),
            peers_since: None,
            cdn_sample: piece_size,
            peers_sample: MIN_SAMPLE_BYTES.max(piece_size),
        }
    }

    /// Whether peers are connected at `now`.
    pub fn note_peers(&mut self, now: Millis, present: bool) {
        if !present {
            self.peers_since = None;
        } else if self.peers_since.is_none() {
            self.peers_since = Some(now);
        }
    }

    /// The rule at `now`: the CDN's rate known and the peers' below
    /// `100 / percent` of it, an unknown peer rate counting as 0 after
    /// [`PEER_GRACE_MS`] of peers (`percent` 0 = off).
    pub fn cdn_ahead(&self, now: Millis, percent: u64) -> bool {
        if percent == 0 {
            return false;
        }
        let waited = self
            .peers_since
            .is_some_and(|t| now.since(t) >= PEER_GRACE_MS);
        let peers = match self.peers.rate(self.peers_sample) {
            Some(r) => r,
            None if waited => 0,
            None => return false,
        };
        self.cdn_rate()
            .is_some_and(|cdn| u128::from(cdn) * 100 > u128::from(peers) * u128::from(percent))
    }

    /// Racing: how many more pieces (of `piece_size` bytes) the CDN may be
    /// asked for while `left` bytes of its requests are still to come —
    /// what it carries in [`RACE_HORIZON_MS`] at its measured rate, or
    /// `slots` pieces if that is more, less what is still to come.
    pub fn room(&self, piece_size: u64, slots: usize, left: u64) -> usize {
        let piece = u128::from(piece_size.max(1));
        let rate = u128::from(self.cdn_rate().unwrap_or(0));
        let carried = rate * u128::from(RACE_HORIZON_MS) / 1000 / piece;
        let budget = carried.max(slots as u128);
        let owed = u128::from(left).div_ceil(piece);
        usize::try_from(budget.saturating_sub(owed)).unwrap_or(usize::MAX)
    }

    /// When the grace for peers without a rate ends (a decision may change
    /// then), if the rule is on and that is still ahead.
    pub fn grace_deadline(&self, percent: u64) -> Option<Millis> {
        let decides = self.cdn_rate().is_some() && self.peers.rate(self.peers_sample).is_none();
        if percent == 0 || !decides {
            return None;
        }
        self.peers_since.map(|t| t.plus(PEER_GRACE_MS))
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
    fn racing_the_cdn_is_asked_for_what_it_carries_in_the_horizon() {
        let piece = 1 << 20;
        let mut r = Race::new(Millis(0), piece);
        assert_eq!(r.room(piece, 2, 0), 2, "unmeasured: one piece per slot");
        r.cdn.set_busy(true);
        r.cdn.record(Millis(1000), 4 << 20); // 4 MiB/s: 16 MiB in 4 s
        assert_eq!(r.room(piece, 2, 0), 16);
        assert_eq!(r.room(piece, 2, 10 << 20), 6);
        assert_eq!(
            r.room(piece, 2, (10 << 20) + 1),
            5,
            "a started piece counts"
        );
        assert_eq!(r.room(piece, 2, 40 << 20), 0, "more owed than carried");
        assert_eq!(r.room(piece, 64, 40 << 20), 24, "slots win");
        assert_eq!(r.room(0, 2, u64::MAX), 0, "no division by zero");
    }

    #[test]
    fn the_race_starts_with_one_piece_per_run_and_grows_with_what_arrived() {
        assert_eq!(slow_start(0), 1);
        assert_eq!(slow_start(1), 2);
        assert_eq!(slow_start(15), 16);
        assert_eq!(slow_start(u64::MAX), usize::MAX, "saturates");
    }

    #[test]
    fn unknown_until_enough_bytes_and_the_rule_needs_both() {
        let mut r = Race::new(Millis(0), 1 << 20);
        r.cdn.set_busy(true);
        r.cdn.record(Millis(100), 500_000);
        assert_eq!(r.cdn.rate(1 << 20), None);
        r.cdn.record(Millis(200), 2_000_000);
        assert!(r.cdn.rate(1 << 20).is_some());
        assert!(!r.cdn_ahead(Millis(200), 120), "no peers: no race");
        r.note_peers(Millis(200), true);
        let waited = Millis(200 + PEER_GRACE_MS);
        assert!(!r.cdn_ahead(Millis(1000), 120), "peers unknown yet");
        assert!(r.cdn_ahead(waited, 120), "peers silent for the grace");
        r.peers.set_busy(true);
        r.peers.record(Millis(1200), 3_000_000); // 2.5 MB/s against 10 MB/s
        assert!(r.cdn_ahead(Millis(1200), 120));
        assert!(!r.cdn_ahead(Millis(1200), 0), "0 = off");
        assert!(!r.cdn_ahead(Millis(1200), 500), "peers within 5x");
        assert_eq!(r.grace_deadline(120), None, "peers measured");
        let mut fresh = Race::new(Millis(0), 1 << 20);
        fresh.note_peers(Millis(1400), true);
        assert_eq!(fresh.grace_deadline(120), None, "the CDN unmeasured");
        fresh.cdn.set_busy(true);
        fresh.cdn.record(Millis(1500), 2_000_000);
        assert_eq!(
            fresh.grace_deadline(120),
            Some(Millis(1400 + PEER_GRACE_MS))
        );
        assert_eq!(fresh.grace_deadline(0), None, "rule off");
    }
}
