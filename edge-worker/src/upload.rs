//! The upload limit and the per-piece check of uploaded bytes, as plain logic
//! (tested natively); `glue::multipart` moves the bytes.
//!
//! Invariants: a request body is never larger than [`max_upload_bytes`]
//! (413 [`too_large`] otherwise). A [`PieceVerifier`] hashes a part chunk by
//! chunk (it keeps one SHA-256 state, never a piece or a part) and checks
//! every piece the moment its last byte arrives; the caller passes a chunk on
//! only after `update` accepted it, so the last byte of a bad piece never
//! reaches storage. A part longer or shorter than announced is an error too.

use sha2::{Digest, Sha256};

use edgeswarm_protocol::publish::DEFAULT_MAX_UPLOAD_BYTES;
use edgeswarm_protocol::Sha256Digest;

use crate::error::ApiError;

/// The worker var that sets the largest request body.
pub const MAX_UPLOAD_VAR: &str = "MAX_UPLOAD_BYTES";

/// The limit from the var's value: default when unset, internal error when garbled.
pub fn max_upload_bytes(var: Option<&str>) -> Result<u64, ApiError> {
    match var.map(str::trim) {
        None | Some("") => Ok(DEFAULT_MAX_UPLOAD_BYTES),
        Some(v) => v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
            ApiError::internal(format!(
                "configuration: {MAX_UPLOAD_VAR} is not a positive integer"
            ))
        }),
    }
}

/// 413 for a body above the limit.
pub fn too_large(declared: u64, limit: u64) -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!(
            "the body has {declared} bytes, this server accepts at most {limit} per request; \
             publish larger files in parts (POST …/multipart)"
        ),
    )
}

/// Whether an R2 put error is its checksum check refusing the body (R2 and
/// its local simulator both say "…checksum you specified did not match…").
pub fn is_digest_mismatch(r2_error: &str) -> bool {
    r2_error.contains("checksum") && r2_error.contains("did not match")
}

/// Why a part's bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartFault {
    /// Piece `index` (of the whole file) does not match its hash.
    PieceMismatch { index: u32 },
    /// More bytes than the part has.
    TooLong,
    /// The body ended after `got` of `expected` bytes.
    TooShort { got: u64, expected: u64 },
}

impl PartFault {
    /// The 4xx answer naming the fault.
    pub fn to_error(&self, piece_size: u32) -> ApiError {
        match self {
            PartFault::PieceMismatch { index } => {
                let start = u64::from(*index) * u64::from(piece_size);
                ApiError::new(
                    422,
                    "piece_mismatch",
                    format!(
                        "piece {index} (file bytes from {start}) does not match the metadata's SHA-256; \
                         the part was not stored"
                    ),
                )
            }
            PartFault::TooLong => {
                ApiError::bad_request("size_mismatch", "the body is longer than the part")
            }
            PartFault::TooShort { got, expected } => ApiError::bad_request(
                "incomplete_body",
                format!("the body ended after {got} of {expected} bytes"),
            ),
        }
    }
}

/// Checks the pieces of one part as its bytes stream through.
pub struct PieceVerifier {
    hashes: Vec<Sha256Digest>,
    first_piece: u32,
    piece_size: u64,
    part_len: u64,
    seen: u64,
    in_piece: u64,
    hasher: Sha256,
}

impl PieceVerifier {
    /// `hashes` are the expected hashes of pieces `first_piece..`, which
    /// cover exactly `part_len` bytes.
    pub fn new(
        hashes: Vec<Sha256Digest>,
        first_piece: u32,
        piece_size: u32,
        part_len: u64,
    ) -> Self {
        Self {
            hashes,
            first_piece,
            piece_size: u64::from(piece_size),
            part_len,
            seen: 0,
            in_piece: 0,
            hasher: Sha256::new(),
        }
    }

    /// Hashes `chunk`; checks every piece it completes.
    pub fn update(&mut self, mut chunk: &[u8]) -> Result<(), PartFault> {
        if (chunk.len() as u64) > self.part_len - self.seen {
            return Err(PartFault::TooLong);
        }
        while !chunk.is_empty() {
            let piece_end = self
                .piece_size
                .min(self.part_len - (self.seen - self.in_piece));
            let want = piece_end - self.in_piece;
            let take = want.min(chunk.len() as u64) as usize;
            let (now, rest) = chunk.split_at(take);
            self.hasher.update(now);
            self.seen += take as u64;
            self.in_piece += take as u64;
            chunk = rest;
            if self.in_piece == piece_end {
                self.check_piece()?;
            }
        }
        Ok(())
    }

