//! The piece table: per-piece download state and availability (the
//! pickers over it are in [`picker`]).
//!
//! Piece states and transitions (one row per piece, indexed by piece number):
//!
//! ```text
//!            start(source)                 verified bytes
//!  Missing ───────────────▶ InFlight{s} ─────────────────▶ Verified (final)
//!     ▲                      │    ▲  │
//!     │  last attempt ends   │    │  │ endgame: start(second source)
//!     └──────────────────────┘    └──┘ (at most 2 attempts, distinct sources)
//! ```
//!
//! An attempt ends (without verifying) when its bytes fail SHA-256, the
//! source rejects or stalls, the peer disconnects or is banned, or the HTTP
//! request fails. A piece whose only attempt is with a peer too slow to count
//! on (the drip defence, `swarm::download`) may take a second attempt
//! from another source before the endgame. Each attempt has exactly one source and its own buffer, so a
//! bad piece is always blamed on exactly one peer. `Verified` is final: a
//! verified piece is stored, announced and served, never fetched again.
//!
//! Invariants: `missing`/`in_flight`/`verified` count the rows in each state;
//! `availability[i]` is the number of connected peers (past their bitfield)
//! that announced piece `i`. Rows are indexed by [`PieceIndex`] only, which
//! the caller obtained from the same metadata (`Metadata::piece` validates a
//! peer's number once, at the wire boundary), so no index is out of range.

use edgeswarm_protocol::PieceIndex;

use crate::types::Source;

mod picker;

/// Most simultaneous attempts at one piece (2 = endgame duplicate).
pub const MAX_ATTEMPTS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceState {
    Missing,
    InFlight(Vec<Source>),
    Verified,
}

#[derive(Debug)]
pub struct PieceTable {
    states: Vec<PieceState>,
    /// Bit `i` set iff piece `i` is `Missing`, in the wire bitfield's layout
    /// (byte `i / 8`, mask `0x80 >> (i % 8)`), so the picker can AND it with
    /// a peer's bitfield a byte at a time.
    missing_bits: Vec<u8>,
    availability: Vec<u32>,
    missing: usize,
    in_flight: usize,
    verified: usize,
}

impl PieceTable {
    pub fn new(count: u32) -> Self {
        let mut missing_bits = vec![0xff; count.div_ceil(8) as usize];
        if let Some(last) = missing_bits.last_mut().filter(|_| !count.is_multiple_of(8)) {
            *last = 0xff << (8 - count % 8);
        }
        Self {
            states: vec![PieceState::Missing; count as usize],
            missing_bits,
            availability: vec![0; count as usize],
            missing: count as usize,
            in_flight: 0,
            verified: 0,
        }
    }

    pub fn len(&self) -> u32 {
        // Built from a u32 count.
        self.states.len() as u32
    }

    pub fn is_verified(&self, p: PieceIndex) -> bool {
        matches!(self.states.get(p.as_usize()), Some(PieceState::Verified))
    }

    pub fn is_missing(&self, p: PieceIndex) -> bool {
        matches!(self.states.get(p.as_usize()), Some(PieceState::Missing))
    }

