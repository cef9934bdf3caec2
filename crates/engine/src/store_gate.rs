//! Storage back-pressure: how many verified bytes storage has not yet
//! confirmed, and whether that is too many to start more downloads.
//!
//! Every `Output::StorePiece` is *handed* to the glue; the glue answers
//! `Input::PieceStored` when the write completed or `Input::PieceStoreFailed`
//! when it did not. While the handed-but-unconfirmed bytes reach
//! `EngineConfig::max_unstored_bytes` (0 = no limit) the engine starts no new
//! request — no peer piece request, no CDN range — so storage slower than
//! the network cannot make verified pieces pile up in memory (the glue's
//! write queue, a worker's message queue). Requests already in flight still
//! complete, so the bound is `max_unstored_bytes` plus what was in flight
//! when it was reached. Pieces stay servable while unstored (the upload
//! cache, the glue's pending map). Pieces the glue is hashing
//! (`EngineConfig::hash_outside`) count as held bytes until their digest
//! comes back, so a slow hasher cannot make pieces pile up either.
//!
//! States of one piece here: *handed* (in `unstored`) → *stored* (forgotten)
//! | *failed*. A failed write fails the whole download: the engine announced
//! and may have served the piece, so it cannot quietly become missing again;
//! the engine emits `Event::StoreFailed`, starts nothing more and never
//! emits `Done`. `Done` comes only once every piece is verified **and**
//! stored, so "done" has one meaning for every glue. Answers for pieces not
//! handed (twice, or never) are ignored.

use std::collections::BTreeMap;

/// The verified pieces storage has not confirmed yet.
#[derive(Debug, Default)]
pub(crate) struct StoreGate {
    /// `EngineConfig::max_unstored_bytes`; 0 = no limit.
    limit: u64,
    /// Piece → bytes handed to storage and not confirmed.
    unstored: BTreeMap<u32, u64>,
    /// Sum of `unstored`.
    bytes: u64,
    /// The first piece whose write failed: the download has failed.
    failed: Option<u32>,
    /// Bytes of complete pieces the glue is hashing
    /// (`EngineConfig::hash_outside`): they count against the limit too.
    hashing: u64,
}

impl StoreGate {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// A `StorePiece` of `len` bytes for `piece` went out.
    pub fn handed(&mut self, piece: u32, len: u64) {
        if self.unstored.insert(piece, len).is_none() {
            self.bytes = self.bytes.saturating_add(len);
        }
    }

    fn take(&mut self, piece: u32) -> bool {
        let Some(len) = self.unstored.remove(&piece) else {
            return false;
        };
        self.bytes = self.bytes.saturating_sub(len);
        true
    }

    /// `Input::PieceStored`: true when `piece` was awaited.
    pub fn stored(&mut self, piece: u32) -> bool {
        self.take(piece)
    }

    /// `Input::PieceStoreFailed`: true when `piece` was awaited (the
    /// download has now failed).
    pub fn store_failed(&mut self, piece: u32) -> bool {
        let awaited = self.take(piece);
        if awaited && self.failed.is_none() {
            self.failed = Some(piece);
        }
        awaited
    }

    /// A piece of `len` bytes went to the glue to be hashed.
    pub fn hashing_started(&mut self, len: u64) {
        self.hashing = self.hashing.saturating_add(len);
    }

    /// Its digest came back (whatever it said).
    pub fn hashing_ended(&mut self, len: u64) {
        self.hashing = self.hashing.saturating_sub(len);
    }

    /// No new request may start: too many bytes unstored or being hashed,
    /// or a write failed.
    pub fn holds(&self) -> bool {
        let held = self.bytes.saturating_add(self.hashing);
        self.failed.is_some() || (self.limit > 0 && held >= self.limit)
    }

    /// Every handed piece is confirmed stored.
    pub fn drained(&self) -> bool {
        self.unstored.is_empty()
    }

    pub fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Bytes handed to storage and not confirmed.
    #[cfg(test)]
    pub fn unstored_bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::StoreGate;

    #[test]
    fn holds_at_the_limit_and_releases_on_acks() {
        let mut g = StoreGate::new(3);
        g.handed(0, 2);
        assert!(!g.holds());
        g.handed(1, 2);
        assert!(g.holds() && g.unstored_bytes() == 4);
        assert!(!g.stored(7), "a piece never handed is ignored");
        assert!(g.stored(0));
        assert!(!g.stored(0), "a second answer is ignored");
        assert!(!g.holds() && !g.drained());
        assert!(g.stored(1));
        assert!(g.drained() && g.unstored_bytes() == 0);
    }

    #[test]
    fn a_failed_write_holds_for_good() {
        let mut g = StoreGate::new(0);
        g.handed(0, 5);
        assert!(!g.holds(), "limit 0: no limit");
        assert!(!g.store_failed(1));
        assert!(!g.failed());
        assert!(g.store_failed(0));
        assert!(g.failed() && g.holds());
    }
}
