//! Reacting to engine [`Event`]s: the piece map, per-peer counters, bans,
//! mode changes, and the whole-file check once the engine is done.

use edgeswarm_engine::{Event, Mode, Source};
use wasm_bindgen_futures::spawn_local;

use super::{Ev, Session};
use crate::stats::{Phase, PIECE_HTTP, PIECE_PEER};

impl Session {
    pub(super) fn on_event_output(&mut self, e: Event) {
        match e {
            Event::PieceVerified { piece, source } => {
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
                if s.mode_reason.is_none() {
                    s.mode_reason = Some(format!("{reason:?}"));
                }
                if mode != Mode::P2p {
                    self.array_link.stop();
                    self.array = None;
                    self.peers.clear();
                }
            }
            Event::Done => {
                self.engine_done = true;
                self.maybe_verify();
            }
            Event::FileHashMismatch => {
                let _ = self.tx.unbounded_send(Ev::Verified(Err(
                    "the file does not match its SHA-256".into(),
                )));
            }
        }
    }

    /// Once the engine is done and every write landed: hash the stored file.
    pub(super) fn maybe_verify(&mut self) {
        if !self.engine_done || self.writes_in_flight > 0 || self.verifying {
            return;
        }
        self.verifying = true;
        self.shared.borrow_mut().phase = Phase::Verifying;
        let store = self.store.clone();
        let expected = self.expected_sha256;
        let name = self.file_name.clone();
        let tx = self.tx.clone();
        let shared = self.shared.clone();
        spawn_local(async move {
            let result = async {
                let got = store.sha256().await.map_err(|e| e.to_string())?;
                shared.borrow_mut().sha256 = Some(hex::encode(got));
                if let Some(want) = expected {
                    if want != got {
                        return Err(format!(
                            "whole-file SHA-256 mismatch: expected {}, got {}",
                            hex::encode(want),
                            hex::encode(got)
                        ));
                    }
                    shared.borrow_mut().verified = true;
                }
                store.to_file(&name).await.map_err(|e| e.to_string())
            }
            .await;
            let _ = tx.unbounded_send(Ev::Verified(result));
        });
    }
}
