//! Streaming writer side: hash a file of any size in one pass, in any chunking.
//!
//! Invariants: memory use is one SHA-256 state per hasher plus 32 bytes per
//! piece, whatever the file size; the bytes are never kept. Feeding the same
//! bytes in any split of `update` calls gives the same result.
//!
//! - [`PieceHasher`]: the per-piece hashes only.
//! - [`FileHasher`]: the whole-file hash only.
//! - [`MetadataBuilder`]: both, then [`Metadata`]. [`MetadataBuilder::update_from_reader`]
//!   drains an [`std::io::Read`] through a bounded buffer.
//!
//! The two hashers are separate so that a caller with threads can run them in
//! parallel on the same bytes and join them with [`Metadata::new`].

use std::io::{ErrorKind, Read};

use sha2::{Digest, Sha256};

use super::{Metadata, MetadataError, Sha256Digest};
use crate::ids::{ContentId, PieceSize};

/// Size of the buffer [`MetadataBuilder::update_from_reader`] reads into.
pub const READ_BUFFER_LEN: usize = 1024 * 1024;

/// Computes the SHA-256 of each piece of a byte stream.
#[derive(Clone)]
pub struct PieceHasher {
    piece_size: PieceSize,
    hasher: Sha256,
    /// Bytes of the current piece fed so far, always `< piece_size`.
    filled: u32,
    bytes: u64,
    hashes: Vec<Sha256Digest>,
}

impl PieceHasher {
    pub fn new(piece_size: PieceSize) -> Self {
        Self {
            piece_size,
            hasher: Sha256::new(),
            filled: 0,
            bytes: 0,
            hashes: Vec::new(),
        }
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let size = self.piece_size.get();
        while !bytes.is_empty() {
            let room = (size - self.filled) as usize;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.hasher.update(now);
            // now.len() <= room, which came from a u32.
            self.filled += now.len() as u32;
            bytes = rest;
            if self.filled == size {
                self.finish_piece();
            }
        }
    }

    fn finish_piece(&mut self) {
        let digest = std::mem::replace(&mut self.hasher, Sha256::new()).finalize();
        self.hashes.push(digest.into());
        self.filled = 0;
    }

    pub fn piece_size(&self) -> PieceSize {
        self.piece_size
    }

    /// Bytes fed so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.bytes
    }

    /// Hashes of the pieces completed so far (a partial last piece is not
    /// among them until [`PieceHasher::finish`]).
    pub fn hashes(&self) -> &[Sha256Digest] {
        &self.hashes
    }

    /// Ends the stream: returns the file size and the hash of every piece
    /// (the last one may be short).
    pub fn finish(mut self) -> (u64, Vec<Sha256Digest>) {
        if self.filled > 0 {
            self.finish_piece();
        }
        (self.bytes, self.hashes)
    }
}

/// Computes the SHA-256 of a whole byte stream.
#[derive(Clone, Default)]
pub struct FileHasher {
    hasher: Sha256,
    bytes: u64,
}

impl FileHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        self.hasher.update(bytes);
    }

    /// Ends the stream: returns the file size and its SHA-256.
    pub fn finish(self) -> (u64, Sha256Digest) {
        (self.bytes, self.hasher.finalize().into())
    }
}

/// Hashes a file in one streaming pass and produces its [`Metadata`].
#[derive(Clone)]
pub struct MetadataBuilder {
    content_id: ContentId,
    pieces: PieceHasher,
    file: FileHasher,
}

impl MetadataBuilder {
    pub fn new(content_id: ContentId, piece_size: PieceSize) -> Self {
        Self {
            content_id,
            pieces: PieceHasher::new(piece_size),
            file: FileHasher::new(),
        }
    }

    /// Feeds the next bytes of the file, in any chunking.
    pub fn update(&mut self, bytes: &[u8]) {
        self.file.update(bytes);
        self.pieces.update(bytes);
    }

    /// Feeds everything `reader` yields until end of file, through one buffer
    /// of [`READ_BUFFER_LEN`] bytes. After each chunk, `progress` gets the
    /// total bytes hashed so far. Returns the bytes read by this call.
    pub fn update_from_reader(
        &mut self,
        mut reader: impl Read,
        mut progress: impl FnMut(u64),
    ) -> std::io::Result<u64> {
        let mut buf = vec![0u8; READ_BUFFER_LEN];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            // Read guarantees n <= buf.len(); get() keeps a broken reader from panicking us.
            let chunk = buf.get(..n).ok_or_else(|| {
                std::io::Error::new(ErrorKind::InvalidData, "reader returned too many bytes")
            })?;
            self.update(chunk);
            total += n as u64;
            progress(self.bytes_hashed());
        }
    }

    /// Bytes fed so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.pieces.bytes_hashed()
    }

    /// Ends the file. Fails only when the file has more than 2^32 - 1 pieces.
    pub fn finish(self) -> Result<Metadata, MetadataError> {
        let piece_size = self.pieces.piece_size;
        let (file_size, piece_hashes) = self.pieces.finish();
        let (_, file_sha256) = self.file.finish();
        Metadata::new(
            self.content_id,
            piece_size,
            file_size,
            file_sha256,
            piece_hashes,
        )
    }
}
