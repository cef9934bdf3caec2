//! One WebRTC peer: an `RTCPeerConnection` with one data channel.
//!
//! States (one [`RtcPeer`]):
//! ```text
//! Connecting --data channel "open"--> Open --"close"/failed--> Closed
//!     |                                          ^
//!     +--connect timeout / "failed" / closed-----+
//! ```
//! Every transition out of `Connecting`/`Open` reports exactly one
//! [`RtcEvent::Closed`]; `Open` is reported once.
//!
//! Signalling: the offerer creates the offer as soon as it is built; the
//! answerer answers the offer it is given. Both sides create the same
//! *negotiated* data channel (id 0), so neither waits for `ondatachannel`.
//! ICE candidates trickle as [`RtcEvent::Signal`]s with kind `Ice` and the
//! candidate's JSON; candidates that arrive before the remote description are
//! queued and applied after it. At most
//! [`MAX_ICE_CANDIDATES`](edgeswarm_protocol::rtc::MAX_ICE_CANDIDATES) remote
//! candidates are applied per connection; further ones are ignored.
//!
//! Inbound messages: only binary messages of at most
//! [`wire::MAX_MESSAGE_LEN`] bytes are copied into wasm memory. The size is
//! read from the `ArrayBuffer`'s `byteLength` first; a larger message, or a
//! text message, is refused uncopied and reported as
//! [`RtcEvent::Violation`] (the owner hands it to the engine, which bans).
//!
//! Backpressure: [`RtcPeer::send`] queues; the queue drains into the channel
//! while `bufferedAmount` is below the high-water mark and resumes on
//! `bufferedamountlow`, so a fast sender never piles megabytes into Chromium.
//!
//! Ownership: listener closures hold only a `Weak` to the peer, the peer owns
//! its [`EventListener`]s; dropping the [`RtcPeer`] closes the connection and
//! removes every listener (no closure is forgotten).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use edgeswarm_protocol::array::SignalKind;
pub use edgeswarm_protocol::services::IceServer;
use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState,
    RtcDataChannelType, RtcIceServer, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState,
};

use crate::listener::EventListener;
use crate::time::Timeout;

mod inbound;
mod signal;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct RtcOptions {
    pub ice_servers: Vec<IceServer>,
    /// Give up when the data channel is not open after this long.
    pub connect_timeout_ms: u32,
    /// Stop handing messages to the channel above this many buffered bytes.
    pub high_water: u32,
    /// Resume below this many buffered bytes (`bufferedAmountLowThreshold`).
    pub low_water: u32,
    /// `RTCCertificate`s for every connection (`RTCConfiguration.certificates`);
    /// `None`: the browser's default, a fresh certificate per connection.
    pub certificates: Option<Array>,
}

impl Default for RtcOptions {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            connect_timeout_ms: 15_000,
            high_water: 256 * 1024,
            low_water: 64 * 1024,
            certificates: None,
        }
    }
}

/// Which side of the signalling exchange this peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Offerer,
    Answerer,
}

/// Something the peer reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum RtcEvent {
    /// Send this to the remote peer through the signalling channel.
    Signal { kind: SignalKind, data: String },
    /// The data channel is open.
    Open,
    /// One message from the remote peer.
    Message(Vec<u8>),
    /// The remote peer sent a message the transport refuses (too large,
    /// or text); nothing of it was copied. Remote misbehaviour: the owner
    /// reports it to the engine.
    Violation(&'static str),
    /// The connection is over (reason for logs); reported once.
    Closed(String),
}

type Sink = Rc<dyn Fn(RtcEvent)>;

struct Inner {
    pc: RtcPeerConnection,
    dc: RtcDataChannel,
    options: RtcOptions,
    sink: Sink,
    queue: RefCell<VecDeque<Vec<u8>>>,
    queued_bytes: Cell<usize>,
    remote_set: Cell<bool>,
    pending_ice: RefCell<Vec<String>>,
    /// Remote ICE candidates accepted so far (applied or queued).
    ice_taken: Cell<usize>,
    /// Bytes of remote messages copied into wasm memory.
    bytes_copied: Cell<u64>,
    opened: Cell<bool>,
    closed: Cell<bool>,
    listeners: RefCell<Vec<EventListener>>,
    timeout: RefCell<Option<Timeout>>,
}

