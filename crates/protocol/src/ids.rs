//! Validated newtypes for values that arrive from outside (files, URLs, peers).
//!
//! Invariant: a value of these types was checked at construction, so code that
//! holds one never re-validates it and never indexes with an unchecked number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest content id, in bytes (the metadata format stores the length in a u16
/// but caps it at 255).
pub const MAX_CONTENT_ID_LEN: usize = 255;

/// Why a string is not a valid [`ContentId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContentIdError {
    #[error("content id is empty")]
    Empty,
    #[error("content id is {len} bytes long; at most {MAX_CONTENT_ID_LEN} are allowed")]
    TooLong { len: usize },
    #[error("content id has the character {found:?} at byte {position}; only A-Z a-z 0-9 . _ - are allowed")]
    BadCharacter { position: usize, found: char },
}

/// A content identifier: 1 to 255 characters from `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentId(String);

impl ContentId {
    /// Validates `s` as a content id.
    pub fn new(s: &str) -> Result<Self, ContentIdError> {
        if s.is_empty() {
            return Err(ContentIdError::Empty);
        }
        if s.len() > MAX_CONTENT_ID_LEN {
            return Err(ContentIdError::TooLong { len: s.len() });
        }
        if let Some((position, found)) = s
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(ContentIdError::BadCharacter { position, found });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContentId {
    type Err = ContentIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ContentId {
    type Error = ContentIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<ContentId> for String {
    fn from(id: ContentId) -> Self {
        id.0
    }
}

/// Smallest allowed piece size: 16 KiB.
pub const MIN_PIECE_SIZE: u32 = 16 * 1024;
/// Largest allowed piece size: 16 MiB.
pub const MAX_PIECE_SIZE: u32 = 16 * 1024 * 1024;
/// Default piece size: 1 MiB, as Delivery Optimization uses.
pub const DEFAULT_PIECE_SIZE: u32 = 1024 * 1024;

/// Why a number is not a valid [`PieceSize`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PieceSizeError {
    #[error("piece size {0} is not a power of two")]
    NotPowerOfTwo(u64),
    #[error("piece size {0} is outside {MIN_PIECE_SIZE}..={MAX_PIECE_SIZE} bytes")]
    OutOfRange(u64),
}

/// A piece size: a power of two between 16 KiB and 16 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct PieceSize(u32);

impl PieceSize {
    pub const DEFAULT: PieceSize = PieceSize(DEFAULT_PIECE_SIZE);

    pub fn new(bytes: u64) -> Result<Self, PieceSizeError> {
        if !(u64::from(MIN_PIECE_SIZE)..=u64::from(MAX_PIECE_SIZE)).contains(&bytes) {
            return Err(PieceSizeError::OutOfRange(bytes));
        }
        if !bytes.is_power_of_two() {
            return Err(PieceSizeError::NotPowerOfTwo(bytes));
        }
        // In range checked above, so it fits in u32.
        Ok(Self(bytes as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Number of pieces of this size that a file of `file_size` bytes has,
    /// or `None` when that count does not fit in a u32.
    pub fn piece_count(self, file_size: u64) -> Option<u32> {
        u32::try_from(file_size.div_ceil(u64::from(self.0))).ok()
    }
}

impl Default for PieceSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u64> for PieceSize {
    type Error = PieceSizeError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<PieceSize> for u64 {
    fn from(p: PieceSize) -> Self {
        u64::from(p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_id_accepts_allowed_characters() {
        assert!(ContentId::new("Demo-file_v1.2").is_ok());
        assert!(ContentId::new(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn content_id_rejects_bad_input() {
        assert_eq!(ContentId::new(""), Err(ContentIdError::Empty));
        assert_eq!(
            ContentId::new(&"a".repeat(256)),
            Err(ContentIdError::TooLong { len: 256 })
        );
        assert_eq!(
            ContentId::new("a/b"),
            Err(ContentIdError::BadCharacter {
                position: 1,
                found: '/'
            })
        );
        assert!(matches!(
            ContentId::new("é"),
            Err(ContentIdError::BadCharacter { position: 0, .. })
        ));
    }

    #[test]
    fn content_id_serde_validates() {
        let ok: ContentId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(ok.as_str(), "abc");
        assert!(serde_json::from_str::<ContentId>("\"a b\"").is_err());
    }

    #[test]
    fn piece_size_limits() {
        assert!(PieceSize::new(16 * 1024).is_ok());
        assert!(PieceSize::new(16 * 1024 * 1024).is_ok());
        assert_eq!(
            PieceSize::new(8 * 1024),
            Err(PieceSizeError::OutOfRange(8192))
        );
        assert_eq!(
            PieceSize::new(32 * 1024 * 1024),
            Err(PieceSizeError::OutOfRange(32 * 1024 * 1024))
        );
        assert_eq!(
            PieceSize::new(48 * 1024),
            Err(PieceSizeError::NotPowerOfTwo(48 * 1024))
        );
    }

    #[test]
    fn piece_count_rounds_up() {
        let p = PieceSize::new(16384).unwrap();
        assert_eq!(p.piece_count(0), Some(0));
        assert_eq!(p.piece_count(1), Some(1));
        assert_eq!(p.piece_count(16384), Some(1));
        assert_eq!(p.piece_count(16385), Some(2));
        assert_eq!(p.piece_count(u64::MAX), None);
    }
}
