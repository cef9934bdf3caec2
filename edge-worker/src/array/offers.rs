//! The per-pair offer cap: one sender may send at most
//! [`MAX_OFFERS_PER_PAIR`] offers to one recipient per [`OFFER_WINDOW_MS`],
//! so it cannot make a victim create `RTCPeerConnection`s without end (the
//! per-recipient budget bounds all senders together; this bounds each pair).
//!
//! State: per sender, a fixed window per recipient (`start`, `count`); a
//! window older than [`OFFER_WINDOW_MS`] starts afresh. Time is an input.
//! Invariant: the table holds at most one entry per recipient the sender
//! offered to, and expired entries are pruned once it holds more than
//! [`PRUNE_ABOVE`], so it stays bounded by the roster and the sender's rate.

use std::collections::BTreeMap;

use edgeswarm_protocol::array::{PeerId, MAX_OFFERS_PER_PAIR, OFFER_WINDOW_MS};

/// Entries above which expired windows are pruned.
pub const PRUNE_ABOVE: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    start_ms: f64,
    count: u32,
}

/// The offers one sender made, per recipient.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairOffers {
    windows: BTreeMap<PeerId, Window>,
}

fn window_ms() -> f64 {
    // 60 000 ms: exact as f64.
    OFFER_WINDOW_MS as f64
}

impl PairOffers {
    /// Whether one more offer to `to` fits the cap at `now_ms`.
    pub fn allows(&self, to: &PeerId, now_ms: f64) -> bool {
        match self.windows.get(to) {
            Some(w) if now_ms - w.start_ms < window_ms() => w.count < MAX_OFFERS_PER_PAIR,
            _ => true,
        }
    }

    /// Counts an offer relayed to `to` at `now_ms`.
    pub fn record(&mut self, to: &PeerId, now_ms: f64) {
        if !self.windows.contains_key(to) && self.windows.len() >= PRUNE_ABOVE {
            self.windows
                .retain(|_, w| now_ms - w.start_ms < window_ms());
        }
        let w = self.windows.entry(to.clone()).or_insert(Window {
            start_ms: now_ms,
            count: 0,
        });
        if now_ms - w.start_ms >= window_ms() {
            *w = Window {
                start_ms: now_ms,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
    }

    /// Drops the window of a recipient that left.
    pub fn forget(&mut self, to: &PeerId) {
        self.windows.remove(to);
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> PeerId {
        PeerId::new(s).unwrap()
    }

    #[test]
    fn at_most_the_cap_per_pair_per_window() {
        let mut o = PairOffers::default();
        let (b, c) = (pid("b"), pid("c"));
        for _ in 0..MAX_OFFERS_PER_PAIR {
            assert!(o.allows(&b, 0.0));
            o.record(&b, 0.0);
        }
        assert!(!o.allows(&b, 0.0), "over the cap");
        assert!(!o.allows(&b, window_ms() - 1.0), "still inside the window");
        assert!(o.allows(&c, 0.0), "another recipient has its own window");
        assert!(o.allows(&b, window_ms()), "a new window");
        o.record(&b, window_ms());
        assert!(o.allows(&b, window_ms()));
        o.forget(&b);
        assert!(o.allows(&b, window_ms()));
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut o = PairOffers::default();
        for i in 0..1000 {
            // One new recipient per 10 s: at most 6 windows are live.
            o.record(&pid(&format!("p{i}")), f64::from(i) * 10_000.0);
        }
        assert!(o.len() <= PRUNE_ABOVE + 1, "{}", o.len());
    }
}
