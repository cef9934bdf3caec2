//! Our whole-piece requests to one peer and the bytes received for each.
//!
//! Invariants: `Downloads::oldest` is always the earliest `since` of the
//! requests held (kept on every insert and removal, so the stall check and
//! the timer deadline need not walk the requests on every input); a
//! request's `since` never changes after it is made. A piece buffer holds at
//! most the piece's length (see [`PieceBuf`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use edgeswarm_protocol::PieceIndex;

use crate::types::Millis;

/// One whole-piece request of ours to this peer.
#[derive(Debug)]
pub struct Download {
    /// The bytes received so far (blocks arrive in offset order).
    pub buf: PieceBuf,
    /// When we sent the request.
    pub since: Millis,
}

/// The bytes of one piece being received, written in place into the
/// `Arc<[u8]>` that is then verified, stored, cached and served: a complete
/// piece is never copied again.
///
/// Invariants: nothing is allocated before the first block; then exactly
/// the piece's length (a bound the caller takes from the metadata, not from
/// the wire), and `len <= ` that length. The `Arc` is never cloned before the
/// piece is complete, so it is always uniquely owned while it is written.
#[derive(Debug, Default)]
pub struct PieceBuf {
    bytes: Option<Arc<[u8]>>,
    len: usize,
}

impl PieceBuf {
    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `data` to a piece of `piece_len` bytes; false (and no
    /// change) when it would run past the end.
    pub fn push(&mut self, data: &[u8], piece_len: usize) -> bool {
        let Some(end) = self.len.checked_add(data.len()).filter(|e| *e <= piece_len) else {
            return false;
        };
        let bytes = self
            .bytes
            .get_or_insert_with(|| std::iter::repeat_n(0u8, piece_len).collect());
        let Some(dst) = Arc::get_mut(bytes).and_then(|b| b.get_mut(self.len..end)) else {
            return false;
        };
        dst.copy_from_slice(data);
        self.len = end;
        true
    }

    /// The piece, once every byte is in.
    pub fn complete(&self) -> bool {
        self.bytes.as_ref().is_some_and(|b| b.len() == self.len)
    }

    /// The bytes (`None` before the first block).
    pub fn into_bytes(self) -> Option<Arc<[u8]>> {
        self.bytes
    }
}

/// The requests in flight to one peer, by piece, with the time of the
/// oldest one.
#[derive(Debug, Default)]
pub struct Downloads {
    map: BTreeMap<PieceIndex, Download>,
    oldest: Option<Millis>,
}

impl Downloads {
    pub fn insert(&mut self, p: PieceIndex, since: Millis) {
        let old = self.map.insert(
            p,
            Download {
                buf: PieceBuf::default(),
                since,
            },
        );
        self.oldest = match old {
            // A replaced request (not made by the engine today): recount.
            Some(_) => self.map.values().map(|d| d.since).min(),
            None => Some(self.oldest.map_or(since, |o| o.min(since))),
        };
    }

    pub fn remove(&mut self, p: &PieceIndex) -> Option<Download> {
        let d = self.map.remove(p)?;
        self.removed(d.since);
        Some(d)
    }

    fn removed(&mut self, since: Millis) {
        if self.oldest.is_none_or(|o| since <= o) {
            self.oldest = self.map.values().map(|d| d.since).min();
        }
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.oldest = None;
    }

    /// When the oldest request went out (None: no request in flight).
    pub fn oldest(&self) -> Option<Millis> {
        self.oldest
    }

    /// The receive buffer of the request for `p`.
    pub fn buf_mut(&mut self, p: &PieceIndex) -> Option<&mut PieceBuf> {
        self.map.get_mut(p).map(|d| &mut d.buf)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &PieceIndex> {
        self.map.keys()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PieceIndex, &Download)> {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_is_built_in_place_and_never_overruns() {
        let mut b = PieceBuf::default();
        assert!(b.is_empty() && !b.complete());
        assert!(b.push(&[1, 2], 5));
        assert!(!b.push(&[9; 4], 5), "past the end");
        assert_eq!(b.len(), 2);
        assert!(b.push(&[3, 4, 5], 5));
        assert!(b.complete());
        assert_eq!(b.into_bytes().as_deref(), Some(&[1, 2, 3, 4, 5][..]));
    }

    #[test]
    fn the_oldest_request_is_kept_through_inserts_and_removals() {
        let meta = {
            let id = edgeswarm_protocol::ContentId::new("x").unwrap();
            let size = edgeswarm_protocol::PieceSize::new(16384).unwrap();
            edgeswarm_protocol::Metadata::new(id, size, 4 * 16384, [0; 32], vec![[0; 32]; 4])
                .unwrap()
        };
        let p = |i| meta.piece(i).unwrap();
        let mut d = Downloads::default();
        assert_eq!(d.oldest(), None);
        d.insert(p(0), Millis(5));
        d.insert(p(1), Millis(3));
        d.insert(p(2), Millis(9));
        assert_eq!(d.oldest(), Some(Millis(3)));
        d.remove(&p(1));
        assert_eq!(d.oldest(), Some(Millis(5)));
        d.insert(p(0), Millis(7)); // replaces the request made at 5
        assert_eq!(d.oldest(), Some(Millis(7)));
        d.insert(p(2), Millis(1)); // replaces the one made at 9
        assert_eq!(d.oldest(), Some(Millis(1)));
        d.insert(p(2), Millis(9));
        d.remove(&p(3));
        assert_eq!(d.oldest(), Some(Millis(7)));
        d.remove(&p(0));
        d.remove(&p(2));
        assert_eq!((d.oldest(), d.len()), (None, 0));
        d.insert(p(3), Millis(1));
        d.clear();
        assert_eq!(d.oldest(), None);
    }
}
