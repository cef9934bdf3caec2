//! The session's link to its array: connect, and reconnect with backoff.
//!
//! `Disconnected → Connecting → Welcomed`; a close in any state schedules a
//! reconnect after a delay that doubles from 1 s up to 30 s and resets on a
//! welcome. Peer connections are independent of the array socket and survive
//! a reconnect; the array assigns a new peer id. Outside P2P mode, or after
//! the session stopped, nothing reconnects.

use edgeswarm_engine::Mode;

use super::{Ev, Session};
use crate::array_ws::ArraySocket;
use crate::time::Timeout;

const FIRST_RETRY_MS: u32 = 1_000;
const MAX_RETRY_MS: u32 = 30_000;

/// Where the array is and when to try it again.
pub struct ArrayLink {
    url: Option<String>,
    backoff_ms: u32,
    retry: Option<Timeout>,
    stopped: bool,
}

impl ArrayLink {
    pub fn new(url: Option<String>) -> Self {
        Self {
            url,
            backoff_ms: FIRST_RETRY_MS,
            retry: None,
            stopped: false,
        }
    }

    pub fn welcomed(&mut self) {
        self.backoff_ms = FIRST_RETRY_MS;
    }

    pub fn stop(&mut self) {
        self.stopped = true;
        self.retry = None;
    }
}

impl Session {
    /// Opens (or re-opens) the array socket; false when there is no array
    /// to join (not P2P, stopped, or discovery gave none).
    pub(super) fn connect_array(&mut self) -> bool {
        self.array_link.retry = None;
        if self.array_link.stopped || self.engine.mode() != Mode::P2p {
            return false;
        }
        let Some(url) = self.array_link.url.clone() else {
            return false;
        };
        let tx = self.tx.clone();
        self.array = ArraySocket::connect(&url, move |e| {
            let _ = tx.unbounded_send(Ev::Array(e));
        })
        .ok();
        if self.array.is_none() {
            self.array_closed();
        }
        true
    }

    pub(super) fn array_closed(&mut self) {
        self.array = None;
        let link = &mut self.array_link;
        if link.stopped || link.url.is_none() || self.engine.mode() != Mode::P2p {
            return;
        }
        let delay = link.backoff_ms;
        link.backoff_ms = (delay * 2).min(MAX_RETRY_MS);
        let tx = self.tx.clone();
        link.retry = Some(Timeout::new(delay, move || {
            let _ = tx.unbounded_send(Ev::ArrayRetry);
        }));
    }
}
