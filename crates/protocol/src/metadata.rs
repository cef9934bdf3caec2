//! Content metadata file, format v1 (normative table in docs/format.md).
//!
//! Layout, all integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `ESWMETA1` |
//! | 8 | 2 | hash algorithm, 1 = SHA-256 |
//! | 10 | 2 | reserved, 0 |
//! | 12 | 4 | piece size (power of two, 16 KiB..=16 MiB) |
//! | 16 | 8 | file size |
//! | 24 | 32 | SHA-256 of the whole file |
//! | 56 | 2 | L, content id length, 1..=255 |
//! | 58 | L | content id `[A-Za-z0-9._-]` |
//! | 58+L | 4 | N = ceil(file size / piece size) |
//! | 62+L | 32·N | SHA-256 of each piece |
//!
//! Nothing follows the last hash. An empty file (file size 0) has N = 0.
//!
//! Invariants of a [`Metadata`] value: its piece size is valid, its content id
//! is valid, and `piece_hashes.len() == ceil(file_size / piece_size)` which
//! fits in a u32. [`Metadata::decode`] (in `codec`) establishes them for
//! untrusted bytes and never panics; [`MetadataBuilder`] (in `builder`)
//! establishes them for a file it hashes in one streaming pass.

use sha2::{Digest, Sha256};

use crate::ids::{ContentId, PieceSize};

mod builder;
mod codec;
mod error;

pub use builder::{FileHasher, MetadataBuilder, PieceHasher, READ_BUFFER_LEN};
pub use error::MetadataError;

/// A SHA-256 digest.
pub type Sha256Digest = [u8; 32];

/// The file's first eight bytes.
pub const MAGIC: &[u8; 8] = b"ESWMETA1";
/// Hash algorithm code for SHA-256, the only one defined.
pub const HASH_ALGORITHM_SHA256: u16 = 1;
/// Size of the fixed header before the content id.
const FIXED_HEADER_LEN: usize = 58;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

/// Lowercase hex SHA-256 of `bytes`, the form the content policy service uses.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// Parses 64 hex characters (either case, surrounding whitespace ignored)
/// into a digest; `None` for anything else.
pub fn parse_sha256_hex(s: &str) -> Option<Sha256Digest> {
    hex::decode(s.trim()).ok()?.try_into().ok()
}

/// A piece index that was checked against the piece count of a [`Metadata`].
/// Only [`Metadata::piece`] and [`Metadata::pieces`] create one, so untrusted
/// numbers never reach indexing code unchecked.
///
/// An index is meant for the metadata that created it (or an equal one); the
/// accessors taking one do not panic on a foreign index but answer as for a
/// piece past the end (length 0, no hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PieceIndex(u32);

impl PieceIndex {
    pub fn get(self) -> u32 {
        self.0
    }

    /// As a `usize`, for indexing per-piece tables sized by the piece count.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for PieceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Parsed, validated content metadata (see the module docs for invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    content_id: ContentId,
    piece_size: PieceSize,
    file_size: u64,
    file_sha256: Sha256Digest,
    piece_hashes: Vec<Sha256Digest>,
}

/// The all-zero digest, answered for a piece index the metadata does not have.
const NO_HASH: Sha256Digest = [0; 32];

impl Metadata {
    /// Builds metadata from parts, checking that the piece count matches.
    pub fn new(
        content_id: ContentId,
        piece_size: PieceSize,
        file_size: u64,
        file_sha256: Sha256Digest,
        piece_hashes: Vec<Sha256Digest>,
    ) -> Result<Self, MetadataError> {
        let expected = piece_size.piece_count(file_size);
        let found = piece_hashes.len() as u64;
        if expected.map(u64::from) != Some(found) {
            return Err(MetadataError::PieceCountMismatch {
                found,
                expected,
                file_size,
                piece_size: piece_size.get(),
            });
        }
        Ok(Self {
            content_id,
            piece_size,
            file_size,
            file_sha256,
            piece_hashes,
        })
    }

    pub fn content_id(&self) -> &ContentId {
        &self.content_id
    }
    pub fn piece_size(&self) -> PieceSize {
        self.piece_size
    }
    pub fn file_size(&self) -> u64 {
        self.file_size
    }
    pub fn file_sha256(&self) -> &Sha256Digest {
        &self.file_sha256
    }
    pub fn piece_hashes(&self) -> &[Sha256Digest] {
        &self.piece_hashes
    }

    /// Number of pieces (fits in u32 by the type's invariant).
    pub fn piece_count(&self) -> u32 {
        self.piece_hashes.len() as u32
    }

    /// Validates an untrusted piece number against this metadata.
    pub fn piece(&self, index: u32) -> Option<PieceIndex> {
        (index < self.piece_count()).then_some(PieceIndex(index))
    }

    /// Every piece index, in order.
    pub fn pieces(&self) -> impl Iterator<Item = PieceIndex> + use<> {
        (0..self.piece_count()).map(PieceIndex)
    }

    /// The piece holding byte `offset` of the file, if the file has that byte.
    pub fn piece_at(&self, offset: u64) -> Option<PieceIndex> {
        if offset >= self.file_size {
            return None;
        }
        // offset < file_size, so the quotient is < piece_count, a u32.
        Some(PieceIndex(
            (offset / u64::from(self.piece_size.get())) as u32,
        ))
    }

    /// Byte offset of a piece in the file.
    pub fn piece_offset(&self, index: PieceIndex) -> u64 {
        u64::from(index.0) * u64::from(self.piece_size.get())
    }

    /// The byte range `[start, end)` a piece covers in the file.
    pub fn piece_range(&self, index: PieceIndex) -> std::ops::Range<u64> {
        let start = self.piece_offset(index);
        start..start + u64::from(self.piece_len(index))
    }

    /// Length of a piece in bytes: the piece size, except for a shorter last piece.
    pub fn piece_len(&self, index: PieceIndex) -> u32 {
        let remaining = self.file_size.saturating_sub(self.piece_offset(index));
        // min() with a u32 fits a u32.
        remaining.min(u64::from(self.piece_size.get())) as u32
    }

    /// The expected SHA-256 of a piece.
    pub fn piece_hash(&self, index: PieceIndex) -> &Sha256Digest {
        self.piece_hashes.get(index.as_usize()).unwrap_or(&NO_HASH)
    }

    /// True when `bytes` are exactly the piece `index` (length and SHA-256).
    pub fn verify_piece(&self, index: PieceIndex, bytes: &[u8]) -> bool {
        self.piece_matches(index, bytes.len(), &sha256(bytes))
    }

    /// True when bytes of length `len` whose SHA-256 is `digest` are exactly
    /// the piece `index` (for a digest computed elsewhere).
    pub fn piece_matches(&self, index: PieceIndex, len: usize, digest: &Sha256Digest) -> bool {
        self.piece_hashes.get(index.as_usize()) == Some(digest)
            && len == self.piece_len(index) as usize
    }
}

#[cfg(test)]
mod tests;
