//! What the local host holds and allows: pieces from the cache of an
//! earlier session, and the upload budget of the host's policies.
//!
//! Invariants:
//! - a cached piece is counted once, as verified, without a `StorePiece`
//!   (it is stored already) and without touching the download counters of
//!   peers or the CDN; it is announced (`Have`) and servable at once; an
//!   attempt already made for it is withdrawn (an HTTP request the glue has
//!   not polled yet never reaches it, so the cache input given right after
//!   `Engine::new` costs no CDN byte);
//! - in the background with `background_download_percent` set, no new
//!   request (peer or CDN) starts while the download rate is at or above
//!   that share of the highest rate measured; requests in flight go on, and
//!   the engine wakes every sample interval to measure again;
//! - with a budget, no block is sent beyond it: the upload pump stops, and
//!   every queued request is answered `Reject(Busy)` so that requesters turn
//!   elsewhere instead of waiting for us (and striking us as stalled).

use edgeswarm_protocol::wire::{Message, RejectReason};

use super::rate::SAMPLE_MS;
use super::Swarm;
use crate::types::{Event, Millis, PeerKey, Source};

/// The background share of the download rate (DO's
/// `DOPercentageMaxBackgroundBandwidth`).
#[derive(Debug, Default)]
pub(super) struct Background {
    /// In the background now.
    pub on: bool,
    /// The highest download rate measured (bytes/s, the minimum-QoS meter).
    peak: u64,
    /// New requests wait: in the background at or above the share.
    pub hold: bool,
}

impl Swarm {
    pub(super) fn on_cached(&mut self, pieces: Vec<u32>) {
        for raw in pieces {
            let Some(p) = self.meta.piece(raw) else {
                continue;
            };
            let Some(attempts) = self.pieces.set_cached(p) else {
                continue;
            };
            for source in attempts {
                match source {
                    Source::Http => self.withdraw_http(p),
                    Source::Peer(k) => {
                        if let Some(peer) = self.peers.get_mut(&k) {
                            peer.downloads.remove(&p);
                            peer.given_up.insert(p);
                            self.send(k, &Message::Cancel { piece: raw });
                        }
                    }
                }
            }
            let len = u64::from(self.meta.piece_len(p));
            self.stats.pieces_verified += 1;
            self.stats.bytes_from_cache += len;
            self.stats.bytes_left = self.stats.bytes_left.saturating_sub(len);
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for k in keys {
                self.send(k, &Message::Have { piece: raw });
            }
            self.event(Event::PieceFromCache { piece: raw });
        }
        if self.pieces.all_verified() && !self.done {
            self.finish();
        }
    }

    fn withdraw_http(&mut self, p: edgeswarm_protocol::PieceIndex) {
        for q in self.http.withdraw_piece(p, &mut self.out) {
            self.pieces.end_attempt(q, Source::Http);
        }
    }

    /// Updates the peak rate and whether new requests wait (before the
    /// pipelines and the CDN are filled).
    pub(super) fn measure_background(&mut self) {
        let received = self
            .stats
            .bytes_from_peers
            .saturating_add(self.stats.bytes_from_http);
        self.http.rate.record(self.now, received);
        let rate = self.http.rate.rate(self.now, received).unwrap_or(0);
        let bg = &mut self.background;
        bg.peak = bg.peak.max(rate);
        let pct = u64::from(self.cfg.background_download_percent.min(100));
        bg.hold = bg.on && pct > 0 && bg.peak > 0 && !self.done && rate >= bg.peak * pct / 100;
    }

    /// While new requests wait, the rate is measured again every sample.
    pub(super) fn background_recheck(&self) -> Option<Millis> {
        self.background.hold.then(|| self.now.plus(SAMPLE_MS))
    }

    pub(super) fn set_upload_budget(&mut self, bytes: Option<u64>) {
        self.upload_budget = bytes;
    }

    /// True when the budget allows a block of `len` bytes now.
    pub(super) fn budget_allows(&self, len: usize) -> bool {
        self.upload_budget.is_none_or(|b| b >= len as u64)
    }

    /// Counts `len` uploaded bytes against the budget.
    pub(super) fn spend_budget(&mut self, len: usize) {
        if let Some(b) = &mut self.upload_budget {
            *b = b.saturating_sub(len as u64);
        }
    }

    /// The budget is spent: every queued request is answered Busy.
    pub(super) fn refuse_queued_uploads(&mut self) {
        let queued: Vec<(PeerKey, u32)> = self
            .peers
            .iter_mut()
            .flat_map(|(k, p)| {
                let k = *k;
                p.uploads.drain(..).map(move |u| (k, u.piece.get()))
            })
            .collect();
        for (k, piece) in queued {
            let reason = RejectReason::Busy;
            self.send(k, &Message::Reject { piece, reason });
        }
    }
}
