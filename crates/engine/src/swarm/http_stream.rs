//! Answers to the CDN's range requests: whole (`HttpResponse`) or streamed
//! (`HttpHead`, `HttpData`…, `HttpEnd`), and their failures.
//!
//! A request's states:
//!
//! ```text
//!  Sent ──HttpHead 206 (or 200 for a range that is the whole file)──▶ Streaming
//!   │                                                                  │
//!   │ bad status, HttpData first, HttpFailed, timeout                  │ last byte in ──▶ Done
//!   ▼                                                                  │ HttpEnd early, HttpFailed,
//!  Failed ◀────────────────────────────────────────────────────────────┘ too long, timeout
//! ```
//!
//! - Each piece of the range is verified and stored as soon as its last
//!   byte is in ([`RangeBody`]): a request buffers at most one piece.
//! - A bad piece is rejected (one HTTP failure: backoff) but the range
//!   keeps streaming: the pieces after it are other bytes.
//! - Failed: the pieces not yet complete become missing again
//!   (`end_attempt`), pieces already verified stay, one HTTP failure is
//!   counted (the shared backoff). Later inputs for the request are ignored.
//! - A chunk that would make the body longer than the range fails the
//!   request before any of it is kept (the glue stops reading there).
//! - The deadline moves on with every completed piece: a long range fails
//!   when it stops making progress for a request timeout, not when it is long.
//! - `HttpResponse { status, body }` is `HttpHead`, `HttpData(body)`,
//!   `HttpEnd`; a single-piece body of the right length moves without a copy.

use edgeswarm_protocol::PieceIndex;

use super::Swarm;
use crate::range_body::RangeBody;
use crate::types::{Event, HttpRequestId, Millis, Source};

/// One range request the glue is carrying out.
#[derive(Debug)]
pub(super) struct Attempt {
    /// The range's pieces, in order; `None` once this request no longer
    /// holds the piece (verified, here or elsewhere).
    pub pieces: Vec<Option<PieceIndex>>,
    /// Bytes asked for.
    total: u64,
    /// The range is the whole file: a `200` is as good as a `206`.
    whole_file: bool,
    /// `Some` once the status was accepted (Streaming).
    body: Option<RangeBody>,
    /// Given up (timed out) at this time.
    pub deadline: Millis,
}

impl Attempt {
    /// Bytes of the range still to come over the link (pieces no longer
    /// needed included: the glue cannot take a request back).
    pub fn left(&self) -> u64 {
        self.body.as_ref().map_or(self.total, RangeBody::left)
    }

    pub fn new(pieces: Vec<PieceIndex>, total: u64, whole_file: bool, deadline: Millis) -> Self {
        Self {
            pieces: pieces.into_iter().map(Some).collect(),
            total,
            whole_file,
            body: None,
            deadline,
        }
    }
}

impl Swarm {
    pub(super) fn on_http_response(&mut self, id: HttpRequestId, status: u16, body: Vec<u8>) {
        let known = self.http.in_flight.contains_key(&id);
        self.on_http_head(id, status);
        if self.http.in_flight.contains_key(&id) {
            self.on_http_data(id, body);
        } else if known {
            // Refused by its status: the bytes still came over the link.
            self.stats.bytes_from_http += body.len() as u64;
        }
        self.on_http_end(id);
    }

    pub(super) fn on_http_head(&mut self, id: HttpRequestId, status: u16) {
        let piece_size = u64::from(self.meta.piece_size().get());
        let Some(a) = self.http.in_flight.get_mut(&id) else {
            return;
        };
        let status_ok = status == 206 || (status == 200 && a.whole_file);
        if status_ok && a.body.is_none() {
            a.body = Some(RangeBody::new(piece_size, a.total));
        } else {
            // A refused status, or a second head (a glue bug): failed.
            self.on_http_failed(id);
        }
    }

    pub(super) fn on_http_data(&mut self, id: HttpRequestId, bytes: Vec<u8>) {
        let Some(mut a) = self.http.in_flight.remove(&id) else {
            return;
        };
        self.stats.bytes_from_http += bytes.len() as u64;
        let pieces = &a.pieces;
        let keep = |i: usize| pieces.get(i).is_some_and(Option::is_some);
        let fed = match a.body.as_mut().map(|b| b.feed(bytes, keep)) {
            Some(Ok(fed)) => fed,
            // Bytes before the status, or more bytes than asked for.
            None | Some(Err(_)) => return self.give_up(a),
        };
        for i in fed.started {
            if let Some(Some(p)) = a.pieces.get(i) {
                let piece = p.get();
                self.event(Event::PieceFirstBytes {
                    piece,
                    source: Source::Http,
                });
            }
        }
        for (i, bytes) in fed.done {
            let Some(p) = a.pieces.get_mut(i).and_then(Option::take) else {
                continue;
            };
            self.http.retry.succeeded();
            a.deadline = self.now.plus(self.http.retry.request_timeout(&self.cfg));
            self.piece_complete(p, Source::Http, bytes);
        }
        if !a.body.as_ref().is_some_and(RangeBody::is_complete) {
            self.http.in_flight.insert(id, a);
        }
        // Complete: the slot is free now; a later `HttpEnd` is ignored.
    }

    /// The body ended: anything missing from the range is a failure.
    pub(super) fn on_http_end(&mut self, id: HttpRequestId) {
        if let Some(a) = self.http.in_flight.remove(&id) {
            self.give_up(a);
        }
    }

    /// `HttpFailed`, a timeout, or a refused head: the same as an early end.
    pub(super) fn on_http_failed(&mut self, id: HttpRequestId) {
        self.on_http_end(id);
    }

    /// Ends `a` (already out of `in_flight`) as failed: its incomplete
    /// pieces become missing again, verified ones stay.
    fn give_up(&mut self, a: Attempt) {
        for p in a.pieces.into_iter().flatten() {
            self.pieces.end_attempt(p, Source::Http);
            if self.pieces.is_missing(p) {
                self.http.scan_from = self.http.scan_from.min(p.get());
            }
        }
        self.http_failure();
    }

    pub(super) fn http_failure(&mut self) {
        self.http.retry.failed(&self.cfg, self.now);
    }
}
