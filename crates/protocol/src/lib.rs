//! `edgeswarm-protocol`: the pure formats every edgeswarm component shares.
//!
//! Nothing here performs I/O, reads a clock or draws random numbers. Every
//! parser that sees network bytes lives here, returns typed errors and never
//! panics (fuzzed in `fuzz/`).
//!
//! - [`ids`]: validated newtypes ([`ContentId`], [`PieceSize`]).
//! - [`metadata`]: the content metadata file, format v1 (ARCHITECTURE.md),
//!   its reader, its writer and the streaming [`MetadataBuilder`].
//! - [`wire`]: the binary peer-to-peer wire protocol (docs/protocol.md).
//! - [`array`]: JSON messages between a client and the array service.

pub mod array;
pub mod ids;
pub mod metadata;
pub mod publish;
pub mod wire;

pub use ids::{ContentId, ContentIdError, PieceSize, PieceSizeError};
pub use metadata::{
    sha256, sha256_hex, Metadata, MetadataBuilder, MetadataError, PieceIndex, Sha256Digest,
};
