//! The CDN link: `cdn_rate` bytes/s shared by every range request.
//!
//! Two models ([`crate::CdnModel`]):
//! - **FIFO** (the default, the simulator's historical model): requests are
//!   served one after another at the full rate; a request issued at `t`
//!   starts at `t + latency` or when the one before it ends, and its last
//!   byte arrives one latency after it ends.
//! - **Shared** (processor sharing): every request being served gets an equal
//!   share of the rate at every instant — the browser benchmark's CDN, one
//!   token bucket granting 16 KiB to each open response in turn, and any
//!   link carrying several TCP flows. A request joins one latency after it
//!   is issued; its last byte arrives one latency after its share has
//!   carried its length.
//!
//! The shared model is event-driven: [`Cdn::next_finish`] says when the
//! next transfer would end if nothing changes; the world queues a tick for
//! then, tagged with [`Cdn::generation`], and every join or finish bumps the
//! generation so that a stale tick is ignored. Invariants: bytes served per
//! µs never exceed the rate; transfers of equal length that join together
//! finish together; a transfer's remaining bytes never grow.

use edgeswarm_engine::HttpRequestId;

use crate::net::Micros;

/// One range request being served (shared model).
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    pub node: usize,
    pub id: HttpRequestId,
    pub range: std::ops::Range<u64>,
    /// Bytes still to send, scaled by 2^16 (sub-byte precision, integer
    /// arithmetic: the same on every machine).
    left: u128,
}

const SCALE: u128 = 1 << 16;

pub(crate) struct Cdn {
    rate: u64,
    /// FIFO model: when the link is free.
    fifo_free: Micros,
    /// Shared model: transfers being served, in join order.
    active: Vec<Transfer>,
    /// Shared model: the time `active` was last advanced to.
    last: Micros,
    generation: u64,
}

impl Cdn {
    pub fn new(rate: u64) -> Self {
        Self {
            rate: rate.max(1),
            fifo_free: 0,
            active: Vec::new(),
            last: 0,
            generation: 0,
        }
    }

    /// FIFO model: when the link finishes sending `len` bytes for a request
    /// that reaches the CDN at `arrive`.
    pub fn fifo(&mut self, arrive: Micros, len: u64) -> Micros {
        let start = arrive.max(self.fifo_free);
        self.fifo_free = start + len.saturating_mul(1_000_000) / self.rate;
        self.fifo_free
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Shared model: serves everything up to `now` at equal shares.
    fn advance(&mut self, now: Micros) {
        let dt = u128::from(now.saturating_sub(self.last));
        self.last = self.last.max(now);
        let n = self.active.len() as u128;
        if n == 0 || dt == 0 {
            return;
        }
        let each = dt * u128::from(self.rate) * SCALE / 1_000_000 / n;
        for t in &mut self.active {
            t.left = t.left.saturating_sub(each);
        }
    }

    /// Shared model: a request reaches the CDN at `now`.
    pub fn join(
        &mut self,
        now: Micros,
        node: usize,
        id: HttpRequestId,
        range: std::ops::Range<u64>,
    ) {
        self.advance(now);
        let len = u128::from(range.end.saturating_sub(range.start));
        self.active.push(Transfer {
            node,
            id,
            range,
            left: len * SCALE,
        });
        self.generation += 1;
    }

    /// Shared model: the transfers whose last byte left by `now` (removed).
    pub fn finished(&mut self, now: Micros) -> Vec<Transfer> {
        self.advance(now);
        let (done, rest): (Vec<Transfer>, Vec<Transfer>) =
            self.active.drain(..).partition(|t| t.left == 0);
        self.active = rest;
        if !done.is_empty() {
            self.generation += 1;
        }
        done
    }

    /// Shared model: when the next transfer ends if nothing joins.
    pub fn next_finish(&self) -> Option<Micros> {
        let n = self.active.len() as u128;
        let least = self.active.iter().map(|t| t.left).min()?;
        // Time for `least` at a 1/n share, rounded up to a whole µs.
        let per_us = u128::from(self.rate) * SCALE;
        let us = (least * n * 1_000_000).div_ceil(per_us);
        Some(self.last + u64::try_from(us).unwrap_or(u64::MAX / 2))
    }
}

#[cfg(test)]
mod tests {
    use super::Cdn;
    use edgeswarm_engine::HttpRequestId;

    fn drain(c: &mut Cdn) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        while let Some(t) = c.next_finish() {
            for x in c.finished(t) {
                out.push((x.id.0, t));
            }
        }
        out
    }

    #[test]
    fn concurrent_requests_split_the_link() {
        let mut c = Cdn::new(1_000_000); // 1 byte per µs
        c.join(0, 0, HttpRequestId(1), 0..1000);
        c.join(0, 1, HttpRequestId(2), 0..1000);
        assert_eq!(drain(&mut c), vec![(1, 2000), (2, 2000)]);
    }

    #[test]
    fn a_late_joiner_slows_the_first_down() {
        let mut c = Cdn::new(1_000_000);
        c.join(0, 0, HttpRequestId(1), 0..1000);
        assert_eq!(c.next_finish(), Some(1000));
        c.join(500, 1, HttpRequestId(2), 0..1000);
        // 500 left for each of two: 1000 µs more for the first.
        assert_eq!(drain(&mut c), vec![(1, 1500), (2, 2000)]);
    }

    #[test]
    fn fifo_serves_one_after_another() {
        let mut c = Cdn::new(1_000_000);
        assert_eq!(c.fifo(0, 1000), 1000);
        assert_eq!(c.fifo(0, 1000), 2000);
    }
}
