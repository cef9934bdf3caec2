//! What a remote data-channel message may be before it is copied into wasm
//! memory: binary (an `ArrayBuffer`) and at most [`wire::MAX_MESSAGE_LEN`]
//! bytes, both read from the JavaScript object without touching its bytes.
//!
//! Invariant: a refused message is never copied; it becomes
//! [`RtcEvent::Violation`], which the owner hands to the engine (a ban).

use std::cell::Cell;

use edgeswarm_protocol::wire;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::RtcEvent;

/// The event for one message's `data`; `copied` counts the bytes copied.
pub(super) fn event(data: &JsValue, copied: &Cell<u64>) -> RtcEvent {
    match data.dyn_ref::<ArrayBuffer>() {
        None => RtcEvent::Violation("text data-channel message"),
        Some(buf) if buf.byte_length() as usize > wire::MAX_MESSAGE_LEN => {
            RtcEvent::Violation("oversize data-channel message")
        }
        Some(buf) => {
            let bytes = Uint8Array::new(buf).to_vec();
            copied.set(copied.get() + bytes.len() as u64);
            RtcEvent::Message(bytes)
        }
    }
}
