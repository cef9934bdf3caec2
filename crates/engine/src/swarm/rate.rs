//! The download's total rate (peers and CDN together) for DO's "minimum
//! download QoS" rule (not to be confused with one peer's throughput,
//! `super::peer::PeerThroughput`).
//!
//! The meter sees the running total of bytes received (peers + CDN) at the
//! times the engine is driven (`now` inputs only; there is no clock). It
//! keeps coarse samples (at most one per [`SAMPLE_MS`]) and reports the rate
//! since the newest sample that is at least [`WINDOW_MS`] old, so the rate
//! always covers at least one window of virtual time.
//!
//! Invariants: samples are in increasing time order, the first one is at or
//! before `now - WINDOW_MS` once a window has passed (older ones are
//! dropped), and there are at most `WINDOW_MS / SAMPLE_MS + 2` samples.

use std::collections::VecDeque;

use crate::types::Millis;

/// Length of the sliding window over which the rate is measured.
pub const WINDOW_MS: u64 = 3_000;
/// Spacing of the kept samples.
pub const SAMPLE_MS: u64 = 250;

#[derive(Debug)]
pub struct DownloadRate {
    start: Millis,
    /// (time, running byte total) pairs.
    samples: VecDeque<(Millis, u64)>,
}

impl DownloadRate {
    /// A meter for a download that started at `start` with nothing received.
    pub fn new(start: Millis) -> Self {
        Self {
            start,
            samples: VecDeque::from([(start, 0)]),
        }
    }

    /// Records that `total` bytes have been received by `now`.
    pub fn record(&mut self, now: Millis, total: u64) {
        let last = self.samples.back().map_or(self.start, |s| s.0);
        if now.since(last) >= SAMPLE_MS {
            self.samples.push_back((now, total));
        }
        // Keep exactly one sample at or before the window start.
        while self
            .samples
            .get(1)
            .is_some_and(|s| now.since(s.0) >= WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the last window (or a little more), or `None`
    /// while the download has run for less than one window.
    pub fn rate(&self, now: Millis, total: u64) -> Option<u64> {
        if now.since(self.start) < WINDOW_MS {
            return None;
        }
        let (t, base) = *self.samples.front()?;
        let span = now.since(t).max(1);
        let bytes = u128::from(total.saturating_sub(base));
        // u128: bytes < 2^64, so bytes * 1000 cannot overflow; clamp to u64.
        Some(u64::try_from(bytes * 1000 / u128::from(span)).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_before_one_window() {
        let mut m = DownloadRate::new(Millis(1000));
        m.record(Millis(2000), 10_000);
        assert_eq!(m.rate(Millis(2000), 10_000), None);
        assert!(m.rate(Millis(4000), 10_000).is_some());
    }

    #[test]
    fn rate_follows_the_last_window() {
        let mut m = DownloadRate::new(Millis(0));
        // 100 KB/s for 10 s, then nothing for 5 s.
        for i in 1..=40u64 {
            m.record(Millis(i * 250), i * 25_000);
        }
        let r = m.rate(Millis(10_000), 1_000_000).unwrap();
        assert!((90_000..=110_000).contains(&r), "{r}");
        for i in 41..=60u64 {
            m.record(Millis(i * 250), 1_000_000);
        }
        assert_eq!(m.rate(Millis(15_000), 1_000_000), Some(0));
        assert!(m.samples.len() as u64 <= WINDOW_MS / SAMPLE_MS + 2);
    }
}
