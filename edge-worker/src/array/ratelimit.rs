//! A token bucket per socket: `rate` messages per second sustained, `burst`
//! above it. Time is an input (milliseconds), so the bucket is pure.
//!
//! Invariant: `0 <= tokens <= burst`; a message is admitted only when a whole
//! token is available. A clock that goes backwards refills nothing.

/// One socket's message allowance.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate_per_ms: f64,
    burst: f64,
    tokens: f64,
    last_ms: f64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn new(messages_per_second: u32, burst: u32, now_ms: f64) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate_per_ms: f64::from(messages_per_second) / 1000.0,
            burst,
            tokens: burst,
            last_ms: now_ms,
        }
    }

    /// Takes one token if there is one; refills first for the time elapsed.
    pub fn try_take(&mut self, now_ms: f64) -> bool {
        if now_ms > self.last_ms {
            let refill = (now_ms - self.last_ms) * self.rate_per_ms;
            self.tokens = (self.tokens + refill).min(self.burst);
            self.last_ms = now_ms;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_sustained_rate() {
        let mut b = TokenBucket::new(10, 5, 0.0);
        assert_eq!((0..5).filter(|_| b.try_take(0.0)).count(), 5);
        assert!(!b.try_take(0.0), "burst exhausted");
        assert!(!b.try_take(50.0), "half a token after 50 ms");
        assert!(b.try_take(100.0), "one token after 100 ms at 10/s");
        // A long pause refills at most `burst`.
        assert_eq!((0..20).filter(|_| b.try_take(1e9)).count(), 5);
    }

    #[test]
    fn clock_going_backwards_refills_nothing() {
        let mut b = TokenBucket::new(10, 1, 1000.0);
        assert!(b.try_take(1000.0));
        assert!(!b.try_take(0.0));
        assert!(!b.try_take(1000.0));
    }
}
