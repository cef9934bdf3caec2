//! The driver loop: browser events in, engine outputs out.
//!
//! Every browser callback (fetch reply, WebSocket frame, data-channel message,
//! timer, storage completion) only pushes an [`Ev`] into one unbounded
//! channel; a single task ([`Session::run`]) takes them one at a time, feeds
//! the engine with `handle_input(now, …)`, then drains `poll_output()` and
//! re-arms the engine's timer from `poll_timeout()`. Nothing re-enters the
//! engine from inside a callback. The timer is re-armed only when the
//! engine's deadline comes earlier than the armed one (an early `Timeout` is
//! harmless), and the page's progress callback runs at most every 100 ms.
//!
//! Session states: `Downloading` (engine running; every completed write is
//! reported to the engine, which holds new requests back while too many are
//! pending) → `Verifying` (engine said `Done`: every piece verified and
//! stored, with the file's SHA-256; building the `File`; the glue hashes
//! nothing itself) →
//! `Seeding` (the caller has its `File`; the session keeps serving peers until
//! `cancel()`). Errors and cancellation end the loop from any state.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use edgeswarm_engine::{Engine, HashJob, HttpRequestId, Input, Millis, PeerKey};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_channel::oneshot;
use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;

use crate::array_ws::{ArrayEvent, ArraySocket};
use crate::host::Battery;
use crate::http::Abort;
use crate::peers::PeerTable;
use crate::rtc::RtcEvent;
use crate::stats::{Phase, Shared};
use crate::store::{PieceStore, StoreError};
use crate::time::{now_millis, now_ms, Timeout};
use crate::trace::Trace;
use edgeswarm_protocol::policies::{CachePolicy, UploadPolicy};

mod array;
mod events;
mod outputs;
mod policies;
mod ranges;
mod report;

/// One thing that happened, queued for the driver.
pub enum Ev {
    Array(ArrayEvent),
    Rtc(PeerKey, u64, RtcEvent),
    Http(HttpRequestId, ranges::Part),
    Stored(u32, Result<(), StoreError>),
    Read(u32, Result<std::sync::Arc<[u8]>, StoreError>),
    /// The SHA-256 of a `HashPiece` job.
    Hashed(HashJob, [u8; 32]),
    Verified(Result<web_sys::File, String>),
    /// `document.visibilityState` changed.
    Visibility,
    Timer,
    Report,
    ArrayRetry,
    Cancel,
}

/// What `start()` is waiting for.
pub type Outcome = Result<web_sys::File, String>;

/// One running download.
pub struct Session {
    pub(crate) engine: Engine,
    pub(crate) tx: UnboundedSender<Ev>,
    pub(crate) store: Rc<PieceStore>,
    pub(crate) content_url: String,
    pub(crate) http: HashMap<HttpRequestId, Abort>,
    pub(crate) peers: PeerTable,
    pub(crate) array: Option<ArraySocket>,
    pub(crate) array_link: array::ArrayLink,
    pub(crate) shared: Rc<RefCell<Shared>>,
    pub(crate) file_name: String,
    pub(crate) report: report::Reporter,
    pub(crate) trace: Trace,
    timer: Option<(Millis, Timeout)>,
    /// Chunks taken while storage was behind: their readers wait (see `ranges`).
    pub(crate) held_chunks: Vec<oneshot::Sender<()>>,
    /// WebCrypto for the engine's `HashPiece` (see `outputs`).
    pub(crate) digest: crate::digest::Digest,
    engine_done: bool,
    /// The storage error behind the engine's `StoreFailed`, for the user.
    store_error: Option<String>,
    verifying: bool,
    result: Option<oneshot::Sender<Outcome>>,
    /// A verified `File` went to the caller: its stored pieces must stay.
    delivered: bool,
    last_progress_ms: f64,
    progress: Rc<RefCell<Option<js_sys::Function>>>,
    pub(crate) cache_policy: CachePolicy,
    pub(crate) policies: policies::UploadLimits,
    pub(crate) visibility: policies::Visibility,
}

pub struct SessionParts {
    pub engine: Engine,
    pub tx: UnboundedSender<Ev>,
    pub store: Rc<PieceStore>,
    pub content_url: String,
    pub peers: PeerTable,
    pub array_url: Option<String>,
    pub shared: Rc<RefCell<Shared>>,
    pub file_name: String,
    pub report: report::Reporter,
    pub trace: Trace,
    pub result: oneshot::Sender<Outcome>,
    pub progress: Rc<RefCell<Option<js_sys::Function>>>,
    pub cache_policy: CachePolicy,
    pub upload_policy: UploadPolicy,
    pub battery: Option<Battery>,
    /// The page said the download is a background one (`isBackground`).
    pub is_background: bool,
}

