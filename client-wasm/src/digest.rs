//! SHA-256 of pieces with WebCrypto, off the page's thread.
//!
//! The engine can leave hashing to the glue (`EngineConfig::hash_outside`:
//! `Output::HashPiece` → `Input::PieceHashed`; it still compares the digest
//! with the metadata's itself). In the browser, `crypto.subtle.digest` runs
//! on the browser's own crypto thread with native SHA-256, ~5× the speed of
//! SHA-256 in wasm here (1.8 GB/s native against 315–340 MB/s in wasm, both
//! in V8's engine on this machine), and leaves the page's thread free to read,
//! store and serve (docs/bench/browser.md, "SHA-256 with WebCrypto").
//!
//! Invariants:
//! - [`Digest::available`] is false where `crypto.subtle` is missing (an
//!   insecure context): the glue then leaves `hash_outside` off.
//! - One scratch buffer, reused: `digest()` copies its input when it is
//!   called (WebCrypto takes "a copy of the bytes held by" the data), so the
//!   next piece may overwrite the scratch at once. No piece-sized
//!   `ArrayBuffer` is left per piece for V8 to collect.
//! - A digest that fails (it should not) is computed in wasm instead: every
//!   `HashPiece` is answered.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::SubtleCrypto;

/// The page's (or worker's) WebCrypto, with a scratch buffer for its input.
pub struct Digest {
    subtle: Option<SubtleCrypto>,
    scratch: RefCell<Option<Uint8Array>>,
}

impl Digest {
    /// `crypto.subtle` of this global, when there is one.
    pub fn new() -> Self {
        let subtle = Reflect::get(&js_sys::global(), &"crypto".into())
            .ok()
            .and_then(|c| Reflect::get(&c, &"subtle".into()).ok())
            .and_then(|s| s.dyn_into::<SubtleCrypto>().ok());
        Self {
            subtle,
            scratch: RefCell::new(None),
        }
    }

    /// Whether hashing can be left to WebCrypto here.
    pub fn available(&self) -> bool {
        self.subtle.is_some()
    }

    /// Starts the SHA-256 of `bytes`; `None` when WebCrypto is missing or
    /// refuses (hash in wasm then). Await it with [`finish`].
    pub fn start(&self, bytes: &[u8]) -> Option<Promise> {
        let subtle = self.subtle.as_ref()?;
        let len = u32::try_from(bytes.len()).ok()?;
        let mut scratch = self.scratch.borrow_mut();
        if scratch.as_ref().is_none_or(|s| s.length() < len) {
            *scratch = Some(Uint8Array::new_with_length(len));
        }
        let view = scratch.as_ref()?.subarray(0, len);
        view.copy_from(bytes);
        subtle
            .digest_with_str_and_buffer_source("SHA-256", &view)
            .ok()
    }
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

/// The digest a [`Digest::start`] promise resolves to (`None` if it failed).
pub async fn finish(promise: Promise) -> Option<[u8; 32]> {
    let buf: ArrayBuffer = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    let bytes = Uint8Array::new(&buf);
    let mut out = [0u8; 32];
    if bytes.length() != 32 {
        return None;
    }
    bytes.copy_to(&mut out);
    Some(out)
}
