//! Our whole-piece requests to one peer and the bytes received for each.
//!
//! Invariants: `Downloads::oldest` is always the earliest `since` of the
//! requests held (kept on every insert and removal, so the stall check and
//! the timer deadline need not walk the requests on every input); a
//! request's `since` never changes after it is made. A piece buffer holds at
//! most the piece's length, and about the bytes received (see [`PieceBuf`]).

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

/// The bytes of one piece being received, held as they arrive and put
/// together into the `Arc<[u8]>` that is then verified, stored, cached and
/// served once the last block is in (one copy per piece).
///
/// Memory follows the bytes received, not the piece's length: a request
/// whose uploader serves many requesters in turn gets its blocks slowly, and
/// a page (or a simulated swarm of 300) holds many such requests at once.
/// Blocks are copied into chunks of at most [`CHUNK`] bytes, each growing
/// with the bytes received (one exact allocation for a whole 64 KiB block),
/// so a chunk holds at most twice its bytes and tiny blocks cannot inflate
/// memory either. Before, the whole piece (up to 16 MiB) was allocated at
/// its first byte: a peer could make a page hold 16 MiB per request for one
/// byte each, and `simulate --peers 300 --file-size 67108864` peaked at
/// 8.1 GB (docs/bench/engine.md, "Simulator memory: pieces grow with the
/// bytes received").
///
/// Invariants: `len <= total`, where `total` is the piece's length (a
/// bound the caller takes from the metadata, not from the wire) fixed by the
/// first push; chunk `i` holds bytes `i * CHUNK ..` and is full before chunk
/// `i + 1` exists; every chunk's capacity is at most its final length and at
/// most twice its bytes; nothing is allocated before the first byte.
#[derive(Debug, Default)]
pub struct PieceBuf {
    chunks: Vec<Vec<u8>>,
    len: usize,
    total: usize,
}

/// Bytes per chunk of a piece being received (one largest wire block).
pub const CHUNK: usize = edgeswarm_protocol::wire::MAX_BLOCK_LEN;

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
        if self.chunks.is_empty() {
            self.total = piece_len;
        }
        let Some(end) = self
            .len
            .checked_add(data.len())
            .filter(|e| *e <= self.total)
        else {
            return false;
        };
        // Chunk `i`'s final length (`i * CHUNK < total` for every chunk
        // made: one is made only while bytes below `end <= total` remain).
        let total = self.total;
        let final_len = |i: usize| CHUNK.min(total - i * CHUNK);
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.chunks.len();
            match self.chunks.last_mut() {
                Some(chunk) if chunk.len() < final_len(n - 1) => {
                    let room = final_len(n - 1);
                    let take = (room - chunk.len()).min(rest.len());
                    // Grow with the bytes received (to at least double,
                    // never past the chunk's length): capacity stays at most
                    // twice the bytes held, so a peer that sends the first
                    // byte of every requested piece gets about twice what it
                    // sent (plus ~100 B of bookkeeping per request). Relies
                    // on `reserve_exact` giving what it is asked, as std does.
                    if chunk.capacity() - chunk.len() < take {
                        let want = (chunk.len() + take).max(2 * chunk.capacity()).min(room);
                        chunk.reserve_exact(want - chunk.len());
                    }
                    chunk.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                }
                _ => self.chunks.push(Vec::new()),
            }
        }
        self.len = end;
        true
    }

    /// The piece, once every byte is in.
    pub fn complete(&self) -> bool {
        !self.chunks.is_empty() && self.len == self.total
    }

    /// The whole piece, once complete (`None` before).
    pub fn into_bytes(self) -> Option<Arc<[u8]>> {
        if !self.complete() {
            return None;
        }
        let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, self.total).collect();
        let dst = Arc::get_mut(&mut bytes)?;
        for (i, chunk) in self.chunks.iter().enumerate() {
            dst.get_mut(i * CHUNK..i * CHUNK + chunk.len())?
                .copy_from_slice(chunk);
        }
        Some(bytes)
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
    fn a_piece_is_put_together_and_never_overruns() {
        let mut b = PieceBuf::default();
        assert!(b.is_empty() && !b.complete());
        assert!(b.push(&[1, 2], 5));
        assert!(!b.push(&[9; 4], 5), "past the end");
        assert_eq!(b.len(), 2);
        assert!(b.push(&[3, 4, 5], 5));
        assert!(b.complete());
        assert_eq!(b.into_bytes().as_deref(), Some(&[1, 2, 3, 4, 5][..]));
        let mut partial = PieceBuf::default();
        assert!(partial.push(&[1], 5));
        assert_eq!(partial.into_bytes(), None, "incomplete");
    }

    proptest::proptest! {
        /// Any split of a piece into blocks (tiny ones, whole chunks, empty
        /// ones) gives back the piece, the buffer holds at most twice the
        /// bytes received, and a block running past the end changes nothing.
        #[test]
        fn blocks_of_any_size_give_back_the_piece(
            len in proptest::prop_oneof![1usize..200, 1usize..(3 * CHUNK + 100)],
            cuts in proptest::collection::vec(
                proptest::prop_oneof![0usize..=16, 1usize..(CHUNK + 7)],
                1..200,
            ),
        ) {
            let piece: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            let mut b = PieceBuf::default();
            let overrun = vec![0; len + 1];
            let mut at = 0;
            let mut was_empty = false;
            for cut in cuts.iter().cycle() {
                if at == len {
                    break;
                }
                // Cuts of 0 alone would never end: an empty block is
                // followed by at least one byte.
                let cut = if was_empty { (*cut).max(1) } else { *cut };
                was_empty = cut == 0;
                let end = (at + cut).min(len);
                proptest::prop_assert!(b.push(&piece[at..end], len));
                at = end;
                proptest::prop_assert!(!b.push(&overrun[..len - at + 1], len), "past the end");
                proptest::prop_assert_eq!(b.len(), at);
                proptest::prop_assert_eq!(b.chunks.len(), at.div_ceil(CHUNK));
                for (i, c) in b.chunks.iter().enumerate() {
                    proptest::prop_assert!(c.capacity() <= CHUNK.min(len - i * CHUNK));
                    proptest::prop_assert!(c.capacity() <= 2 * c.len(), "{} of {}", c.capacity(), c.len());
                }
            }
            proptest::prop_assert!(b.complete());
            proptest::prop_assert!(!b.push(&[0], len + 1), "past the end");
            let bytes = b.into_bytes();
            proptest::prop_assert_eq!(bytes.as_deref(), Some(&piece[..]));
        }
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