    pub fn missing(&self) -> usize {
        self.missing
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    #[cfg(test)]
    pub fn verified(&self) -> usize {
        self.verified
    }

    pub fn all_verified(&self) -> bool {
        self.verified == self.states.len()
    }

    pub fn add_availability(&mut self, p: PieceIndex) {
        if let Some(a) = self.availability.get_mut(p.as_usize()) {
            *a += 1;
        }
    }

    pub fn remove_availability(&mut self, p: PieceIndex) {
        if let Some(a) = self.availability.get_mut(p.as_usize()) {
            *a = a.saturating_sub(1);
        }
    }

    /// Missing → InFlight, or adds an endgame attempt. False (and no change)
    /// when the piece is verified, has `MAX_ATTEMPTS`, or already has `source`.
    pub fn start(&mut self, p: PieceIndex, source: Source) -> bool {
        let Some(state) = self.states.get_mut(p.as_usize()) else {
            return false;
        };
        match state {
            PieceState::Missing => {
                *state = PieceState::InFlight(vec![source]);
                self.missing -= 1;
                self.in_flight += 1;
                self.mark_missing(p, false);
                true
            }
            PieceState::InFlight(v) if v.len() < MAX_ATTEMPTS && !v.contains(&source) => {
                v.push(source);
                true
            }
            _ => false,
        }
    }

    /// Ends the attempt of `source` at `p` without verifying it.
    pub fn end_attempt(&mut self, p: PieceIndex, source: Source) {
        let Some(state) = self.states.get_mut(p.as_usize()) else {
            return;
        };
        if let PieceState::InFlight(v) = state {
            v.retain(|s| *s != source);
            if v.is_empty() {
                *state = PieceState::Missing;
                self.in_flight -= 1;
                self.missing += 1;
                self.mark_missing(p, true);
            }
        }
    }

    fn mark_missing(&mut self, p: PieceIndex, missing: bool) {
        let i = p.as_usize();
        if let Some(b) = self.missing_bits.get_mut(i / 8) {
            let mask = 0x80u8 >> (i % 8);
            *b = if missing { *b | mask } else { *b & !mask };
        }
    }

    /// InFlight → Verified. Returns the other attempts (to cancel), or `None`
    /// when the piece was not in flight (already verified: ignore the bytes).
    pub fn set_verified(&mut self, p: PieceIndex, source: Source) -> Option<Vec<Source>> {
        let state = self.states.get_mut(p.as_usize())?;
        let PieceState::InFlight(v) = state else {
            return None;
        };
        let others = v.iter().copied().filter(|s| *s != source).collect();
        *state = PieceState::Verified;
        self.in_flight -= 1;
        self.verified += 1;
        Some(others)
    }

    /// A piece is verified without a download (the local cache held it):
    /// the sources of its attempts in flight, or None if it was verified.
    pub fn set_cached(&mut self, p: PieceIndex) -> Option<Vec<Source>> {
        let state = self.states.get_mut(p.as_usize())?;
        let attempts = match std::mem::replace(state, PieceState::Verified) {
            PieceState::Missing => {
                self.missing -= 1;
                self.mark_missing(p, false);
                Vec::new()
            }
            PieceState::InFlight(v) => {
                self.in_flight -= 1;
                v
            }
            PieceState::Verified => return None,
        };
        self.verified += 1;
        Some(attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PeerKey;
    use edgeswarm_protocol::Metadata;

    pub(super) fn meta(pieces: u32) -> Metadata {
        let size = u64::from(pieces) * 16384;
        let id = edgeswarm_protocol::ContentId::new("t").unwrap();
        let piece = edgeswarm_protocol::PieceSize::new(16384).unwrap();
        Metadata::new(id, piece, size, [0; 32], vec![[0; 32]; pieces as usize]).unwrap()
    }

    #[test]
    fn transitions_keep_counts() {
        let m = meta(3);
        let p = |i| m.piece(i).unwrap();
        let mut t = PieceTable::new(3);
        let a = Source::Peer(PeerKey(1));
        assert!(t.start(p(0), a));
        assert!(!t.start(p(0), a));
        assert!(t.start(p(0), Source::Http));
        assert!(
            !t.start(p(0), Source::Peer(PeerKey(2))),
            "at most two attempts"
        );
        t.end_attempt(p(0), Source::Http);
        assert_eq!((t.missing(), t.in_flight()), (2, 1));
        assert_eq!(t.set_verified(p(0), a), Some(vec![]));
        assert_eq!(t.set_verified(p(0), a), None);
        assert!(!t.start(p(0), Source::Http), "verified is final");
        assert!(t.start(p(1), a));
        t.end_attempt(p(1), a);
        assert_eq!((t.missing(), t.in_flight(), t.verified()), (2, 0, 1));
    }

    #[test]
    fn an_index_of_larger_metadata_changes_nothing() {
        let big = meta(8);
        let mut t = PieceTable::new(3);
        let foreign = big.piece(7).unwrap();
        assert!(!t.start(foreign, Source::Http));
        t.add_availability(foreign);
        t.end_attempt(foreign, Source::Http);
        assert_eq!(t.set_verified(foreign, Source::Http), None);
        assert!(!t.is_verified(foreign));
        assert_eq!((t.missing(), t.in_flight(), t.verified()), (3, 0, 0));
    }
}
