//! `--limit-rate`: an upper bound on the bytes per second all upload
//! threads send together.
//!
//! Invariant: after [`Pace::after`] returns, the bytes counted since the
//! start were not sent faster than the rate (the caller sleeps off any
//! advance). The lock is held only to count, never while sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Pace {
    bytes_per_second: u64,
    start: Instant,
    sent: Mutex<u64>,
}

impl Pace {
    /// A pace of `bytes_per_second` (at least 1).
    pub fn new(bytes_per_second: u64) -> Self {
        Self {
            bytes_per_second: bytes_per_second.max(1),
            start: Instant::now(),
            sent: Mutex::new(0),
        }
    }

    /// How long after the start `sent` bytes may have gone out.
    fn due(&self, sent: u64) -> Duration {
        Duration::from_secs_f64(sent as f64 / self.bytes_per_second as f64)
    }

    /// Counts `n` bytes sent and waits until the rate allows them.
    pub fn after(&self, n: u64) {
        let total = match self.sent.lock() {
            Ok(mut s) => {
                *s += n;
                *s
            }
            Err(_) => return,
        };
        let due = self.start + self.due(total);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_due_at_the_rate() {
        let p = Pace::new(1000);
        assert_eq!(p.due(500), Duration::from_millis(500));
        assert_eq!(Pace::new(0).due(1), Duration::from_secs(1));
    }
}
