//! The CDN side: HTTP range requests, one piece per request, verified like
//! peer bytes.
//!
//! Policy (P2P mode): the CDN is a source the swarm shares, kept busy with
//! distinct pieces; everything peers can serve comes from peers.
//! - nothing before `http_delay_secs` after start (DO's "delay download from
//!   HTTP"), nor before the first `PeerCandidates` input (at most
//!   `discovery_grace_ms`): the glue feeds the array service's answer, even
//!   an empty one, as soon as it has it; and, once per download, while a
//!   peer we dialled is not yet `Ready`, at most `http_peer_wait_ms` (its
//!   bitfield and leases show what not to fetch);
//! - which piece, and whether to wait: [`cdn`](super::cdn) (pieces no
//!   connected peer holds or leases, by a walk; the starving rule in a
//!   partial view of a large swarm); each request sends our lease to every
//!   peer ([`lease`](super::lease));
//! - requests in flight (cooperative mode): `pipeline_ms` of the CDN's
//!   measured bytes per busy second ([`BusyMeter`]) in [1,
//!   `http_concurrency`] (at most 2 until measured);
//! - minimum QoS: the CDN may also fetch pieces peers hold (still never a
//!   leased one) when the download rate over the last window (peers and
//!   CDN) is below the CDN's measured bytes per busy second (P2P
//!   must not make a download much slower than the CDN alone; a page that
//!   never used the CDN has no measure and stays with its peers), or below
//!   `min_download_bps` (DO's "minimum download QoS"; 0 = off: once the
//!   download has run for one window of the [`rate`](super::rate) meter,
//!   bytes from peers and the CDN below that rate; then all
//!   `http_concurrency` slots run; while the rule is on and a slot is free,
//!   the engine asks to be woken every sample interval);
//! - failures (no response, wrong status or length, bad hash) back off
//!   exponentially, and a request unanswered for too long is a failure
//!   (the shared [`HttpRetry`] policy, as in simple mode): its piece
//!   becomes missing again, its lease is released, and a late answer is
//!   ignored. The engine has no way to abort the glue's fetch; it only stops
//!   waiting for it.
//!
//! HTTP-only mode (P2P not allowed) skips the delay and the peer wait.

use std::collections::{BTreeMap, VecDeque};

use edgeswarm_protocol::wire::MAX_LEASE_MS;
use edgeswarm_protocol::PieceIndex;

use super::cdn::Mode;
use super::lease::RELEASE_MARGIN_MS;
use super::peer::Phase;
use super::rate::{BusyMeter, DownloadRate, SAMPLE_MS};
use super::Swarm;
use crate::retry::HttpRetry;
use crate::types::{Event, HttpRequestId, Millis, Output, Source};

#[derive(Debug)]
pub(super) struct HttpState {
    /// In-flight requests.
    in_flight: BTreeMap<HttpRequestId, Attempt>,
    next_id: u64,
    allowed_at: Millis,
    /// P2P mode: until the first `PeerCandidates` input (or this time), the
    /// engine does not know whether peers exist, so the CDN waits.
    pub discovery_until: Option<Millis>,
    retry: HttpRetry,
    /// End of the one wait for dialled peers to become `Ready` (set when
    /// the first dial is seen pending).
    peer_wait_until: Option<Millis>,
    /// Bytes received (peers + CDN) over time, for the minimum-QoS rule and
    /// the background share.
    pub rate: DownloadRate,
    /// The CDN's bytes per busy second (pipeline depth, leases, QoS).
    pub meter: BusyMeter,
    /// Smoothed time from request to answer, ms (0 until measured).
    answer_ms: u64,
    /// The next piece our CDN walk would take (`swarm::cdn`).
    pub cursor: Option<PieceIndex>,
    /// Partial view: end of the patience wait (`swarm::cdn`).
    pub patience_until: Option<Millis>,
}

/// One range request the glue is carrying out.
#[derive(Debug)]
struct Attempt {
    /// None once the piece was verified elsewhere.
    piece: Option<PieceIndex>,
    /// Given up (timed out) at this time.
    deadline: Millis,
    sent: Millis,
    /// End of the lease we announced for it (None: released or ended).
    lease_end: Option<Millis>,
}

impl HttpState {
    pub fn new(allowed_at: Millis, discovery_until: Option<Millis>, start: Millis) -> Self {
        Self {
            in_flight: BTreeMap::new(),
            next_id: 0,
            allowed_at,
            discovery_until,
            retry: HttpRetry::default(),
            peer_wait_until: None,
            rate: DownloadRate::new(start),
            meter: BusyMeter::default(),
            answer_ms: 0,
            cursor: None,
            patience_until: None,
        }
    }

    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Our announced leases still running: (piece, end).
    pub fn leases(&self) -> Vec<(PieceIndex, Millis)> {
        self.in_flight
            .values()
            .filter_map(|a| Some((a.piece?, a.lease_end?)))
            .collect()
    }

