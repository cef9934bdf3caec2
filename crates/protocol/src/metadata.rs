//! Content metadata file, format v1 (normative table in ARCHITECTURE.md).
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
//! Invariants of a [`Metadata`] value: its piece size is valid, its content id
//! is valid, and `piece_hashes.len() == ceil(file_size / piece_size)` which
//! fits in a u32. [`Metadata::decode`] establishes them for untrusted bytes and
//! never panics; [`MetadataBuilder`] establishes them for a file it hashes in
//! one streaming pass.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::ids::{ContentId, ContentIdError, MAX_CONTENT_ID_LEN, PieceSize, PieceSizeError};

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

/// Why bytes are not a valid metadata file. Offsets are byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    #[error("truncated metadata: needed {needed} bytes for the {field}, only {available} present")]
    Truncated {
        field: &'static str,
        needed: u64,
        available: usize,
    },
    #[error("bad magic: expected \"ESWMETA1\", found {found:02x?}")]
    BadMagic { found: [u8; 8] },
    #[error("unknown hash algorithm {0} (only 1 = SHA-256 is defined)")]
    UnknownHashAlgorithm(u16),
    #[error("reserved field is {0}, must be 0")]
    ReservedNotZero(u16),
    #[error("bad piece size: {0}")]
    BadPieceSize(#[from] PieceSizeError),
    #[error("content id length {0} is outside 1..=255")]
    ContentIdLength(u16),
    #[error("content id is not UTF-8")]
    ContentIdNotUtf8,
    #[error("bad content id: {0}")]
    BadContentId(#[from] ContentIdError),
    #[error("piece count {found} does not match file size {file_size} / piece size {piece_size} (expected {expected:?})")]
    PieceCountMismatch {
        found: u32,
        expected: Option<u32>,
        file_size: u64,
        piece_size: u32,
    },
    #[error("{0} trailing bytes after the last piece hash")]
    TrailingBytes(usize),
}

/// A piece index that is known to be `< piece_count` of the [`Metadata`] it
/// came from. Only [`Metadata::piece`] and [`Metadata::pieces`] create one, so
/// untrusted numbers never reach indexing code unchecked.
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
        let found = u32::try_from(piece_hashes.len()).unwrap_or(u32::MAX);
        if expected != Some(found) || piece_hashes.len() > u32::MAX as usize {
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

    /// Byte offset of a piece in the file.
    pub fn piece_offset(&self, index: PieceIndex) -> u64 {
        u64::from(index.0) * u64::from(self.piece_size.get())
    }

    /// Length of a piece in bytes: the piece size, except for a shorter last piece.
    pub fn piece_len(&self, index: PieceIndex) -> u32 {
        let remaining = self.file_size - self.piece_offset(index);
        // remaining > 0 for a valid index, and min() with a u32 fits a u32.
        remaining.min(u64::from(self.piece_size.get())) as u32
    }

    /// The expected SHA-256 of a piece.
    pub fn piece_hash(&self, index: PieceIndex) -> &Sha256Digest {
        &self.piece_hashes[index.as_usize()]
    }

    /// True when `bytes` are exactly the piece `index` (length and SHA-256).
    pub fn verify_piece(&self, index: PieceIndex, bytes: &[u8]) -> bool {
        bytes.len() == self.piece_len(index) as usize && sha256(bytes) == *self.piece_hash(index)
    }

    /// Length of the encoded file.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN + self.content_id.as_str().len() + 4 + 32 * self.piece_hashes.len()
    }

    /// Serializes to format v1.
    pub fn encode(&self) -> Vec<u8> {
        let id = self.content_id.as_str().as_bytes();
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&HASH_ALGORITHM_SHA256.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.piece_size.get().to_le_bytes());
        out.extend_from_slice(&self.file_size.to_le_bytes());
        out.extend_from_slice(&self.file_sha256);
        // A ContentId is at most 255 bytes.
        out.extend_from_slice(&(id.len() as u16).to_le_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&self.piece_count().to_le_bytes());
        for h in &self.piece_hashes {
            out.extend_from_slice(h);
        }
        out
    }

    /// Parses untrusted bytes. Never panics; every malformed input is a typed error.
    pub fn decode(bytes: &[u8]) -> Result<Self, MetadataError> {
        let mut r = Reader { bytes, pos: 0 };
        let magic: [u8; 8] = r.array("magic")?;
        if &magic != MAGIC {
            return Err(MetadataError::BadMagic { found: magic });
        }
        let algorithm = u16::from_le_bytes(r.array("hash algorithm")?);
        if algorithm != HASH_ALGORITHM_SHA256 {
            return Err(MetadataError::UnknownHashAlgorithm(algorithm));
        }
        let reserved = u16::from_le_bytes(r.array("reserved field")?);
        if reserved != 0 {
            return Err(MetadataError::ReservedNotZero(reserved));
        }
        let piece_size = PieceSize::new(u64::from(u32::from_le_bytes(r.array("piece size")?)))?;
        let file_size = u64::from_le_bytes(r.array("file size")?);
        let file_sha256: Sha256Digest = r.array("file hash")?;
        let id_len = u16::from_le_bytes(r.array("content id length")?);
        if id_len == 0 || usize::from(id_len) > MAX_CONTENT_ID_LEN {
            return Err(MetadataError::ContentIdLength(id_len));
        }
        let id_bytes = r.take("content id", u64::from(id_len))?;
        let id = std::str::from_utf8(id_bytes).map_err(|_| MetadataError::ContentIdNotUtf8)?;
        let content_id = ContentId::new(id)?;
        let count = u32::from_le_bytes(r.array("piece count")?);
        let expected = piece_size.piece_count(file_size);
        if expected != Some(count) {
            return Err(MetadataError::PieceCountMismatch {
                found: count,
                expected,
                file_size,
                piece_size: piece_size.get(),
            });
        }
        let hashes = r.take("piece hashes", 32 * u64::from(count))?;
        if r.pos != bytes.len() {
            return Err(MetadataError::TrailingBytes(bytes.len() - r.pos));
        }
        let piece_hashes = hashes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self {
            content_id,
            piece_size,
            file_size,
            file_sha256,
            piece_hashes,
        })
    }
}

