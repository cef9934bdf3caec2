//! `edgeswarm-protocol`: the pure formats every edgeswarm component shares.
//!
//! Nothing here performs I/O, reads a clock or draws random numbers. Every
//! parser that sees network bytes lives here, returns typed errors and never
//! panics (fuzzed in `fuzz/`). Every type that crosses the wire or the HTTP
//! API, and every limit both sides must agree on, is defined here once and
//! used by the edge worker, the browser client and the CLI.
//!
//! - [`ids`]: validated newtypes ([`ContentId`], [`PieceSize`]).
//! - [`metadata`]: the content metadata file, format v1 (docs/format.md),
//!   its reader, its writer and the streaming [`MetadataBuilder`].
//! - [`wire`]: the binary peer-to-peer wire protocol (docs/peer-protocol.md)
//!   and its [`wire::Bitfield`].
//! - [`array`]: JSON messages between a client and the array service.
//! - [`services`]: the JSON bodies of the HTTP service routes (docs/openapi.yaml).
//! - [`modes`]: download modes, peering scopes and the group-key limits.
//! - [`rtc`]: WebRTC signalling limits and the SDP's DTLS fingerprint.

pub mod array;
pub mod ids;
pub mod metadata;
pub mod modes;
pub mod policies;
pub mod publish;
pub mod rtc;
pub mod services;
pub mod wire;

pub use ids::{ContentId, ContentIdError, PieceSize, PieceSizeError};
pub use metadata::{
    parse_sha256_hex, sha256, sha256_hex, Metadata, MetadataBuilder, MetadataError, PieceIndex,
    Sha256Digest,
};
pub use modes::{DownloadMode, Scope};
