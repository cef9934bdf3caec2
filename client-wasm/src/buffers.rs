//! Freeing JavaScript byte buffers as soon as their bytes were copied.
//!
//! A piece crosses several `ArrayBuffer`s on its way (a fetch body chunk, a
//! data-channel message, a read-back `File`'s bytes). Once copied into wasm
//! memory they are garbage, but V8 frees an `ArrayBuffer`'s backing store
//! only when a garbage collection finds it, and an idle page collects
//! rarely: at line rate hundreds of MiB of dead buffers piled up in the
//! renderer (docs/bench/browser.md, "Memory"). [`release`] detaches the
//! buffer (`ArrayBuffer.prototype.transfer(0)`), which frees its backing
//! store at once.
//!
//! Invariant: only buffers this crate alone reads are released, after the
//! last read; where `transfer` is missing (older browsers) nothing happens
//! and the garbage collector frees the buffer as before.

use js_sys::{ArrayBuffer, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Detaches `buf`, freeing its bytes now (a no-op without `transfer`).
pub(crate) fn release(buf: &ArrayBuffer) {
    let Ok(transfer) = Reflect::get(buf, &"transfer".into()) else {
        return;
    };
    if let Some(f) = transfer.dyn_ref::<Function>() {
        // A detached buffer throws a TypeError: nothing left to free.
        let _ = f.call1(buf, &JsValue::from(0));
    }
}
