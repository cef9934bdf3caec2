//! Publishing large files in parts: the limits and the JSON answers that the
//! edge worker's multipart routes and the CLI share (docs/openapi.yaml).
//!
//! Invariants of a [`PartPlan`]: the file is split into `part_count` parts
//! numbered from 1; every part but the last is exactly `part_size` bytes; the
//! part size is a multiple of the piece size (so every part starts and ends
//! on a piece boundary), at least [`MIN_PART_BYTES`] (R2's rule), at most the
//! server's upload limit; there are at most [`MAX_PARTS`] parts. Every
//! computation is checked, so no input (a file size, a part number) panics.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::ids::PieceSize;

/// The default largest request body the worker accepts (95 MiB), below the
/// 100 MB that Cloudflare's Free and Pro plans allow.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 95 * 1024 * 1024;
/// R2: every part but the last is at least this large.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// R2: an upload has at most this many parts.
pub const MAX_PARTS: u32 = 10_000;

/// Why a file cannot be split as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("an empty file needs no multipart upload")]
    EmptyFile,
    #[error("part size {part_size} is not a multiple of the piece size {piece_size}")]
    NotPieceAligned { part_size: u64, piece_size: u32 },
    #[error("part size {part_size} is below R2's minimum of {MIN_PART_BYTES} bytes")]
    TooSmall { part_size: u64 },
    #[error("part size {part_size} is above the upload limit of {max_upload_bytes} bytes")]
    TooLarge {
        part_size: u64,
        max_upload_bytes: u64,
    },
    #[error("{parts} parts of {part_size} bytes exceed R2's maximum of {MAX_PARTS} parts")]
    TooManyParts { parts: u64, part_size: u64 },
}

/// How one file is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    file_size: u64,
    piece_size: u32,
    part_size: u64,
    part_count: u32,
}

impl PartPlan {
    /// Checks `part_size` against the file, its piece size and the limit.
    pub fn new(
        file_size: u64,
        piece_size: PieceSize,
        part_size: u64,
        max_upload_bytes: u64,
    ) -> Result<Self, PlanError> {
        let piece = u64::from(piece_size.get());
        if file_size == 0 {
            return Err(PlanError::EmptyFile);
        }
        if part_size == 0 || part_size.checked_rem(piece) != Some(0) {
            return Err(PlanError::NotPieceAligned {
                part_size,
                piece_size: piece_size.get(),
            });
        }
        if part_size < MIN_PART_BYTES {
            return Err(PlanError::TooSmall { part_size });
        }
        if part_size > max_upload_bytes {
            return Err(PlanError::TooLarge {
                part_size,
                max_upload_bytes,
            });
        }
        let parts = file_size.div_ceil(part_size);
        let part_count = u32::try_from(parts)
            .ok()
            .filter(|&n| n <= MAX_PARTS)
            .ok_or(PlanError::TooManyParts { parts, part_size })?;
        Ok(Self {
            file_size,
            piece_size: piece_size.get(),
            part_size,
            part_count,
        })
    }

    /// The largest piece-aligned part size within `max_upload_bytes`.
    pub fn largest(
        file_size: u64,
        piece_size: PieceSize,
        max_upload_bytes: u64,
    ) -> Result<Self, PlanError> {
        let piece = u64::from(piece_size.get());
        let part_size = max_upload_bytes / piece * piece;
        Self::new(file_size, piece_size, part_size, max_upload_bytes)
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    pub fn part_count(&self) -> u32 {
        self.part_count
    }

    /// The file bytes of part `number` (1-based), if it exists.
    pub fn part_range(&self, number: u32) -> Option<Range<u64>> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size;
        let end = start.saturating_add(self.part_size).min(self.file_size);
        Some(start..end)
    }

    /// The piece indices that part `number` covers.
    pub fn part_pieces(&self, number: u32) -> Option<Range<u32>> {
        let bytes = self.part_range(number)?;
        let piece = u64::from(self.piece_size);
        let first = u32::try_from(bytes.start / piece).ok()?;
        let end = u32::try_from(bytes.end.div_ceil(piece)).ok()?;
        Some(first..end)
    }
}

/// `POST …/multipart` body: the part size wanted (default: the largest allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUpload {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral"
    )]
    pub part_size: Option<u64>,
}

