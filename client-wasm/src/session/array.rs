//! The session's link to its array: connect, and reconnect with backoff.
//!
//! `Disconnected → Connecting → Welcomed`; a close in any state schedules a
//! reconnect after a delay that doubles from 1 s up to 30 s and resets on a
//! welcome. Peer connections are independent of the array socket and survive
//! a reconnect; the array assigns a new peer id. Outside P2P mode, or after
//! the session stopped, nothing reconnects.
//!
//! Tickets: `arrayUrl` carries a signed ticket that expires (minutes), and
//! a browser cannot see why an upgrade was refused. So every reconnect first
//! asks discovery again (`Rediscovering`, one `GET /disc`) and joins with the
//! fresh `arrayUrl`; if that request fails, it tries the old URL, whose
//! refusal closes the socket and waits out the next backoff: a dead ticket
//! costs one retry, never a loop.
//!
//! Attestation: after each report the socket sends whom this client
//! received SHA-256-verified pieces from and whom it banned (from the
//! session's peer views, at most `MAX_ATTESTED_PEERS` each, the most useful
//! first), so the array can rank peers that served ahead of self-reports and
//! share bans.

use std::cell::RefCell;
use std::rc::Rc;

use edgeswarm_engine::Mode;
use edgeswarm_protocol::array::{Attestation, PeerId, MAX_ATTESTED_PEERS};
use edgeswarm_protocol::services::{encode_component, Discovery, Endpoints};
use wasm_bindgen_futures::spawn_local;

use super::{Ev, Session};
use crate::array_ws::ArraySocket;
use crate::stats::Shared;
use crate::time::Timeout;

const FIRST_RETRY_MS: u32 = 1_000;
const MAX_RETRY_MS: u32 = 30_000;

/// Where the array is and when to try it again.
pub struct ArrayLink {
    url: Option<String>,
    backoff_ms: u32,
    retry: Option<Timeout>,
    stopped: bool,
    /// The next connect asks discovery for a fresh ticket first.
    rediscover: bool,
    /// A fresh `arrayUrl`, left here by the discovery request.
    fresh: Rc<RefCell<Option<String>>>,
}

impl ArrayLink {
    pub fn new(url: Option<String>) -> Self {
        Self {
            url,
            backoff_ms: FIRST_RETRY_MS,
            retry: None,
            stopped: false,
            rediscover: false,
            fresh: Rc::new(RefCell::new(None)),
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
        if let Some(fresh) = self.array_link.fresh.borrow_mut().take() {
            self.array_link.url = Some(fresh);
        }
        let Some(url) = self.array_link.url.clone() else {
            return false;
        };
        if std::mem::take(&mut self.array_link.rediscover) {
            if let Some(disc) = self.disc_url(&url) {
                let fresh = self.array_link.fresh.clone();
                let tx = self.tx.clone();
                spawn_local(async move {
                    if let Ok(d) = crate::http::get_json::<Discovery>(&disc, None).await {
                        *fresh.borrow_mut() = Some(d.array_url);
                    }
                    let _ = tx.unbounded_send(Ev::ArrayRetry);
                });
                return true;
            }
        }
        let tx = self.tx.clone();
        let shared = self.shared.clone();
        self.array = ArraySocket::connect(&url, move |e| {
            let _ = tx.unbounded_send(Ev::Array(e));
        })
        .ok()
        .map(|s| s.with_attestation(Box::new(move || attestation(&shared.borrow()))));
        if self.array.is_none() {
            self.array_closed();
        }
        true
    }

    /// The discovery request of this download (as the first one asked it),
    /// at the worker of `array_url`.
    fn disc_url(&self, array_url: &str) -> Option<String> {
        let base = Endpoints::disc_for_array_url(array_url)?;
        let r = &self.report;
        let scope = r.scope.code();
        let mut url = match (&r.content_id, &r.alt_catalog_id) {
            (Some(id), _) => format!("{base}/{id}?scope={scope}"),
            (None, Some(alt)) => {
                format!(
                    "{base}?altCatalogId={}&scope={scope}",
                    encode_component(alt)
                )
            }
            (None, None) => return None,
        };
        if let Some(g) = &r.group_id {
            url.push_str(&format!("&groupId={}", encode_component(g)));
        }
        Some(url)
    }

    pub(super) fn array_closed(&mut self) {
        self.array = None;
        let link = &mut self.array_link;
        if link.stopped || link.url.is_none() || self.engine.mode() != Mode::P2p {
            return;
        }
        link.rediscover = true;
        let delay = link.backoff_ms;
        link.backoff_ms = (delay * 2).min(MAX_RETRY_MS);
        let tx = self.tx.clone();
        link.retry = Some(Timeout::new(delay, move || {
            let _ = tx.unbounded_send(Ev::ArrayRetry);
        }));
    }
}

/// This client's attestation from its peer views: peers it verified pieces
/// from (most pieces first) and peers it banned; `None` when both are empty.
fn attestation(s: &Shared) -> Option<Attestation> {
    let mut served: Vec<_> = s
        .peers
        .iter()
        .filter(|p| p.pieces_from > 0 && p.ban_reason.is_none())
        .collect();
    served.sort_by_key(|p| std::cmp::Reverse(p.pieces_from));
    let ids = |it: &mut dyn Iterator<Item = &str>| -> Vec<PeerId> {
        it.filter_map(|id| PeerId::new(id).ok())
            .take(MAX_ATTESTED_PEERS)
            .collect()
    };
    let a = Attestation {
        verified_from: ids(&mut served.iter().map(|p| p.id.as_str())),
        banned: ids(&mut s
            .peers
            .iter()
            .filter(|p| p.ban_reason.is_some())
            .map(|p| p.id.as_str())),
    };
    (!a.verified_from.is_empty() || !a.banned.is_empty()).then_some(a)
}
