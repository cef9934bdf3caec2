//! The engine's HTTP range requests, streamed: one task per request reads
//! the body chunk by chunk ([`http::RangeBody`]) and hands each chunk to the
//! driver as it arrives (`Input::HttpHead`, `HttpData`…, `HttpEnd`, or
//! `HttpFailed`); the engine has every piece verified and stored as soon as
//! its bytes are in. The glue holds no body: its memory per request is the
//! chunks queued for the driver, at most [`UNACKED_BYTES`] (the task waits
//! for the driver to take them before it reads more), plus one chunk.
//!
//! Storage back-pressure, as a socket's: while the engine says storage is
//! behind ([`edgeswarm_engine::Engine::storage_holds`]: its
//! `maxUnstoredBytes` of pieces await their digest (`hashOutside`, see
//! `crate::digest`) or `PieceStored`), the driver
//! still hands chunks to the engine but holds their acknowledgements, so
//! every reader stops within `UNACKED_BYTES`; they go on once the engine's
//! gate opens. Pieces waiting for their digest or storage are so bounded by
//! `maxUnstoredBytes` + one piece per request, instead of piling up when the
//! network outruns OPFS. The engine decides; the glue only pauses reading.
//!
//! Per request: Fetching → Streaming (status passed on) → Ended (end of
//! body, failure, or the `Abort` in `Session::http` dropped: cancelled).
//! Status and length checks are the engine's; the reader only stops past
//! the range's length (see [`http::RangeBody::next`]).

use std::collections::VecDeque;

use edgeswarm_engine::{HttpRequestId, Input};
use futures_channel::oneshot;
use wasm_bindgen_futures::spawn_local;

use super::{Ev, Session};
use crate::http::{self, Abort};

/// Most chunk bytes of one request queued for the driver before its reader
/// waits (about one 1 MiB piece).
pub const UNACKED_BYTES: usize = 1 << 20;

/// One step of a streamed answer.
pub enum Part {
    Head(u16),
    /// A chunk; the sender is dropped once the driver has handed it to the
    /// engine, which lets the reader go on.
    Data(Vec<u8>, oneshot::Sender<()>),
    End,
    Failed,
}

impl Session {
    pub(crate) fn start_http(&mut self, id: HttpRequestId, range: std::ops::Range<u64>) {
        let abort = Abort::new();
        let signal = abort.signal();
        self.http.insert(id, abort);
        let url = self.content_url.clone();
        let tx = self.tx.clone();
        spawn_local(async move {
            let send = |part| {
                let _ = tx.unbounded_send(Ev::Http(id, part));
            };
            let (status, mut body) = match http::open_range(&url, range, signal).await {
                Ok(r) => r,
                Err(_) => return send(Part::Failed),
            };
            send(Part::Head(status));
            let mut queued: VecDeque<(usize, oneshot::Receiver<()>)> = VecDeque::new();
            let mut queued_bytes = 0;
            loop {
                while queued_bytes > UNACKED_BYTES {
                    let Some((len, taken)) = queued.pop_front() else {
                        break;
                    };
                    // Ok or Canceled: either way the driver is done with it.
                    let _ = taken.await;
                    queued_bytes -= len;
                }
                match body.next().await {
                    Ok(Some(bytes)) => {
                        let (ack, taken) = oneshot::channel();
                        queued_bytes += bytes.len();
                        queued.push_back((bytes.len(), taken));
                        send(Part::Data(bytes, ack));
                    }
                    Ok(None) => return send(Part::End),
                    Err(_) => return send(Part::Failed),
                }
            }
        });
    }

    /// A step of request `id`'s answer, as the engine's input (none once the
    /// request is over or the session shut down).
    pub(super) fn on_http_part(&mut self, id: HttpRequestId, part: Part) -> Option<Input> {
        if !self.http.contains_key(&id) {
            return None;
        }
        Some(match part {
            Part::Head(status) => Input::HttpHead { id, status },
            Part::Data(bytes, ack) => {
                if self.engine.storage_holds() {
                    self.held_chunks.push(ack);
                }
                // Otherwise `ack` drops here; the reader runs again only
                // after this driver step (the engine input and its outputs).
                Input::HttpData { id, bytes }
            }
            Part::End => {
                self.http.remove(&id);
                Input::HttpEnd { id }
            }
            Part::Failed => {
                self.http.remove(&id);
                Input::HttpFailed { id }
            }
        })
    }

    /// After an input: once the engine's storage gate is open again, the
    /// held readers go on.
    pub(super) fn storage_caught_up(&mut self) {
        if !self.held_chunks.is_empty() && !self.engine.storage_holds() {
            self.held_chunks.clear();
        }
    }
}
