//! An event listener that owns its closure and unhooks itself on `Drop`.
//!
//! The gloo-events pattern: [`EventListener`] keeps the `Closure` that JS
//! calls, and its `Drop` removes the listener from the target before the
//! closure is freed. A per-peer object (data channel, peer connection,
//! WebSocket) therefore holds a `Vec<EventListener>`; when the peer goes away
//! its listeners go with it. Nothing here leaks (forgets) a closure, so a long swarm
//! session with many short-lived peers does not leak closures.

use std::borrow::Cow;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

/// A registered `addEventListener` callback, removed again when dropped.
pub struct EventListener {
    target: EventTarget,
    kind: Cow<'static, str>,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    /// Registers `f` for events named `kind` on `target`.
    pub fn new(
        target: &EventTarget,
        kind: impl Into<Cow<'static, str>>,
        f: impl FnMut(Event) + 'static,
    ) -> Self {
        let kind = kind.into();
        let callback = Closure::<dyn FnMut(Event)>::new(f);
        // addEventListener only throws for a non-callable listener; ours is a function.
        let _ = target.add_event_listener_with_callback(&kind, callback.as_ref().unchecked_ref());
        Self {
            target: target.clone(),
            kind,
            callback,
        }
    }

    /// The event name this listener is registered for.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(
            &self.kind,
            self.callback.as_ref().unchecked_ref(),
        );
    }
}
