//! Encoding and decoding of single frames (layouts in `docs/peer-protocol.md`).
//!
//! Decoding checks the frame length against [`MAX_FRAME_LEN`] and the payload
//! length against the per-type cap before reading any field, so a hostile
//! length cannot cause a large allocation, and it never indexes out of bounds.

use super::{
    kind, Message, RejectReason, WireError, HANDSHAKE_MAGIC, LEN_PREFIX, MAX_BITFIELD_LEN,
    MAX_BLOCK_LEN, MAX_FRAME_LEN,
};
use crate::ids::{ContentId, MAX_CONTENT_ID_LEN};

/// Appends the frame for `msg` to `out`.
pub fn encode_into(msg: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; LEN_PREFIX]);
    match msg {
        Message::Handshake {
            version,
            content_id,
            metadata_sha256,
        } => {
            out.push(kind::HANDSHAKE);
            out.extend_from_slice(HANDSHAKE_MAGIC);
            out.push(*version);
            out.extend_from_slice(metadata_sha256);
            let id = content_id.as_str().as_bytes();
            // A ContentId is 1..=255 bytes long, so its length fits a u8.
            out.push(id.len() as u8);
            out.extend_from_slice(id);
        }
        Message::Bitfield(bits) => {
            out.push(kind::BITFIELD);
            out.extend_from_slice(bits);
        }
        Message::Have { piece } => put_u32(out, kind::HAVE, *piece),
        Message::Request { piece } => put_u32(out, kind::REQUEST, *piece),
        Message::Cancel { piece } => put_u32(out, kind::CANCEL, *piece),
        Message::Fetching { piece } => put_u32(out, kind::FETCHING, *piece),
        Message::Reject { piece, reason } => {
            put_u32(out, kind::REJECT, *piece);
            out.push(*reason as u8);
        }
        Message::PieceData {
            piece,
            offset,
            data,
        } => {
            put_u32(out, kind::PIECE_DATA, *piece);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(data);
        }
    }
    // Frames built from valid messages are far below 4 GiB.
    let body_len = (out.len() - start - LEN_PREFIX) as u32;
    out[start..start + LEN_PREFIX].copy_from_slice(&body_len.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, kind: u8, v: u32) {
    out.push(kind);
    out.extend_from_slice(&v.to_le_bytes());
}

/// The frame of a [`Message::PieceData`] built straight from a borrowed
/// block (saves copying the block into a `Message` first).
pub fn encode_piece_data(piece: u32, offset: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN_PREFIX + 9 + data.len());
    // 9 + a block of at most 64 KiB fits a u32; larger blocks are the
    // caller's error and are rejected by every receiver.
    let body_len = (9 + data.len()) as u32;
    out.extend_from_slice(&body_len.to_le_bytes());
    out.push(kind::PIECE_DATA);
    out.extend_from_slice(&piece.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// The frame for `msg`, ready to send as one transport message.
///
/// The sender is responsible for respecting the caps (a bitfield of at most
/// [`MAX_BITFIELD_LEN`] bytes, data blocks of 1..=[`MAX_BLOCK_LEN`] bytes);
/// a receiver rejects frames that do not.
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(msg, &mut out);
    out
}

/// A decoded frame that borrows a data block instead of copying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A [`Message::PieceData`]; `data` is the tail of the frame.
    Block {
        piece: u32,
        offset: u32,
        data: &'a [u8],
    },
    /// Any other message (owned: none of them carries bulk bytes that a
    /// receiver keeps, except a bitfield, which it converts anyway).
    Other(Message),
}

impl Decoded<'_> {
    /// The message, a data block copied out of its frame.
    pub fn into_owned(self) -> Message {
        match self {
            Decoded::Block {
                piece,
                offset,
                data,
            } => Message::PieceData {
                piece,
                offset,
                data: data.to_vec(),
            },
            Decoded::Other(m) => m,
        }
    }
}

/// Decodes exactly one frame (length prefix included) from untrusted bytes.
pub fn decode(frame: &[u8]) -> Result<Message, WireError> {
    decode_borrowed(frame).map(Decoded::into_owned)
}

