//! Retry policy of HTTP range requests, shared by the swarm's CDN side and
//! simple mode: exponential backoff after consecutive failures, and a
//! request timeout that doubles with them so that a slow link still gets
//! through.
//!
//! States: `failures == 0` (healthy) → each failure increments it and moves
//! `backoff_until` to `now + min(backoff · 2^(failures-1), backoff_max)`;
//! a success resets it. Invariant: arithmetic saturates, so extreme
//! configuration values cannot overflow.

use crate::config::EngineConfig;
use crate::types::Millis;

/// Consecutive HTTP failures and the backoff they impose.
#[derive(Debug, Default)]
pub(crate) struct HttpRetry {
    failures: u32,
    backoff_until: Millis,
}

impl HttpRetry {
    /// One more failure at `now`: backs off.
    pub fn failed(&mut self, cfg: &EngineConfig, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let shift = (self.failures - 1).min(20);
        let delay = cfg
            .http_backoff_ms
            .saturating_mul(1 << shift)
            .min(cfg.http_backoff_max_ms);
        self.backoff_until = now.plus(delay);
    }

    /// A request succeeded: back to healthy.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// No new request before this time.
    pub fn backoff_until(&self) -> Millis {
        self.backoff_until
    }

    /// How long a request started now may stay unanswered before it counts
    /// as failed: `slow_piece_timeout_ms`, doubled per consecutive failure
    /// (at most 64×).
    pub fn request_timeout(&self, cfg: &EngineConfig) -> u64 {
        cfg.slow_piece_timeout_ms
            .saturating_mul(1 << self.failures.min(6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_and_resets() {
        let cfg = EngineConfig {
            http_backoff_ms: 100,
            http_backoff_max_ms: 350,
            slow_piece_timeout_ms: 1000,
            ..EngineConfig::default()
        };
        let mut r = HttpRetry::default();
        assert_eq!(r.request_timeout(&cfg), 1000);
        r.failed(&cfg, Millis(0));
        assert_eq!(r.backoff_until(), Millis(100));
        r.failed(&cfg, Millis(0));
        assert_eq!(r.backoff_until(), Millis(200));
        r.failed(&cfg, Millis(0));
        assert_eq!(r.backoff_until(), Millis(350), "capped");
        assert_eq!(r.request_timeout(&cfg), 8000);
        r.succeeded();
        assert_eq!(r.request_timeout(&cfg), 1000);
    }
}
