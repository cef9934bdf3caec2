//! Cuts frames out of a byte stream delivered in arbitrary chunks.
//!
//! Invariant: when the caller drains `next_message` after every `push`, the
//! buffer never holds more than one partial frame plus the bytes of one
//! `push`; a length prefix above [`MAX_FRAME_LEN`](super::MAX_FRAME_LEN) is
//! an error as soon as its four bytes have arrived (nothing is allocated
//! for it).
//! After an error the splitter stays failed: the connection must be dropped.

use super::codec::{decode_body, frame_body_len};
use super::{Message, WireError, LEN_PREFIX};

/// Streaming frame splitter: `push` bytes, then call `next_message` until `Ok(None)`.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buf: Vec<u8>,
    start: usize,
    failed: Option<WireError>,
}

impl FrameSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` when more bytes are needed, or the
    /// error that makes this stream unusable (returned again on every call).
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rest = &self.buf[self.start..];
        let body_len = match frame_body_len(rest) {
            Ok(Some(n)) => n,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        if rest.len() < LEN_PREFIX + body_len {
            return Ok(None);
        }
        let result = decode_body(&rest[LEN_PREFIX..LEN_PREFIX + body_len]);
        self.start += LEN_PREFIX + body_len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        match result {
            Ok(m) => Ok(Some(m)),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: WireError) -> WireError {
        self.failed = Some(e.clone());
        self.buf = Vec::new();
        self.start = 0;
        e
    }

    /// Bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}