/// Like [`decode`] (same checks, same errors), but a data block stays in
/// `frame`: a receiver that owns the frame keeps it without copying.
pub fn decode_borrowed(frame: &[u8]) -> Result<Decoded<'_>, WireError> {
    let body_len = frame_body_len(frame)?.ok_or(WireError::Truncated {
        needed: LEN_PREFIX,
        available: frame.len(),
    })?;
    let total = LEN_PREFIX + body_len;
    if frame.len() < total {
        return Err(WireError::Truncated {
            needed: total,
            available: frame.len(),
        });
    }
    if frame.len() > total {
        return Err(WireError::TrailingBytes(frame.len() - total));
    }
    decode_body_borrowed(&frame[LEN_PREFIX..])
}

/// Reads and checks the length prefix: `Ok(None)` when fewer than 4 bytes are present.
pub(super) fn frame_body_len(bytes: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(prefix) = bytes.get(..LEN_PREFIX) else {
        return Ok(None);
    };
    let mut b = [0u8; LEN_PREFIX];
    b.copy_from_slice(prefix);
    let len = u32::from_le_bytes(b) as usize;
    if len == 0 {
        return Err(WireError::EmptyFrame);
    }
    if len > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(len));
    }
    Ok(Some(len))
}

/// Decodes a frame body: type byte + payload.
pub(super) fn decode_body(body: &[u8]) -> Result<Message, WireError> {
    decode_body_borrowed(body).map(Decoded::into_owned)
}

/// Decodes a frame body, borrowing a data block.
fn decode_body_borrowed(body: &[u8]) -> Result<Decoded<'_>, WireError> {
    let (&ty, p) = body.split_first().ok_or(WireError::EmptyFrame)?;
    let check = |min: usize, max: usize| {
        if (min..=max).contains(&p.len()) {
            Ok(())
        } else {
            Err(WireError::BadPayloadLength {
                kind: ty,
                len: p.len(),
                min,
                max,
            })
        }
    };
    match ty {
        kind::HANDSHAKE => {
            check(4 + 1 + 32 + 1 + 1, 4 + 1 + 32 + 1 + MAX_CONTENT_ID_LEN)?;
            if &p[..4] != HANDSHAKE_MAGIC {
                return Err(WireError::BadMagic);
            }
            let version = p[4];
            let mut metadata_sha256 = [0u8; 32];
            metadata_sha256.copy_from_slice(&p[5..37]);
            let id_len = usize::from(p[37]);
            let id = &p[38..];
            if id.len() != id_len {
                return Err(WireError::BadPayloadLength {
                    kind: ty,
                    len: p.len(),
                    min: 38 + id_len,
                    max: 38 + id_len,
                });
            }
            let id = std::str::from_utf8(id).map_err(|_| WireError::BadContentId)?;
            let content_id = ContentId::new(id).map_err(|_| WireError::BadContentId)?;
            Ok(Decoded::Other(Message::Handshake {
                version,
                content_id,
                metadata_sha256,
            }))
        }
        kind::BITFIELD => {
            check(0, MAX_BITFIELD_LEN)?;
            Ok(Decoded::Other(Message::Bitfield(p.to_vec())))
        }
        kind::HAVE | kind::REQUEST | kind::CANCEL | kind::FETCHING => {
            check(4, 4)?;
            let piece = read_u32(p, 0);
            Ok(Decoded::Other(match ty {
                kind::HAVE => Message::Have { piece },
                kind::REQUEST => Message::Request { piece },
                kind::CANCEL => Message::Cancel { piece },
                _ => Message::Fetching { piece },
            }))
        }
        kind::REJECT => {
            check(5, 5)?;
            let reason = match p[4] {
                1 => RejectReason::NotHave,
                2 => RejectReason::Busy,
                other => return Err(WireError::BadRejectReason(other)),
            };
            Ok(Decoded::Other(Message::Reject {
                piece: read_u32(p, 0),
                reason,
            }))
        }
        kind::PIECE_DATA => {
            check(8 + 1, 8 + MAX_BLOCK_LEN)?;
            Ok(Decoded::Block {
                piece: read_u32(p, 0),
                offset: read_u32(p, 4),
                data: &p[8..],
            })
        }
        other => Err(WireError::UnknownType(other)),
    }
}

/// Reads a little-endian u32 at `at`; callers have checked `p.len() >= at + 4`.
fn read_u32(p: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&p[at..at + 4]);
    u32::from_le_bytes(b)
}
