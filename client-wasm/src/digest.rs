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
//! - No JS copy of the piece: `digest()` copies its input before it
//!   returns (WebCrypto's "get a copy of the bytes held by the data"
//!   comes before its promise; Chromium copies at once), so it is handed a
//!   view of the piece in wasm memory, used only for that call. No
//!   piece-sized `ArrayBuffer` is left per piece for V8 to collect.
//! - A digest that fails (it should not) is computed in wasm instead: every
//!   `HashPiece` is answered.

use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::SubtleCrypto;

/// The page's (or worker's) WebCrypto.
pub struct Digest {
    subtle: Option<SubtleCrypto>,
}

impl Digest {
    /// `crypto.subtle` of this global, when there is one.
    pub fn new() -> Self {
        let subtle = Reflect::get(&js_sys::global(), &"crypto".into())
            .ok()
            .and_then(|c| Reflect::get(&c, &"subtle".into()).ok())
            .and_then(|s| s.dyn_into::<SubtleCrypto>().ok());
        Self { subtle }
    }

    /// Whether hashing can be left to WebCrypto here.
    pub fn available(&self) -> bool {
        self.subtle.is_some()
    }

    /// Starts the SHA-256 of `bytes`; `None` when WebCrypto is missing or
    /// refuses (hash in wasm then). Await it with [`finish`].
    pub fn start(&self, bytes: &[u8]) -> Option<Promise> {
        let subtle = self.subtle.as_ref()?;
        // SAFETY: the view is used only by the `digest` call below, which
        // copies the bytes before it returns; nothing allocates in wasm
        // memory (which could move it) between here and there, and the view
        // is dropped right after.
        let view = unsafe { Uint8Array::view(bytes) };
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
