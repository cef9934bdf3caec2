//! A piece whose bytes are all in: verified against the metadata's
//! SHA-256, then stored, announced and counted — or discarded, and its
//! source struck (a peer) or backed off (the CDN).
//!
//! Where the hash is computed (`EngineConfig::hash_outside`):
//!
//! ```text
//!  complete ──inline (default)──────────────────────────────▶ checked
//!     │                                                          ▲
//!     └─hash_outside: Output::HashPiece{job}──▶ hashing ──Input::PieceHashed{job}
//! ```
//!
//! Invariants: the engine compares every digest with the metadata's itself
//! (the glue only computes it); while a piece is hashing it stays in flight
//! from its source (not asked of that source again, not verified; the
//! endgame may ask another); an answer for an unknown job is ignored; a
//! piece verified meanwhile from another source is not verified twice, but a
//! wrong digest still strikes its sender. Bytes being hashed count against
//! `max_unstored_bytes` (the store gate) until their answer, so a slow
//! hasher holds new requests back instead of piling pieces up.

use std::collections::BTreeMap;
use std::sync::Arc;

use edgeswarm_protocol::wire::Message;
use edgeswarm_protocol::{sha256, PieceIndex};

use super::Swarm;
use crate::types::{BanReason, Event, HashJob, Output, PeerKey, Source};

/// Pieces whose hash the glue is computing.
#[derive(Debug, Default)]
pub(super) struct Hashing {
    next: u64,
    jobs: BTreeMap<HashJob, (PieceIndex, Source, Arc<[u8]>)>,
}

impl Swarm {
    /// All bytes of piece `p` from `source` are in. A piece received from a
    /// peer arrives as the `Arc` it was put together in (never copied again).
    pub(super) fn piece_complete<B>(&mut self, p: PieceIndex, source: Source, bytes: B)
    where
        B: AsRef<[u8]> + Into<Arc<[u8]>>,
    {
        if self.pieces.is_verified(p) {
            return;
        }
        if !self.cfg.hash_outside {
            let sha = sha256(bytes.as_ref());
            return self.piece_checked(p, source, bytes, &sha);
        }
        let job = HashJob(self.hashing.next);
        self.hashing.next += 1;
        let bytes: Arc<[u8]> = bytes.into();
        self.store.hashing_started(bytes.len() as u64);
        self.hashing.jobs.insert(job, (p, source, bytes.clone()));
        let piece = p.get();
        self.out.push_back(Output::HashPiece { job, piece, bytes });
    }

    /// `Input::PieceHashed`.
    pub(super) fn on_hashed(&mut self, job: HashJob, sha: &[u8; 32]) {
        if let Some((p, source, bytes)) = self.hashing.jobs.remove(&job) {
            self.store.hashing_ended(bytes.len() as u64);
            self.piece_checked(p, source, bytes, sha);
        }
    }

    /// The piece's bytes hash to `sha`: store, announce and count it if that
    /// is the metadata's hash (and the length is right) and it is not
    /// verified yet, else discard it (striking its source if it was wrong).
    fn piece_checked<B>(&mut self, p: PieceIndex, source: Source, bytes: B, sha: &[u8; 32])
    where
        B: AsRef<[u8]> + Into<Arc<[u8]>>,
    {
        self.all_dirty = true;
        let piece = p.get();
        if !self.meta.piece_matches(p, bytes.as_ref().len(), sha) {
            self.pieces.end_attempt(p, source);
            self.stats.pieces_rejected += 1;
            self.event(Event::PieceRejected { piece, source });
            match source {
                Source::Peer(k) => {
                    if let Some(peer) = self.peers.get_mut(&k) {
                        peer.given_up.insert(p);
                    }
                    self.strike(k, BanReason::BadPieces);
                }
                Source::Http => {
                    self.http_failure();
                    if self.pieces.is_missing(p) {
                        // Fetch it again, in order (HTTP-only mode).
                        self.http.scan_from = self.http.scan_from.min(piece);
                    }
                }
            }
            return;
        }
        if self.pieces.is_verified(p) {
            return;
        }
        let Some(others) = self.pieces.set_verified(p, source) else {
            return;
        };
        for other in others {
            match other {
                Source::Peer(k) => {
                    if let Some(peer) = self.peers.get_mut(&k) {
                        peer.downloads.remove(&p);
                        peer.given_up.insert(p);
                        self.send(k, &Message::Cancel { piece });
                    }
                }
                Source::Http => self.http.abandon_piece(p),
            }
        }
        if source == Source::Http {
            self.http.verified += 1;
        }
        let bytes: Arc<[u8]> = bytes.into();
        let len = bytes.len() as u64;
        self.stats.pieces_verified += 1;
        self.stats.bytes_left = self.stats.bytes_left.saturating_sub(len);
        self.store.handed(piece, len);
        self.out.push_back(Output::StorePiece {
            piece,
            offset: self.meta.piece_offset(p),
            bytes: bytes.clone(),
        });
        self.upload.cache_insert(p, bytes);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            self.send(k, &Message::Have { piece });
        }
        self.event(Event::PieceVerified { piece, source });
        self.finish();
    }
}