/// A WebRTC connection to one remote peer; dropping it closes the connection.
pub struct RtcPeer {
    inner: Rc<Inner>,
}

fn js_err(e: JsValue) -> String {
    Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn configuration(options: &RtcOptions) -> RtcConfiguration {
    let cfg = RtcConfiguration::new();
    let servers = Array::new();
    for s in &options.ice_servers {
        let server = RtcIceServer::new();
        let urls: Array = s.urls.iter().map(|u| JsValue::from_str(u)).collect();
        server.set_urls(&urls);
        if let Some(u) = &s.username {
            server.set_username(u);
        }
        if let Some(c) = &s.credential {
            server.set_credential(c);
        }
        servers.push(&server);
    }
    cfg.set_ice_servers(&servers);
    if let Some(c) = &options.certificates {
        cfg.set_certificates(c);
    }
    cfg
}

impl RtcPeer {
    /// Creates the connection; an offerer starts signalling at once.
    pub fn new(
        options: RtcOptions,
        role: Role,
        sink: impl Fn(RtcEvent) + 'static,
    ) -> Result<Self, String> {
        let pc =
            RtcPeerConnection::new_with_configuration(&configuration(&options)).map_err(js_err)?;
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(0);
        init.set_ordered(true);
        let dc = pc.create_data_channel_with_data_channel_dict("edgeswarm", &init);
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(options.low_water);
        let inner = Rc::new(Inner {
            pc,
            dc,
            options,
            sink: Rc::new(sink),
            queue: RefCell::new(VecDeque::new()),
            queued_bytes: Cell::new(0),
            remote_set: Cell::new(false),
            pending_ice: RefCell::new(Vec::new()),
            ice_taken: Cell::new(0),
            bytes_copied: Cell::new(0),
            opened: Cell::new(false),
            closed: Cell::new(false),
            listeners: RefCell::new(Vec::new()),
            timeout: RefCell::new(None),
        });
        Inner::hook(&inner);
        if role == Role::Offerer {
            let weak = Rc::downgrade(&inner);
            spawn_local(async move {
                if let Err(e) = Inner::offer(&weak).await {
                    if let Some(i) = weak.upgrade() {
                        i.close(format!("offer failed: {e}"));
                    }
                }
            });
        }
        Ok(Self { inner })
    }

    /// Applies a signal from the remote peer (in the background).
    pub fn handle_signal(&self, kind: SignalKind, data: String) {
        let fut = self.apply_signal(kind, data);
        spawn_local(fut);
    }

    /// Applies a signal from the remote peer; resolves once it is applied
    /// (or ignored). A signal that fails closes the connection.
    pub fn apply_signal(
        &self,
        kind: SignalKind,
        data: String,
    ) -> impl std::future::Future<Output = ()> + 'static {
        let weak = Rc::downgrade(&self.inner);
        async move {
            if let Err(e) = Inner::signal(&weak, kind, data).await {
                if let Some(i) = weak.upgrade() {
                    i.close(format!("signal failed: {e}"));
                }
            }
        }
    }

    /// The remote description's SDP as the browser holds it (with the
    /// candidates applied so far), once it is set.
    pub fn remote_sdp(&self) -> Option<String> {
        self.inner.pc.remote_description().map(|d| d.sdp())
    }

    /// Bytes of remote messages copied into wasm memory so far.
    pub fn bytes_copied(&self) -> u64 {
        self.inner.bytes_copied.get()
    }

    /// Sends a text message, which the protocol never uses (tests play a
    /// misbehaving peer with it).
    #[cfg(all(test, target_arch = "wasm32"))]
    pub(crate) fn send_text(&self, text: &str) -> Result<(), String> {
        self.inner.dc.send_with_str(text).map_err(js_err)
    }

    /// Queues one message; it goes out as the channel's buffer drains.
    pub fn send(&self, bytes: Vec<u8>) {
        if self.inner.closed.get() {
            return;
        }
        self.inner
            .queued_bytes
            .set(self.inner.queued_bytes.get() + bytes.len());
        self.inner.queue.borrow_mut().push_back(bytes);
        self.inner.flush();
    }

    /// Bytes not yet on the wire: our queue plus the channel's buffer.
    pub fn backlog(&self) -> usize {
        self.inner.queued_bytes.get() + self.inner.dc.buffered_amount() as usize
    }

    pub fn is_open(&self) -> bool {
        self.inner.opened.get() && !self.inner.closed.get()
    }

    /// Closes the connection (reports `Closed` if it was not closed yet).
    pub fn close(&self) {
        self.inner.close("closed locally".into());
    }
}

