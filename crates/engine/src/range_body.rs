//! Pieces out of a streamed HTTP range body.
//!
//! One range request covers consecutive pieces from a piece boundary:
//! `total` bytes, `piece_size` each (the range's last piece may be shorter,
//! at the end of the file). The body arrives in chunks of any size
//! ([`RangeBody::feed`]); each piece is handed out the moment its last byte
//! is in, so a request buffers at most one piece, never the whole range.
//!
//! States: Streaming (`received < total`) → Complete (`received == total`).
//! A body that ends early (the glue's `HttpEnd` before Complete, or a
//! failure) loses only the pieces not yet handed out.
//!
//! Invariants:
//! - `received <= total`: a chunk that would pass `total` is refused
//!   ([`TooLong`]) before a byte of it is copied or any memory reserved;
//! - `buf` holds only bytes of piece `received / piece_size` (so at most
//!   `piece_size` bytes, bounded by the protocol's `MAX_PIECE_SIZE` through
//!   the verified metadata or simple mode's chunk size);
//! - bytes of a piece the caller no longer wants (`keep` false) are counted
//!   and dropped, not kept.

use std::ops::Range;

use edgeswarm_protocol::ids::MAX_PIECE_SIZE;

/// A chunk would make the body longer than the range asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body is longer than the requested range")]
pub(crate) struct TooLong;

/// What one chunk did.
#[derive(Debug, Default)]
pub(crate) struct Fed {
    /// Pieces (index in the range) whose first byte was in this chunk.
    pub started: Range<usize>,
    /// Pieces (index in the range, bytes) whose last byte was in this chunk
    /// and that the caller still wanted.
    pub done: Vec<(usize, Vec<u8>)>,
}

/// The assembly state of one range request's body.
#[derive(Debug)]
pub(crate) struct RangeBody {
    piece_size: u64,
    total: u64,
    received: u64,
    buf: Vec<u8>,
}

impl RangeBody {
    /// A body of `total` bytes cut into pieces of `piece_size` (≥ 1).
    pub fn new(piece_size: u64, total: u64) -> Self {
        Self {
            piece_size: piece_size.max(1),
            total,
            received: 0,
            buf: Vec::new(),
        }
    }

    fn piece_len(&self, i: u64) -> u64 {
        (self.total - i * self.piece_size).min(self.piece_size)
    }

    /// Bytes of the range not received yet.
    pub fn left(&self) -> u64 {
        self.total.saturating_sub(self.received)
    }

    pub fn is_complete(&self) -> bool {
        self.received == self.total
    }

    /// Takes the next `chunk` of the body; `keep(i)` says whether piece `i`
    /// of the range is still wanted.
    pub fn feed(&mut self, chunk: Vec<u8>, keep: impl Fn(usize) -> bool) -> Result<Fed, TooLong> {
        let len = chunk.len() as u64;
        if len > self.total - self.received {
            return Err(TooLong);
        }
        let ps = self.piece_size;
        let started =
            self.received.div_ceil(ps) as usize..(self.received + len).div_ceil(ps) as usize;
        let mut fed = Fed {
            started,
            done: Vec::new(),
        };
        // A chunk that is exactly one whole piece moves without a copy.
        let i = self.received / ps;
        if self.received.is_multiple_of(ps) && len > 0 && len == self.piece_len(i) {
            self.received += len;
            if keep(i as usize) {
                fed.done.push((i as usize, chunk));
            }
            return Ok(fed);
        }
        let mut at = 0usize;
        while at < chunk.len() {
            let i = self.received / ps;
            let plen = self.piece_len(i);
            let into = self.received - i * ps;
            // `take` ≤ what is left of the chunk, so it fits a usize.
            let take = (plen - into).min((chunk.len() - at) as u64) as usize;
            let wanted = keep(i as usize);
            if wanted {
                if self.buf.capacity() == 0 {
                    // plen ≤ piece_size (the layout's); the first guess is
                    // capped at the protocol's largest piece all the same.
                    self.buf
                        .reserve_exact(plen.min(u64::from(MAX_PIECE_SIZE)) as usize);
                }
                self.buf.extend_from_slice(&chunk[at..at + take]);
            }
            at += take;
            self.received += take as u64;
            if into + take as u64 == plen {
                let bytes = std::mem::take(&mut self.buf);
                if wanted {
                    fed.done.push((i as usize, bytes));
                }
            }
        }
        Ok(fed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_come_out_whole_whatever_the_chunking() {
        let body: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        for chunk in [1, 7, 999, 1000, 1001, 2500] {
            let mut r = RangeBody::new(1000, 2500);
            let mut out = Vec::new();
            for c in body.chunks(chunk) {
                out.extend(r.feed(c.to_vec(), |_| true).unwrap().done);
            }
            assert!(r.is_complete());
            let idx: Vec<usize> = out.iter().map(|(i, _)| *i).collect();
            assert_eq!(idx, vec![0, 1, 2], "chunk {chunk}");
            assert_eq!(out.concat_bytes(), body, "chunk {chunk}");
        }
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Vec<(usize, Vec<u8>)> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|(_, b)| b.iter().copied()).collect()
        }
    }

    #[test]
    fn a_longer_body_is_refused_before_anything_is_kept() {
        let mut r = RangeBody::new(10, 25);
        r.feed(vec![0; 20], |_| true).unwrap();
        assert_eq!(r.feed(vec![0; 6], |_| true).unwrap_err(), TooLong);
        assert!(
            r.buf.capacity() == 0,
            "nothing reserved for the refused chunk"
        );
        assert_eq!(r.feed(vec![0; 5], |_| true).unwrap().done.len(), 1);
        assert!(r.is_complete());
    }

    #[test]
    fn unwanted_pieces_are_counted_not_kept_and_first_bytes_are_reported() {
        let mut r = RangeBody::new(10, 30);
        let fed = r.feed(vec![1; 15], |i| i != 0).unwrap();
        assert_eq!(fed.started, 0..2);
        assert!(fed.done.is_empty());
        assert_eq!(r.buf.len(), 5, "only piece 1's bytes are held");
        let fed = r.feed(vec![2; 5], |i| i != 0).unwrap();
        assert_eq!(fed.started, 2..2);
        assert_eq!(fed.done.len(), 1);
        assert!(!r.is_complete());
    }
}