/// Bounds-checked cursor over untrusted bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, len: u64) -> Result<&'a [u8], MetadataError> {
        let available = self.bytes.len() - self.pos;
        let truncated = MetadataError::Truncated {
            field,
            needed: len,
            available,
        };
        let len = usize::try_from(len).map_err(|_| truncated.clone())?;
        if len > available {
            return Err(truncated);
        }
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MetadataError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N as u64)?);
        Ok(out)
    }
}

/// Hashes a file in one streaming pass and produces its [`Metadata`]. Memory
/// use is one piece buffer plus 32 bytes per piece, whatever the file size.
pub struct MetadataBuilder {
    content_id: ContentId,
    piece_size: PieceSize,
    file_hasher: Sha256,
    piece_hasher: Sha256,
    piece_filled: u32,
    file_size: u64,
    piece_hashes: Vec<Sha256Digest>,
}

impl MetadataBuilder {
    pub fn new(content_id: ContentId, piece_size: PieceSize) -> Self {
        Self {
            content_id,
            piece_size,
            file_hasher: Sha256::new(),
            piece_hasher: Sha256::new(),
            piece_filled: 0,
            file_size: 0,
            piece_hashes: Vec::new(),
        }
    }

    /// Feeds the next bytes of the file, in any chunking.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.file_hasher.update(bytes);
        self.file_size += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = (self.piece_size.get() - self.piece_filled) as usize;
            let n = room.min(bytes.len());
            self.piece_hasher.update(&bytes[..n]);
            // n <= room, which is a u32.
            self.piece_filled += n as u32;
            bytes = &bytes[n..];
            if self.piece_filled == self.piece_size.get() {
                self.finish_piece();
            }
        }
    }

    fn finish_piece(&mut self) {
        let h = std::mem::replace(&mut self.piece_hasher, Sha256::new()).finalize();
        self.piece_hashes.push(h.into());
        self.piece_filled = 0;
    }

    /// Bytes fed so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.file_size
    }

    /// Ends the file. Fails only when the file has more than 2^32 - 1 pieces.
    pub fn finish(mut self) -> Result<Metadata, MetadataError> {
        if self.piece_filled > 0 {
            self.finish_piece();
        }
        let file_sha256 = self.file_hasher.finalize().into();
        Metadata::new(
            self.content_id,
            self.piece_size,
            self.file_size,
            file_sha256,
            self.piece_hashes,
        )
    }
}

#[cfg(test)]
mod tests;