/// A JSON integer, also when written as a number with a zero fraction
/// (`73400320.0` is an integer in JSON Schema, and so in the OpenAPI file).
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Integral;
    impl serde::de::Visitor<'_> for Integral {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("partSize {v} is negative")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
            // Below 2^53 every integral f64 is exact.
            if v.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&v) {
                Ok(v as u64)
            } else {
                Err(E::custom(format!("partSize {v} is not an integer")))
            }
        }
    }
    struct Opt;
    impl<'de> serde::de::Visitor<'de> for Opt {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative integer or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Option<u64>, D2::Error> {
            d.deserialize_any(Integral).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

/// One part the worker verified and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartRecord {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
    /// When the worker stored it, in milliseconds since the Unix epoch.
    pub uploaded_at: u64,
}

/// The answer of `POST …/multipart` (201) and `GET …/multipart` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadStatus {
    pub content_id: String,
    pub upload_id: String,
    /// SHA-256 (hex) of the metadata file the parts are checked against.
    pub metadata_sha256: String,
    pub file_size: u64,
    pub part_size: u64,
    pub part_count: u32,
    pub max_upload_bytes: u64,
    /// The parts stored so far, by part number.
    pub parts: Vec<PartRecord>,
}

/// The answer of `POST …/multipart/complete` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadCompleted {
    pub content_id: String,
    pub file_size: u64,
    pub part_count: u32,
    pub parts: Vec<PartRecord>,
}

/// The part of the `PUT …/metadata` answer that tells a client how large a
/// single request body may be; absent from older workers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadLimits {
    #[serde(default)]
    pub max_upload_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn piece(n: u64) -> PieceSize {
        PieceSize::new(n).unwrap()
    }

    #[test]
    fn parts_are_piece_aligned_and_all_but_the_last_equal() {
        let plan = PartPlan::largest(40 * MIB + 123, piece(MIB), 8 * MIB + 5).unwrap();
        assert_eq!(plan.part_size(), 8 * MIB);
        assert_eq!(plan.part_count(), 6);
        assert_eq!(plan.part_range(1), Some(0..8 * MIB));
        assert_eq!(plan.part_range(6), Some(40 * MIB..40 * MIB + 123));
        assert_eq!(plan.part_pieces(1), Some(0..8));
        assert_eq!(plan.part_pieces(6), Some(40..41));
        assert_eq!(plan.part_range(0), None);
        assert_eq!(plan.part_range(7), None);
        let total: u64 = (1..=6)
            .map(|n| plan.part_range(n).unwrap())
            .map(|r| r.end - r.start)
            .sum();
        assert_eq!(total, 40 * MIB + 123);
    }

    #[test]
    fn part_size_is_any_json_integer() {
        let parse = |j: &str| serde_json::from_str::<CreateUpload>(j).map(|c| c.part_size);
        assert_eq!(parse(r#"{"partSize":73400320}"#).unwrap(), Some(73_400_320));
        assert_eq!(
            parse(r#"{"partSize":73400320.0}"#).unwrap(),
            Some(73_400_320)
        );
        assert_eq!(parse(r#"{}"#).unwrap(), None);
        assert_eq!(parse(r#"{"partSize":null}"#).unwrap(), None);
        assert!(parse(r#"{"partSize":1.5}"#).is_err());
        assert!(parse(r#"{"partSize":-236}"#).is_err());
        assert!(parse(r#"{"partSize":"5"}"#).is_err());
    }

    #[test]
    fn r2_rules_are_enforced() {
        assert_eq!(
            PartPlan::new(100 * MIB, piece(MIB), 4 * MIB, 95 * MIB),
            Err(PlanError::TooSmall { part_size: 4 * MIB })
        );
        assert!(matches!(
            PartPlan::new(100 * MIB, piece(MIB), 8 * MIB + 16384, 95 * MIB),
            Err(PlanError::NotPieceAligned { .. })
        ));
        assert!(matches!(
            PartPlan::new(100 * MIB, piece(MIB), 96 * MIB, 95 * MIB),
            Err(PlanError::TooLarge { .. })
        ));
        assert!(matches!(
            PartPlan::new(u64::MAX, piece(MIB), 8 * MIB, 95 * MIB),
            Err(PlanError::TooManyParts { .. })
        ));
        assert_eq!(
            PartPlan::new(0, piece(MIB), 8 * MIB, 95 * MIB),
            Err(PlanError::EmptyFile)
        );
        // A limit below R2's minimum part cannot carry a multipart upload.
        assert!(PartPlan::largest(100 * MIB, piece(MIB), 4 * MIB).is_err());
    }

    #[test]
    fn the_default_limit_gives_95_mib_parts() {
        let plan = PartPlan::largest(2 * 1024 * MIB, piece(MIB), DEFAULT_MAX_UPLOAD_BYTES).unwrap();
        assert_eq!(plan.part_size(), 95 * MIB);
        assert_eq!(plan.part_count(), 22);
        assert_eq!(DEFAULT_MAX_UPLOAD_BYTES, 99_614_720);
    }
}