impl Drop for RtcPeer {
    fn drop(&mut self) {
        self.inner.closed.set(true);
        self.inner.listeners.borrow_mut().clear();
        self.inner.timeout.borrow_mut().take();
        self.inner.dc.close();
        self.inner.pc.close();
    }
}

impl Inner {
    fn hook(this: &Rc<Self>) {
        let mut ls = Vec::new();
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(&this.pc, "icecandidate", move |e| {
            let Some(i) = w.upgrade() else { return };
            let Some(c) = e
                .dyn_ref::<RtcPeerConnectionIceEvent>()
                .and_then(RtcPeerConnectionIceEvent::candidate)
            else {
                return;
            };
            if let Some(data) = JSON::stringify(&c.to_json())
                .ok()
                .and_then(|s| s.as_string())
            {
                (i.sink)(RtcEvent::Signal {
                    kind: SignalKind::Ice,
                    data,
                });
            }
        }));
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(
            &this.pc,
            "connectionstatechange",
            move |_| {
                let Some(i) = w.upgrade() else { return };
                let state = i.pc.connection_state();
                if matches!(
                    state,
                    RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed
                ) {
                    i.close(format!("connection {state:?}"));
                }
            },
        ));
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(&this.dc, "open", move |_| {
            let Some(i) = w.upgrade() else { return };
            i.timeout.borrow_mut().take();
            if !i.closed.get() && !i.opened.replace(true) {
                (i.sink)(RtcEvent::Open);
                i.flush();
            }
        }));
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(&this.dc, "message", move |e| {
            let Some(i) = w.upgrade() else { return };
            let Some(e) = e.dyn_ref::<MessageEvent>() else {
                return;
            };
            if i.closed.get() {
                return;
            }
            let event = inbound::event(&e.data(), &i.bytes_copied);
            (i.sink)(event);
        }));
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(
            &this.dc,
            "bufferedamountlow",
            move |_| {
                if let Some(i) = w.upgrade() {
                    i.flush();
                }
            },
        ));
        let w = Rc::downgrade(this);
        ls.push(EventListener::new(&this.dc, "close", move |_| {
            if let Some(i) = w.upgrade() {
                i.close("data channel closed".into());
            }
        }));
        *this.listeners.borrow_mut() = ls;
        let w = Rc::downgrade(this);
        *this.timeout.borrow_mut() =
            Some(Timeout::new(this.options.connect_timeout_ms, move || {
                if let Some(i) = w.upgrade() {
                    if !i.opened.get() {
                        i.close("connect timeout".into());
                    }
                }
            }));
    }

    fn close(&self, reason: String) {
        if self.closed.replace(true) {
            return;
        }
        self.timeout.borrow_mut().take();
        self.queue.borrow_mut().clear();
        self.queued_bytes.set(0);
        self.dc.close();
        self.pc.close();
        (self.sink)(RtcEvent::Closed(reason));
    }

    fn flush(&self) {
        if self.closed.get() || self.dc.ready_state() != RtcDataChannelState::Open {
            return;
        }
        while self.dc.buffered_amount() < self.options.high_water {
            let Some(msg) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            self.queued_bytes
                .set(self.queued_bytes.get().saturating_sub(msg.len()));
            if let Err(e) = self.dc.send_with_u8_array(&msg) {
                self.close(format!("send failed: {}", js_err(e)));
                return;
            }
        }
    }
}
