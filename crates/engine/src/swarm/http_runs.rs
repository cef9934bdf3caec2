//! The CDN's ranges: how many consecutive missing pieces one HTTP request
//! covers (at most `http_max_range_pieces`, fewer near the end so that every
//! request slot stays busy), for the race's runs and HTTP-only mode's
//! in-order scan (see [`http`](super::http)).
//!
//! Invariant: a run starts at the piece it is given and holds only missing
//! pieces that the caller's `eligible` accepts, in file order, without gaps.

use edgeswarm_protocol::PieceIndex;

use super::Swarm;

impl Swarm {
    /// Pieces one range may cover: at most `http_max_range_pieces`, and at
    /// most the missing pieces shared among `slots` requests.
    fn run_len(&self, slots: usize) -> usize {
        let max = self.cfg.http_max_range_pieces.max(1);
        self.pieces.missing().div_ceil(slots.max(1)).clamp(1, max)
    }

    /// `first` and the missing pieces right after it that are `eligible`
    /// (see [`Self::run_len`]).
    pub(super) fn run_from(
        &self,
        first: PieceIndex,
        slots: usize,
        eligible: &dyn Fn(PieceIndex) -> bool,
    ) -> Vec<PieceIndex> {
        let k = self.run_len(slots);
        let mut run = vec![first];
        let mut next = first.get().saturating_add(1);
        while run.len() < k {
            match self.meta.piece(next) {
                Some(p) if self.pieces.is_missing(p) && eligible(p) => run.push(p),
                _ => break,
            }
            next = next.saturating_add(1);
        }
        run
    }

    /// HTTP-only mode: the first missing piece in file order and the missing
    /// pieces right after it (see [`Self::run_len`]).
    pub(super) fn in_order_run(&mut self, slots: usize) -> Vec<PieceIndex> {
        if self.pieces.missing() == 0 {
            return Vec::new();
        }
        let n = self.pieces.len();
        let from = self.http.scan_from.min(n);
        let Some(first) = (from..n)
            .chain(0..from)
            .filter_map(|i| self.meta.piece(i))
            .find(|&p| self.pieces.is_missing(p))
        else {
            return Vec::new();
        };
        let run = self.run_from(first, slots, &|_| true);
        self.http.scan_from = run
            .last()
            .map_or(first.get(), |p| p.get().saturating_add(1));
        run
    }
}
