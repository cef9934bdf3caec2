//! The binary peer-to-peer wire protocol (byte layouts in `docs/peer-protocol.md`).
//!
//! Every message travels as one *frame*: `len: u32 LE` (bytes after this
//! field), `type: u8`, then a type-specific payload. On a message-oriented
//! transport (a WebRTC data channel) one transport message carries exactly one
//! frame and is decoded with [`decode`]; on a byte stream [`FrameSplitter`]
//! cuts frames out of arbitrary chunks.
//!
//! Invariants:
//! - every message type has a length cap ([`MAX_FRAME_LEN`] bounds them all),
//!   checked *before* anything is allocated;
//! - [`decode`] and [`FrameSplitter`] take untrusted bytes, return a typed
//!   [`WireError`] for anything malformed and never panic (fuzzed by
//!   `fuzz/fuzz_targets/wire_decode.rs`);
//! - `decode(&encode(m)) == Ok(m)` for every valid message `m`.
//!
//! Piece numbers are plain `u32` here: the codec does not know the piece
//! count, so the engine validates each one once against its metadata
//! (`Metadata::piece` → `PieceIndex`) before it touches any table.

mod bitfield;
mod codec;
mod splitter;
#[cfg(test)]
mod tests;

pub use bitfield::Bitfield;
pub use codec::{decode, decode_borrowed, encode, encode_into, encode_piece_data, Decoded};
pub use splitter::FrameSplitter;

use crate::ids::ContentId;
use crate::metadata::Sha256Digest;
use thiserror::Error;

/// Protocol version carried in the handshake. Peers with another version never mix.
pub const PROTOCOL_VERSION: u8 = 2;
/// Magic at the start of a handshake payload.
pub const HANDSHAKE_MAGIC: &[u8; 4] = b"ESWP";
/// Largest data block in one [`Message::PieceData`]: 64 KiB.
pub const MAX_BLOCK_LEN: usize = 64 * 1024;
/// Largest bitfield: 2^20 pieces (1 TiB of content at 1 MiB pieces).
pub const MAX_BITFIELD_LEN: usize = 128 * 1024;
/// Largest frame body (type byte + payload) of any message.
pub const MAX_FRAME_LEN: usize = 1 + MAX_BITFIELD_LEN;
/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;
/// Largest transport message (one whole frame, length prefix included) a
/// receiver accepts. A data-channel message above it is refused by its size
/// alone, before its bytes are copied anywhere.
pub const MAX_MESSAGE_LEN: usize = LEN_PREFIX + MAX_FRAME_LEN;
/// Most unanswered requests one peer may have outstanding at another. A peer
/// that exceeds it is flooding and is disconnected.
pub const MAX_OUTSTANDING_REQUESTS: usize = 32;
/// Longest a [`Message::Fetching`] lease holds: the receiver leaves the
/// piece to the sender's CDN request until the sender's `Have` for it
/// arrives, for at most this long (less when the receiver's own CDN
/// measurements say a piece takes less), and leases each piece at most
/// once per download.
pub const FETCH_LEASE_MS: u64 = 2_000;
/// Most live leases one peer may hold at a receiver; further `Fetching`
/// messages from it are ignored until one ends.
pub const MAX_FETCH_LEASES: usize = 4;

/// Message type bytes.
pub mod kind {
    pub const HANDSHAKE: u8 = 0;
    pub const BITFIELD: u8 = 1;
    pub const HAVE: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const PIECE_DATA: u8 = 4;
    pub const CANCEL: u8 = 5;
    pub const REJECT: u8 = 6;
    pub const FETCHING: u8 = 7;
}

/// Why a peer refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The peer does not have the piece. Announced pieces are never dropped, so
    /// this answer for an announced piece is a lie.
    NotHave = 1,
    /// The peer is busy (upload queue full); ask again later or elsewhere.
    Busy = 2,
}

/// One peer-protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// First message on every connection, in both directions.
    Handshake {
        version: u8,
        content_id: ContentId,
        /// SHA-256 of the metadata file the sender verifies pieces against.
        metadata_sha256: Sha256Digest,
    },
    /// Which pieces the sender holds, bit `i` = byte `i / 8`, mask `0x80 >> (i % 8)`.
    Bitfield(Vec<u8>),
    /// The sender has verified and stored piece `piece`.
    Have { piece: u32 },
    /// Please send the whole piece `piece` (as blocks of at most 64 KiB).
    Request { piece: u32 },
    /// A block of piece `piece` starting at byte `offset` within the piece.
    PieceData {
        piece: u32,
        offset: u32,
        data: Vec<u8>,
    },
    /// Forget my request for `piece`.
    Cancel { piece: u32 },
    /// I will not send `piece`.
    Reject { piece: u32, reason: RejectReason },
    /// I am fetching `piece` from the CDN now (a lease of at most
    /// [`FETCH_LEASE_MS`]): leave it to me and expect my `Have`.
    Fetching { piece: u32 },
}

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("frame truncated: {needed} bytes needed, {available} present")]
    Truncated { needed: usize, available: usize },
    #[error("frame length {0} exceeds the protocol maximum {MAX_FRAME_LEN}")]
    FrameTooLong(usize),
    #[error("frame length is 0 (no type byte)")]
    EmptyFrame,
    #[error("{0} bytes follow the frame")]
    TrailingBytes(usize),
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("message type {kind} has payload length {len}, allowed {min}..={max}")]
    BadPayloadLength {
        kind: u8,
        len: usize,
        min: usize,
        max: usize,
    },
    #[error("handshake magic is wrong")]
    BadMagic,
    #[error("handshake content id is invalid")]
    BadContentId,
    #[error("reject reason {0} is unknown")]
    BadRejectReason(u8),
}
