//! The WebSocket to this download's array (the peer-matching Durable Object).
//!
//! One JSON text frame per message (`edgeswarm_protocol::array`). Incoming
//! frames that do not parse are dropped and counted, never fatal: the server
//! is trusted less than nothing for memory safety and only routes signals.
//! Every report is followed by this client's current attestation (whom it
//! received verified pieces from, whom it banned), when it has one: the
//! array ranks and drops peers by them (docs/array-protocol.md `attest`).
//! The socket owns its listeners; dropping [`ArraySocket`] closes it.

use std::rc::Rc;

use edgeswarm_protocol::array::{Attestation, ClientMessage, ServerMessage};
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

use crate::listener::EventListener;

/// What the array socket reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayEvent {
    Open,
    Message(ServerMessage),
    /// A frame that is not a known server message (ignored).
    Garbage,
    Closed,
}

/// Builds the attestation sent after each report (`None`: nothing to say).
pub type AttestationSource = Box<dyn Fn() -> Option<Attestation>>;

/// An open (or opening) array WebSocket.
pub struct ArraySocket {
    ws: WebSocket,
    attestation: Option<AttestationSource>,
    _listeners: Vec<EventListener>,
}

impl ArraySocket {
    /// Connects to `url` (`ws://` or `wss://`); events go to `sink`.
    pub fn connect(url: &str, sink: impl Fn(ArrayEvent) + 'static) -> Result<Self, String> {
        let ws = WebSocket::new(url).map_err(|e| format!("WebSocket {url}: {e:?}"))?;
        let sink: Rc<dyn Fn(ArrayEvent)> = Rc::new(sink);
        let s = sink.clone();
        let open = EventListener::new(&ws, "open", move |_| s(ArrayEvent::Open));
        let s = sink.clone();
        let message = EventListener::new(&ws, "message", move |e| {
            let text = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string());
            match text.and_then(|t| serde_json::from_str::<ServerMessage>(&t).ok()) {
                Some(m) => s(ArrayEvent::Message(m)),
                None => s(ArrayEvent::Garbage),
            }
        });
        let s = sink.clone();
        let close = EventListener::new(&ws, "close", move |_| s(ArrayEvent::Closed));
        Ok(Self {
            ws,
            attestation: None,
            _listeners: vec![open, message, close],
        })
    }

    /// Sends `source()`'s attestation after every report.
    pub fn with_attestation(mut self, source: AttestationSource) -> Self {
        self.attestation = Some(source);
        self
    }

    /// Sends one message (a report followed by the attestation); false if
    /// the socket is not open.
    pub fn send(&self, msg: &ClientMessage) -> bool {
        let sent = self.send_one(msg);
        if sent && matches!(msg, ClientMessage::Report(_)) {
            if let Some(a) = self.attestation.as_ref().and_then(|f| f()) {
                self.send_one(&ClientMessage::Attest(a));
            }
        }
        sent
    }

    fn send_one(&self, msg: &ClientMessage) -> bool {
        if self.ws.ready_state() != WebSocket::OPEN {
            return false;
        }
        match serde_json::to_string(msg) {
            Ok(text) => self.ws.send_with_str(&text).is_ok(),
            Err(_) => false,
        }
    }
}

impl Drop for ArraySocket {
    fn drop(&mut self) {
        let _ = self.ws.close();
    }
}