    fn check_piece(&mut self) -> Result<(), PartFault> {
        let done = (self.seen - 1) / self.piece_size;
        let index = self.first_piece.saturating_add(done as u32);
        let digest: Sha256Digest = std::mem::take(&mut self.hasher).finalize().into();
        self.in_piece = 0;
        match self.hashes.get(done as usize) {
            Some(expected) if *expected == digest => Ok(()),
            _ => Err(PartFault::PieceMismatch { index }),
        }
    }

    /// At the end of the body: every byte must have arrived.
    pub fn finish(&self) -> Result<(), PartFault> {
        if self.seen == self.part_len {
            Ok(())
        } else {
            Err(PartFault::TooShort {
                got: self.seen,
                expected: self.part_len,
            })
        }
    }
}

/// Splits the piece-hash bytes read from a stored metadata file.
pub fn split_hashes(bytes: &[u8], count: usize) -> Option<Vec<Sha256Digest>> {
    if bytes.len() != count.checked_mul(32)? {
        return None;
    }
    bytes.chunks_exact(32).map(|c| c.try_into().ok()).collect()
}

/// Byte offset of piece `index`'s hash inside the metadata file of a
/// content id `id_len` bytes long (format v1: 58-byte header, id, count).
pub fn piece_hash_offset(id_len: usize, index: u32) -> u64 {
    58 + id_len as u64 + 4 + 32 * u64::from(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeswarm_protocol::{sha256, ContentId, Metadata, PieceSize};

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn verifier(file: &[u8], piece: usize, first: usize, len: usize) -> PieceVerifier {
        let part = &file[first * piece..first * piece + len];
        let hashes = part.chunks(piece).map(sha256).collect();
        PieceVerifier::new(hashes, first as u32, piece as u32, len as u64)
    }

    #[test]
    fn accepts_a_part_in_any_chunking() {
        let file = data(10_000);
        for chunk in [1, 7, 100, 999, 1000, 5000] {
            let mut v = verifier(&file, 1000, 2, 5500);
            for c in file[2000..7500].chunks(chunk) {
                v.update(c).unwrap();
            }
            v.finish().unwrap();
        }
    }

    #[test]
    fn names_the_bad_piece_before_its_last_byte_passes() {
        let file = data(8000);
        let mut bad = file.clone();
        bad[4500] ^= 1;
        let mut v = verifier(&file, 1000, 2, 4000);
        let mut passed = 0;
        let mut fault = None;
        for c in bad[2000..6000].chunks(300) {
            match v.update(c) {
                Ok(()) => passed += c.len(),
                Err(e) => {
                    fault = Some(e);
                    break;
                }
            }
        }
        assert_eq!(fault, Some(PartFault::PieceMismatch { index: 4 }));
        assert!(
            2000 + passed < 5000,
            "the bad piece's last byte was passed on"
        );
        assert_eq!(
            PartFault::PieceMismatch { index: 4 }.to_error(1000).status,
            422
        );
    }

    #[test]
    fn refuses_long_and_short_bodies() {
        let file = data(3000);
        let mut v = verifier(&file, 1000, 0, 3000);
        assert_eq!(v.update(&data(3001)), Err(PartFault::TooLong));
        let mut v = verifier(&file, 1000, 0, 3000);
        v.update(&file[..2500]).unwrap();
        assert_eq!(
            v.finish(),
            Err(PartFault::TooShort {
                got: 2500,
                expected: 3000
            })
        );
    }

    #[test]
    fn hash_offsets_match_the_encoder() {
        let file = data(70_000);
        let ps = PieceSize::new(16384).unwrap();
        let hashes: Vec<_> = file.chunks(16384).map(sha256).collect();
        let id = ContentId::new("some-id").unwrap();
        let meta = Metadata::new(id, ps, 70_000, sha256(&file), hashes.clone()).unwrap();
        let bytes = meta.encode();
        let off = piece_hash_offset(7, 2) as usize;
        let got = split_hashes(&bytes[off..off + 64], 2).unwrap();
        assert_eq!(got, hashes[2..4].to_vec());
        assert_eq!(split_hashes(&bytes[off..off + 63], 2), None);
    }

    #[test]
    fn the_limit_var_parses() {
        assert_eq!(max_upload_bytes(None).unwrap(), DEFAULT_MAX_UPLOAD_BYTES);
        assert_eq!(max_upload_bytes(Some("8388608")).unwrap(), 8_388_608);
        assert_eq!(max_upload_bytes(Some("x")).unwrap_err().status, 500);
        assert_eq!(too_large(10, 5).status, 413);
    }

    #[test]
    fn only_r2_digest_errors_are_the_callers() {
        assert!(is_digest_mismatch(
            "put: The SHA-256 checksum you specified did not match what we received. (10037)"
        ));
        assert!(!is_digest_mismatch(
            "put: We encountered an internal error. (10001)"
        ));
    }
}