    /// Forgets the requests for `p`: one whose output is still queued in
    /// `out` is taken back (never carried out), one already polled is
    /// abandoned (its answer will be ignored).
    pub fn withdraw_piece(&mut self, p: PieceIndex, out: &mut VecDeque<Output>) {
        let ids: Vec<HttpRequestId> = self
            .in_flight
            .iter()
            .filter(|(_, a)| a.piece == Some(p))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let before = out.len();
            out.retain(|o| !matches!(o, Output::HttpRequest { id: i, .. } if *i == id));
            if out.len() < before {
                self.in_flight.remove(&id);
            }
        }
        self.abandon_piece(p);
    }

    /// The piece is verified (our `Have` ends the lease): stop waiting.
    pub fn abandon_piece(&mut self, p: PieceIndex) {
        for a in self.in_flight.values_mut() {
            if a.piece == Some(p) {
                a.piece = None;
                a.lease_end = None;
            }
        }
    }
}

impl Swarm {
    /// Requests past their deadline count as failed, and leases about to
    /// end on requests still running are released (see the module doc).
    fn expire_http(&mut self) {
        let now = self.now;
        let expired: Vec<HttpRequestId> = self
            .http
            .in_flight
            .iter()
            .filter(|(_, a)| a.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.on_http_failed(id);
        }
        let mut lapsing = Vec::new();
        for a in self.http.in_flight.values_mut() {
            if let (Some(p), Some(end)) = (a.piece, a.lease_end) {
                if now.plus(RELEASE_MARGIN_MS) >= end {
                    a.lease_end = None;
                    lapsing.push(p);
                }
            }
        }
        for p in lapsing {
            self.announce_lease(p, 0);
        }
    }

    fn received(&self) -> u64 {
        self.stats
            .bytes_from_peers
            .saturating_add(self.stats.bytes_from_http)
    }

    /// The minimum-QoS rule is on and the measured rate is below it.
    fn below_qos(&self) -> bool {
        let min = self.cfg.min_download_bps;
        self.p2p
            && min > 0
            && self
                .http
                .rate
                .rate(self.now, self.received())
                .is_some_and(|r| r < min)
    }

    /// The download (peers and CDN, over the last window) runs below what
    /// the CDN alone delivered per busy second (measured).
    fn cdn_faster(&self) -> bool {
        let cdn = self.http.meter.bps;
        let rate = self.http.rate.rate(self.now, self.received());
        self.p2p && cdn > 0 && rate.is_some_and(|r| r < cdn)
    }

    /// CDN requests to keep in flight (see the module doc).
    fn http_depth(&self) -> usize {
        let max = self.cfg.http_concurrency.max(1);
        let bps = self.http.meter.bps;
        if bps == 0 {
            return max.min(2);
        }
        let bytes = bps.saturating_mul(self.cfg.pipeline_ms) / 1000;
        let piece = u64::from(self.meta.piece_size().get());
        usize::try_from(1 + bytes / piece).map_or(max, |d| d.clamp(1, max))
    }

    /// The lease to announce for one more request: four times the longer
    /// of the measured answer time and the time the CDN needs for what we
    /// have in flight, within [4 s, the protocol cap] (half the cap until
    /// measured). Generous: an honest request that outlives its lease is
    /// released, and others may then fetch the piece a second time.
    fn lease_ms(&self) -> u32 {
        let bps = self.http.meter.bps;
        if bps == 0 || self.http.answer_ms == 0 {
            return MAX_LEASE_MS / 2;
        }
        let queued = (self.http.in_flight.len() as u64 + 1)
            .saturating_mul(u64::from(self.meta.piece_size().get()));
        let expected = (queued.saturating_mul(1000) / bps).max(self.http.answer_ms);
        let lease = expected
            .saturating_mul(4)
            .clamp(4_000, u64::from(MAX_LEASE_MS));
        u32::try_from(lease).unwrap_or(MAX_LEASE_MS)
    }

    /// Once per download: wait (bounded) for peers we dialled to be `Ready`.
    fn waiting_for_peers(&mut self) -> bool {
        let pending = !self.dialing.is_empty()
            || self
                .peers
                .values()
                .any(|p| p.dialed && p.phase != Phase::Ready);
        if !pending {
            return false;
        }
        let now = self.now;
        let until = *self
            .http
            .peer_wait_until
            .get_or_insert(now.plus(self.cfg.http_peer_wait_ms));
        now < until
    }

