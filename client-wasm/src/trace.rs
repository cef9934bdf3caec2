//! Per-piece performance marks, for finding where a piece's time goes
//! (docs/bench/browser.md). With the `trace` option on, the session calls
//! `performance.mark("es:<phase>:<piece>")` at each step of a piece's path:
//!
//! ```text
//! http:request → http:first-byte ───────────────┐
//! peer:request → peer:block (first bytes) ───────┴→ verified (= have: the
//!   engine announces in the same step) → stored;  served: first block to a peer
//! ```
//!
//! A range request spans several pieces: `http:request` of each is the
//! request's start, `http:first-byte` the moment that piece's first bytes
//! reached the engine (the engine's `PieceFirstBytes`); `verified` follows
//! its last byte by one SHA-256.
//!
//! Invariant: with tracing off nothing is recorded, so a long download does
//! not grow the page's performance timeline.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = mark, catch)]
    fn performance_mark(name: &str) -> Result<JsValue, JsValue>;
}

/// Whether marks are recorded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trace {
    pub on: bool,
}

impl Trace {
    /// Records `es:<phase>:<piece>` now (when tracing is on).
    pub fn mark(self, phase: &str, piece: u32) {
        if self.on {
            // A page without performance.mark only loses the trace.
            let _ = performance_mark(&format!("es:{phase}:{piece}"));
        }
    }
}
