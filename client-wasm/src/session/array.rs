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
//! costs one retry, never a loop. [`ArrayLink::next_step`] decides, purely.
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
use edgeswarm_protocol::ContentId;
use wasm_bindgen_futures::spawn_local;

use super::{Ev, Session};
use crate::array_ws::ArraySocket;
use crate::stats::Shared;
use crate::time::Timeout;

const FIRST_RETRY_MS: u32 = 1_000;
const MAX_RETRY_MS: u32 = 30_000;

/// What a (re)connect does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to join.
    Idle,
    /// Ask discovery (`GET disc`) for a fresh ticket, then come back.
    Rediscover { disc: String },
    /// Open the array socket at `url`.
    Connect { url: String },
}

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

    /// The socket closed (or never opened): the delay before the next try,
    /// which will ask discovery first; `None` when nothing reconnects.
    fn closed(&mut self) -> Option<u32> {
        if self.stopped || self.url.is_none() {
            return None;
        }
        self.rediscover = true;
        let delay = self.backoff_ms;
        self.backoff_ms = (delay * 2).min(MAX_RETRY_MS);
        Some(delay)
    }

    /// The next step of a (re)connect; `disc_of(url)` is this download's
    /// discovery request at the worker of array URL `url`.
    pub fn next_step(&mut self, disc_of: impl Fn(&str) -> Option<String>) -> Step {
        if self.stopped {
            return Step::Idle;
        }
        if let Some(fresh) = self.fresh.borrow_mut().take() {
            self.url = Some(fresh);
        }
        let Some(url) = self.url.clone() else {
            return Step::Idle;
        };
        if std::mem::take(&mut self.rediscover) {
            if let Some(disc) = disc_of(&url) {
                return Step::Rediscover { disc };
            }
        }
        Step::Connect { url }
    }
}

/// The discovery request of a download (as the first one asked it: by
/// content id, else by `altCatalogId`, with its scope and group), at the
/// worker whose array URL is `array_url`.
pub fn disc_url(
    array_url: &str,
    content_id: Option<&ContentId>,
    alt_catalog_id: Option<&str>,
    scope: u8,
    group_id: Option<&str>,
) -> Option<String> {
    let base = Endpoints::disc_for_array_url(array_url)?;
    let mut url = match (content_id, alt_catalog_id) {
        (Some(id), _) => format!("{base}/{id}?scope={scope}"),
        (None, Some(alt)) => format!(
            "{base}?altCatalogId={}&scope={scope}",
            encode_component(alt)
        ),
        (None, None) => return None,
    };
    if let Some(g) = group_id {
        url.push_str(&format!("&groupId={}", encode_component(g)));
    }
    Some(url)
}

impl Session {
    /// Opens (or re-opens) the array socket, asking discovery for a fresh
    /// ticket first after a close; false when there is no array to join
    /// (not P2P, stopped, or discovery gave none).
    pub(super) fn connect_array(&mut self) -> bool {
        self.array_link.retry = None;
        if self.engine.mode() != Mode::P2p {
            return false;
        }
        let r = &self.report;
        let disc_of = |url: &str| {
            disc_url(
                url,
                r.content_id.as_ref(),
                r.alt_catalog_id.as_deref(),
                r.scope.code(),
                r.group_id.as_deref(),
            )
        };
        match self.array_link.next_step(disc_of) {
            Step::Idle => false,
            Step::Rediscover { disc } => {
                let fresh = self.array_link.fresh.clone();
                let tx = self.tx.clone();
                spawn_local(async move {
                    if let Ok(d) = crate::http::get_json::<Discovery>(&disc, None).await {
                        *fresh.borrow_mut() = Some(d.array_url);
                    }
                    let _ = tx.unbounded_send(Ev::ArrayRetry);
                });
                true
            }
            Step::Connect { url } => {
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
        }
    }

    pub(super) fn array_closed(&mut self) {
        self.array = None;
        if self.engine.mode() != Mode::P2p {
            return;
        }
        let Some(delay) = self.array_link.closed() else {
            return;
        };
        let tx = self.tx.clone();
        self.array_link.retry = Some(Timeout::new(delay, move || {
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

#[cfg(test)]
mod tests {
    use super::*;

    const U0: &str = "ws://w/do/v1/array/00ff?ticket=1.a.00";
    const U1: &str = "ws://w/do/v1/array/00ff?ticket=2.a.11";

    fn disc(url: &str) -> Option<String> {
        disc_url(url, ContentId::new("demo").ok().as_ref(), None, 3, None)
    }

    #[test]
    fn a_reconnect_asks_discovery_first_and_joins_the_fresh_url() {
        let mut link = ArrayLink::new(Some(U0.into()));
        // The first join uses the plan's fresh arrayUrl.
        assert_eq!(link.next_step(disc), Step::Connect { url: U0.into() });
        // A close (an expired ticket's refusal looks the same) rediscovers.
        assert_eq!(link.closed(), Some(FIRST_RETRY_MS));
        let d = "http://w/do/v1/disc/demo?scope=3".to_owned();
        assert_eq!(link.next_step(disc), Step::Rediscover { disc: d });
        *link.fresh.borrow_mut() = Some(U1.into());
        assert_eq!(link.next_step(disc), Step::Connect { url: U1.into() });
    }

    #[test]
    fn a_failed_rediscovery_tries_the_old_url_once_per_backoff_never_a_loop() {
        let mut link = ArrayLink::new(Some(U0.into()));
        let mut delays = Vec::new();
        for _ in 0..7 {
            delays.push(link.closed().unwrap());
            assert!(matches!(link.next_step(disc), Step::Rediscover { .. }));
            // Discovery failed: nothing fresh; the old URL is tried once.
            assert_eq!(link.next_step(disc), Step::Connect { url: U0.into() });
        }
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        link.stop();
        assert_eq!(link.closed(), None);
        assert_eq!(link.next_step(disc), Step::Idle);
    }

    #[test]
    fn the_discovery_request_is_the_downloads_own() {
        let g = Some("team a");
        assert_eq!(
            disc_url(U0, ContentId::new("demo").ok().as_ref(), None, 2, g).as_deref(),
            Some("http://w/do/v1/disc/demo?scope=2&groupId=team%20a")
        );
        assert_eq!(
            disc_url(
                "wss://w/do/v1/array/1?ticket=x",
                None,
                Some("https://x/a b"),
                1,
                None
            )
            .as_deref(),
            Some("https://w/do/v1/disc?altCatalogId=https%3A%2F%2Fx%2Fa%20b&scope=1")
        );
        assert_eq!(disc_url(U0, None, None, 3, None), None);
    }

    #[test]
    fn the_attestation_names_verified_sources_and_bans() {
        let mut s = Shared::default();
        assert_eq!(attestation(&s), None, "nothing to say");
        s.peer_mut("a").pieces_from = 1;
        s.peer_mut("b").pieces_from = 5;
        s.peer_mut("c").pieces_from = 2;
        s.peer_mut("c").ban_reason = Some("BadPiece".into());
        s.peer_mut("d");
        let a = attestation(&s).unwrap();
        let names = |v: &[PeerId]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&a.verified_from), ["b", "a"]);
        assert_eq!(names(&a.banned), ["c"]);
        for i in 0..40 {
            s.peer_mut(&format!("p{i}")).pieces_from = 1;
        }
        assert_eq!(
            attestation(&s).unwrap().verified_from.len(),
            MAX_ATTESTED_PEERS
        );
    }
}