pub use report::Reporter;

/// The page's progress callback runs at most this often (ms).
const PROGRESS_MS: f64 = 100.0;

fn now() -> Millis {
    Millis(now_millis())
}

impl Session {
    pub fn new(p: SessionParts) -> Self {
        let visibility = policies::Visibility::new(p.is_background, &p.tx);
        Self {
            engine: p.engine,
            tx: p.tx,
            store: p.store,
            content_url: p.content_url,
            http: HashMap::new(),
            peers: p.peers,
            array: None,
            array_link: array::ArrayLink::new(p.array_url),
            shared: p.shared,
            file_name: p.file_name,
            report: p.report,
            trace: p.trace,
            timer: None,
            held_chunks: Vec::new(),
            digest: crate::digest::Digest::new(),
            engine_done: false,
            store_error: None,
            verifying: false,
            result: Some(p.result),
            delivered: false,
            last_progress_ms: f64::NEG_INFINITY,
            progress: p.progress,
            cache_policy: p.cache_policy,
            policies: policies::UploadLimits::new(p.upload_policy, p.battery),
            visibility,
        }
    }

    /// Runs until cancelled (it keeps seeding after the file is delivered).
    pub async fn run(mut self, mut rx: UnboundedReceiver<Ev>) {
        self.shared.borrow_mut().phase = Phase::Downloading;
        let background = self.visibility.input();
        self.engine.handle_input(now(), background);
        if !self.connect_array() && self.engine.mode() == edgeswarm_engine::Mode::P2p {
            // No array to ask (discovery failed): the engine must hear that
            // no peers are coming, or it waits out its discovery grace.
            self.engine
                .handle_input(now(), Input::PeerCandidates(Vec::new()));
        }
        self.pump();
        while let Some(ev) = rx.next().await {
            if !self.on_event(ev) {
                break;
            }
            self.pump();
        }
        self.shutdown();
    }

    /// Ends a session that never ran (cancelled before it started).
    pub fn abandon(mut self) {
        self.finish(Err("cancelled".into()), Phase::Cancelled);
        self.shutdown();
    }

    fn on_event(&mut self, ev: Ev) -> bool {
        let input = match ev {
            Ev::Cancel => {
                self.finish(Err("cancelled".into()), Phase::Cancelled);
                return false;
            }
            Ev::Timer => {
                self.timer = None;
                Some(Input::Timeout)
            }
            Ev::Visibility => Some(self.visibility.input()),
            Ev::Report => {
                self.send_report();
                None
            }
            Ev::ArrayRetry => {
                self.connect_array();
                None
            }
            Ev::Array(e) => self.on_array(e),
            Ev::Rtc(key, generation, e) => {
                self.count_rtc(key, &e);
                self.peers.on_rtc(key, generation, e, self.array.as_ref())
            }
            Ev::Http(id, part) => self.on_http_part(id, part),
            // The engine decides: back-pressure, `Done`, or failing the
            // download on a failed write (`Event::StoreFailed`).
            Ev::Stored(piece, r) => {
                self.trace.mark("stored", piece);
                Some(match r {
                    Ok(()) => Input::PieceStored { piece },
                    Err(e) => {
                        self.store_error = Some(format!("storing piece {piece}: {e}"));
                        Input::PieceStoreFailed { piece }
                    }
                })
            }
            Ev::Hashed(job, sha256) => Some(Input::PieceHashed { job, sha256 }),
            Ev::Read(piece, r) => Some(match r {
                Ok(bytes) => Input::PieceRead { piece, bytes },
                Err(_) => Input::PieceReadFailed { piece },
            }),
            Ev::Verified(r) => {
                let failed = r.is_err();
                let phase = if failed { Phase::Error } else { Phase::Done };
                self.finish(r, phase);
                // A failed whole-file check ends the session; a good one keeps seeding.
                return !failed;
            }
        };
        if let Some(input) = input {
            self.engine.handle_input(now(), input);
            self.storage_caught_up();
        }
        true
    }

