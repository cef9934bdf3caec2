//! Storage answers (`PieceStored`, `PieceStoreFailed`) and the end of the
//! download: `Done` once every piece is verified and its write confirmed.
//! The bound on unconfirmed bytes and the failure rule are
//! [`StoreGate`](crate::store_gate)'s; the schedulers (`download`, `http`)
//! start nothing while it holds.
//!
//! States: Downloading → Verified (all pieces verified, writes pending) →
//! Done; any → Failed on a failed write (no `Done`, no new request).

use super::Swarm;
use crate::types::Event;

impl Swarm {
    /// Storage is behind (the gate holds): no new request starts.
    pub fn storage_holds(&self) -> bool {
        self.store.holds()
    }

    /// Returns true when the answer released the gate (requests may start).
    pub(super) fn on_stored(&mut self, piece: u32) -> bool {
        let held = self.store.holds();
        if self.store.stored(piece) {
            self.finish();
        }
        held && !self.store.holds()
    }

    pub(super) fn on_store_failed(&mut self, piece: u32) {
        if self.store.store_failed(piece) {
            self.event(Event::StoreFailed { piece });
        }
    }

    /// Emits `Done` once every piece is verified and stored: the file is the
    /// metadata's, whose whole-file hash is the one to report. Harmless to
    /// call at any time.
    pub(super) fn finish(&mut self) {
        let stored = self.store.drained() && !self.store.failed();
        if self.done || !stored || !self.pieces.all_verified() {
            return;
        }
        self.done = true;
        self.event(Event::Done {
            sha256: *self.meta.file_sha256(),
            verified: true,
        });
    }
}
