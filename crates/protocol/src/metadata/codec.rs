//! Format v1 encoding and decoding of [`Metadata`] (table in the parent module).
//!
//! Invariant: [`Metadata::decode`] reads untrusted bytes through a
//! bounds-checked cursor only, checks fields in file order and returns the
//! first problem as a [`MetadataError`]; it never panics and never allocates
//! more than the input's size. `decode(encode(m)) == m` for every `m`.

use super::{
    Metadata, MetadataError, Sha256Digest, FIXED_HEADER_LEN, HASH_ALGORITHM_SHA256, MAGIC,
};
use crate::ids::{ContentId, PieceSize, MAX_CONTENT_ID_LEN};

impl Metadata {
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
        // A ContentId is at most 255 bytes, so its length fits a u16.
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
        let mut r = Cursor { bytes, pos: 0 };
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
                found: u64::from(count),
                expected,
                file_size,
                piece_size: piece_size.get(),
            });
        }
        let hashes = r.take("piece hashes", 32 * u64::from(count))?;
        if r.remaining() != 0 {
            return Err(MetadataError::TrailingBytes(r.remaining()));
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

/// Bounds-checked cursor over untrusted bytes. Invariant: `pos <= bytes.len()`.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, field: &'static str, len: u64) -> Result<&'a [u8], MetadataError> {
        let truncated = MetadataError::Truncated {
            field,
            offset: self.pos,
            needed: len,
            available: self.remaining(),
        };
        let len = usize::try_from(len).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(len).ok_or_else(|| truncated.clone())?;
        let out = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MetadataError> {
        let mut out = [0u8; N];
        // take() returned exactly N bytes, so the lengths match.
        out.copy_from_slice(self.take(field, N as u64)?);
        Ok(out)
    }
}