    pub(super) fn schedule_http(&mut self) {
        self.expire_http();
        let now = self.now;
        let total = self.received();
        self.http.rate.record(now, total);
        if self.done
            || self.background.hold
            || now < self.http.allowed_at
            || now < self.http.retry.backoff_until()
        {
            return;
        }
        match self.http.discovery_until {
            Some(t) if now < t => return,
            _ => self.http.discovery_until = None,
        }
        let below = self.below_qos();
        let mode = if below {
            Mode::Cooperative
        } else {
            self.cdn_mode()
        };
        let limit = match mode {
            Mode::Wait => return,
            _ if below => self.cfg.http_concurrency.max(1),
            Mode::Cooperative => self.http_depth(),
            Mode::Starving | Mode::StuckOnly => 1,
        };
        if self.http.in_flight.len() >= limit || (self.p2p && self.waiting_for_peers()) {
            return;
        }
        let qos = below || (mode == Mode::Cooperative && self.cdn_faster());
        let slow = self.slow_peers();
        while self.http.in_flight.len() < limit {
            let Some(p) = self.pick_for_cdn(qos, &slow, mode == Mode::StuckOnly) else {
                break;
            };
            self.pieces.start(p, Source::Http);
            self.http.patience_until = None;
            let id = HttpRequestId(self.http.next_id);
            self.http.next_id += 1;
            let timeout = self.http.retry.request_timeout(&self.cfg);
            let lease = self.lease_ms();
            let lease_end = self.p2p.then(|| now.plus(u64::from(lease)));
            if lease_end.is_some() {
                self.announce_lease(p, lease);
            }
            let attempt = Attempt {
                piece: Some(p),
                deadline: now.plus(timeout),
                sent: now,
                lease_end,
            };
            self.http.in_flight.insert(id, attempt);
            let range = self.meta.piece_range(p);
            self.out.push_back(Output::HttpRequest { id, range });
            self.event(Event::PieceRequested {
                piece: p.get(),
                source: Source::Http,
            });
        }
    }

    pub(super) fn http_deadline(&self) -> Option<Millis> {
        if self.done {
            return None;
        }
        let expiry = self.http.in_flight.values().map(|a| a.deadline).min();
        let release = self
            .http
            .in_flight
            .values()
            .filter_map(|a| a.lease_end)
            .map(|t| Millis(t.0.saturating_sub(RELEASE_MARGIN_MS)))
            .min();
        [
            expiry,
            release,
            self.http.discovery_until,
            Some(self.http.allowed_at),
            Some(self.http.retry.backoff_until()),
            self.http.peer_wait_until,
            self.http.patience_until,
            self.lease_deadline(),
            self.qos_recheck(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > self.now)
        .min()
    }

    /// With the minimum-QoS rule on (P2P) and a CDN slot free, the rate
    /// must be re-measured even when no input arrives.
    fn qos_recheck(&self) -> Option<Millis> {
        let free = self.http.in_flight.len() < self.cfg.http_concurrency.max(1);
        (self.p2p && self.cfg.min_download_bps > 0 && free).then(|| self.now.plus(SAMPLE_MS))
    }

    pub(super) fn on_http_response(&mut self, id: HttpRequestId, status: u16, body: Vec<u8>) {
        let Some(attempt) = self.http.in_flight.remove(&id) else {
            return;
        };
        self.stats.bytes_from_http += body.len() as u64;
        self.http.meter.add(body.len() as u64);
        let took = self.now.since(attempt.sent);
        let a = &mut self.http.answer_ms;
        *a = if *a == 0 { took } else { *a / 2 + took / 2 };
        let Some(p) = attempt.piece else { return };
        let whole_file = self.meta.piece_count() == 1;
        let status_ok = status == 206 || (status == 200 && whole_file);
        if !status_ok || body.len() != self.meta.piece_len(p) as usize {
            return self.http_attempt_failed(p, attempt.lease_end.is_some());
        }
        self.http.retry.succeeded();
        self.piece_complete(p, Source::Http, body);
        if !self.pieces.is_verified(p) && attempt.lease_end.is_some() {
            self.announce_lease(p, 0); // bad bytes: released
        }
    }

    pub(super) fn on_http_failed(&mut self, id: HttpRequestId) {
        let Some(attempt) = self.http.in_flight.remove(&id) else {
            return;
        };
        match attempt.piece {
            Some(p) => self.http_attempt_failed(p, attempt.lease_end.is_some()),
            None => self.http_failure(),
        }
    }

    /// The attempt at `p` ended without bytes: the piece is missing again
    /// and our lease on it, if still announced, is released.
    fn http_attempt_failed(&mut self, p: PieceIndex, leased: bool) {
        self.pieces.end_attempt(p, Source::Http);
        if leased {
            self.announce_lease(p, 0);
        }
        self.http_failure();
    }

    pub(super) fn http_failure(&mut self) {
        self.http.retry.failed(&self.cfg, self.now);
    }
}
