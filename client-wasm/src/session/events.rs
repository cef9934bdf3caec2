//! Reacting to engine [`Event`]s: the piece map, per-peer counters, bans,
//! mode changes (the engine's reason is what users see), and the `File`
//! once the engine is done (the engine's whole-file hash is the only one).

use edgeswarm_engine::{Event, Mode, Source};
use wasm_bindgen_futures::spawn_local;

use super::{Ev, Session};
use crate::stats::{Phase, PIECE_CACHE, PIECE_HTTP, PIECE_PEER};

impl Session {
    pub(super) fn on_event_output(&mut self, e: Event) {
        match e {
            Event::PieceRequested { piece, source } => {
                let phase = match source {
                    Source::Http => "http:request",
                    Source::Peer(_) => "peer:request",
                };
                self.trace.mark(phase, piece);
            }
            Event::PieceFirstBytes { piece, source } => {
                let phase = match source {
                    Source::Http => "http:first-byte",
                    Source::Peer(_) => "peer:block",
                };
                self.trace.mark(phase, piece);
            }
            Event::PieceServed { piece, .. } => self.trace.mark("served", piece),
            Event::PieceVerified { piece, source } => {
                // The engine announces (Have) in the step that verifies.
                self.trace.mark("verified", piece);
                self.trace.mark("have", piece);
                let mut s = self.shared.borrow_mut();
                let mark = match source {
                    Source::Http => PIECE_HTTP,
                    Source::Peer(_) => PIECE_PEER,
                };
                if let Some(slot) = s.piece_map.get_mut(piece as usize) {
                    *slot = mark;
                }
                if let Source::Peer(k) = source {
                    if let Some(id) = self.peers.id(k) {
                        s.peer_mut(id.as_str()).pieces_from += 1;
                    }
                }
            }
            Event::PieceFromCache { piece } => {
                self.trace.mark("cached", piece);
                let mut s = self.shared.borrow_mut();
                if let Some(slot) = s.piece_map.get_mut(piece as usize) {
                    *slot = PIECE_CACHE;
                }
            }
            Event::PieceRejected { source, .. } => {
                if let Source::Peer(k) = source {
                    if let Some(id) = self.peers.id(k) {
                        self.shared
                            .borrow_mut()
                            .peer_mut(id.as_str())
                            .pieces_rejected += 1;
                    }
                }
            }
            Event::PeerBanned { peer, reason } => {
                self.peers.ban(peer);
                if let Some(id) = self.peers.id(peer) {
                    let mut s = self.shared.borrow_mut();
                    let v = s.peer_mut(id.as_str());
                    v.state = "banned";
                    v.ban_reason = Some(format!("{reason:?}"));
                }
            }
            Event::ModeChanged { mode, reason } => {
                let mut s = self.shared.borrow_mut();
                s.engine_mode = mode;
                s.mode_reason = Some(reason.describe());
                if mode != Mode::P2p {
                    self.array_link.stop();
                    self.array = None;
                    self.peers.clear();
                }
            }
            Event::Done { sha256, verified } => {
                {
                    let mut s = self.shared.borrow_mut();
                    s.sha256 = Some(hex::encode(sha256));
                    s.verified = verified;
                }
                self.engine_done = true;
                self.maybe_verify();
            }
            Event::FileHashMismatch => {
                let _ = self.tx.unbounded_send(Ev::Verified(Err(
                    "the file does not match its SHA-256".into(),
                )));
            }
            Event::StoreFailed { piece } => {
                let why = self
                    .store_error
                    .take()
                    .unwrap_or_else(|| format!("storing piece {piece} failed"));
                let _ = self.tx.unbounded_send(Ev::Verified(Err(why)));
            }
        }
    }

    /// Once the engine is done (every piece verified and stored): the `File`.
    pub(super) fn maybe_verify(&mut self) {
        if !self.engine_done || self.verifying {
            return;
        }
        self.verifying = true;
        self.shared.borrow_mut().phase = Phase::Verifying;
        let store = self.store.clone();
        let name = self.file_name.clone();
        let tx = self.tx.clone();
        let policy = self.cache_policy;
        spawn_local(async move {
            let result = store.to_file(&name).await.map_err(|e| e.to_string());
            if result.is_ok() {
                // Before the caller has its File: from now on the item is
                // complete in the cache, and the cache within its limits.
                super::policies::cache_completed(&store, &policy).await;
            }
            let _ = tx.unbounded_send(Ev::Verified(result));
        });
    }
}