    fn on_array(&mut self, e: ArrayEvent) -> Option<Input> {
        use edgeswarm_protocol::array::ServerMessage as M;
        match e {
            ArrayEvent::Open | ArrayEvent::Garbage => None,
            ArrayEvent::Closed => {
                self.array_closed();
                None
            }
            ArrayEvent::Message(M::Welcome { peer_id, .. }) => {
                self.array_link.welcomed();
                self.shared.borrow_mut().peer_id = Some(peer_id.to_string());
                self.peers.set_me(peer_id);
                self.send_report();
                None
            }
            // Fed even when empty: the engine waits for this answer (up to
            // its discovery grace) before it uses the CDN.
            ArrayEvent::Message(M::Peers { peers }) => Some(Input::PeerCandidates(
                self.peers.candidates(peers.iter().map(|p| &p.peer_id)),
            )),
            ArrayEvent::Message(M::Signal { from, kind, data }) => {
                self.peers.on_signal(&from, kind, data);
                None
            }
            ArrayEvent::Message(M::PeerLeft { peer_id }) => self.peers.left(&peer_id),
            ArrayEvent::Message(M::Share { rank, members }) => {
                Some(Input::ArrayShare { rank, members })
            }
            ArrayEvent::Message(M::Error { .. }) => None,
        }
    }

    fn count_rtc(&mut self, key: PeerKey, e: &RtcEvent) {
        let banned = self.peers.is_banned(key);
        let Some(id) = self.peers.id(key) else {
            return;
        };
        let mut shared = self.shared.borrow_mut();
        let view = shared.peer_mut(id.as_str());
        match e {
            RtcEvent::Open if !banned => view.state = "connected",
            RtcEvent::Message(m) => view.bytes_from += m.len() as u64,
            RtcEvent::Closed(_) if !banned => view.state = "closed",
            _ => {}
        }
    }

    /// Drains the engine, re-arms its timer, refreshes the stats.
    fn pump(&mut self) {
        self.apply_upload_limits();
        while let Some(out) = self.engine.poll_output() {
            self.on_output(out);
        }
        // A timer armed for an earlier moment stays: its `Timeout` then
        // comes early, which the engine takes as "time passed", and the
        // deadline is read again after it. Re-arming whenever the deadline
        // moves later would cost a setTimeout and a closure per message.
        // (A deadline that went away leaves its timer too: one early
        // `Timeout` at most.)
        let armed = self.timer.as_ref().map(|(at, _)| *at);
        let earlier = |at: &Millis| armed.is_none_or(|a| *at < a);
        if let Some(at) = self.engine.poll_timeout().filter(earlier) {
            let delay = at.0.saturating_sub(now_millis());
            let tx = self.tx.clone();
            let t = Timeout::new(u32::try_from(delay).unwrap_or(u32::MAX), move || {
                let _ = tx.unbounded_send(Ev::Timer);
            });
            self.timer = Some((at, t));
        }
        self.refresh();
    }

    fn refresh(&mut self) {
        let now = now_ms();
        let stats = self.engine.stats();
        let view = {
            let mut s = self.shared.borrow_mut();
            s.engine = stats;
            s.engine_mode = self.engine.mode();
            // At most every 100 ms, also while seeding (a final phase): a
            // seeding page would otherwise be called back on every message.
            // `finish` forces the call that reports the final phase.
            if now - self.last_progress_ms < PROGRESS_MS {
                return;
            }
            s.view(now)
        };
        self.last_progress_ms = now;
        let callback = self.progress.borrow().clone();
        if let Some(f) = callback {
            let _ = f.call1(&wasm_bindgen::JsValue::NULL, &view);
        }
    }

    fn finish(&mut self, outcome: Outcome, phase: Phase) {
        {
            let mut s = self.shared.borrow_mut();
            if !s.phase.is_final() {
                s.phase = phase;
                s.ended_ms = Some(now_ms());
                if let Err(e) = &outcome {
                    s.error = Some(e.clone());
                }
            }
        }
        if let Some(tx) = self.result.take() {
            self.delivered = outcome.is_ok();
            let _ = tx.send(outcome);
        }
        self.send_report();
        self.last_progress_ms = f64::NEG_INFINITY;
        self.refresh();
    }

    fn shutdown(&mut self) {
        self.timer = None;
        self.report.stop();
        self.array_link.stop();
        self.http.clear();
        self.peers.clear();
        self.array = None;
        if let Some(tx) = self.result.take() {
            let _ = tx.send(Err("stopped".into()));
        }
        if !self.delivered {
            // Nobody holds a File made from these pieces: free the disk space.
            let store = self.store.clone();
            spawn_local(async move { store.remove().await });
        }
    }

    pub(crate) fn start_write(&mut self, piece: u32, offset: u64, bytes: std::sync::Arc<[u8]>) {
        let store = self.store.clone();
        let tx = self.tx.clone();
        spawn_local(async move {
            let r = store.write_piece(piece, offset, bytes).await;
            let _ = tx.unbounded_send(Ev::Stored(piece, r));
        });
    }
}
