//! The typed errors of the metadata reader ([`MetadataError`]).
//!
//! Every message is a single line, so a command-line tool can print it as is.

use thiserror::Error;

use crate::ids::{ContentIdError, PieceSizeError};

/// Why bytes are not a valid metadata file. Offsets are byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    #[error(
        "truncated metadata: needed {needed} bytes for the {field} at offset {offset}, only {available} present"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
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
    #[error(
        "piece count {found} does not match file size {file_size} / piece size {piece_size} (expected {})",
        display_expected(.expected)
    )]
    PieceCountMismatch {
        found: u64,
        expected: Option<u32>,
        file_size: u64,
        piece_size: u32,
    },
    #[error("{0} trailing bytes after the last piece hash")]
    TrailingBytes(usize),
}

fn display_expected(expected: &Option<u32>) -> String {
    match expected {
        Some(n) => n.to_string(),
        None => "more than 4294967295, which format v1 cannot hold".to_owned(),
    }
}
