//! The CDN side: when to send HTTP range requests, and for which pieces;
//! their answers are handled in [`http_stream`](super::http_stream).
//!
//! Ranges: in HTTP-only mode pieces are asked in file order, a run of up to
//! `http_max_range_pieces` consecutive missing pieces per request (fewer
//! near the end: `missing / http_concurrency`, so every slot stays busy),
//! streamed and verified piece by piece. In P2P mode a request starts at the
//! rarest piece the policy below allows; while the CDN races the peers it is
//! a run of consecutive missing pieces by the same length rule, otherwise one
//! piece (so that pages fetching from the CDN at the same time rarely
//! overlap; runs for pages without peers yet were measured to raise copies,
//! docs/bench/engine.md "The CDN race").
//!
//! Policy (P2P mode):
//! - nothing before `http_delay_secs` after start (DO's "delay download from
//!   HTTP"), nor before the first `PeerCandidates` input (at most
//!   `discovery_grace_ms`): the glue feeds the array service's answer, even
//!   an empty one, as soon as it has it;
//! - only pieces that no usable connected peer can serve — slow peers (the
//!   drip defence, `swarm::download`) do not count: pieces only they can
//!   serve, or only they hold in flight, may come from the CDN, and their
//!   requests do not stop the swarm from "starving";
//! - with no peers connected or being connected: up to `http_concurrency`
//!   requests at once;
//! - with peers downloading (not starving): one request at a time, only for
//!   a piece stuck with slow peers (in flight with slow peers only, and no
//!   other usable peer can serve it), without the patience wait;
//! - with peers but nothing in flight from them ("starving"): one request at
//!   a time, each after a random wait of up to `http_patience_ms_per_peer` ×
//!   (connected + connecting peers), so that when a whole swarm
//!   starts empty, roughly one peer fetches a piece from the CDN and the
//!   others get it from that peer;
//! - the CDN race ([`race`](super::race), `http_race_percent`): once the
//!   CDN's and the peers' throughputs are measured, while the peers' is
//!   below `100 / http_race_percent` of the CDN's, the CDN runs up to
//!   `http_concurrency` runs of pieces at once, any piece not in flight,
//!   without the starving condition or the patience wait (the peers go on
//!   fetching: two sources are never slower than the faster one), and no
//!   new request while the CDN's bytes still to come reach what it carries
//!   in a few seconds (the cap, [`race`](super::race)), and no run longer
//!   than one piece more than the CDN has delivered and verified for this
//!   page (the slow start, [`race::slow_start`]; an owner's fetch, below,
//!   too);
//! - minimum download QoS (`min_download_bps`, DO's "minimum background
//!   QoS"; 0 = off): once the download has run for one window of the
//!   [`rate`](super::rate) meter, if the bytes received from peers and the
//!   CDN over that window come to less than `min_download_bps` per second,
//!   the CDN runs up to `http_concurrency` requests even while peers are
//!   downloading, without the starving condition or the patience wait: the
//!   pieces no peer holds first (rarest first), then any missing piece,
//!   those in flight at peers too (a second attempt; the first verified
//!   wins), and leases are ignored. While the rule is on and a slot is free,
//!   the engine asks to be woken every sample interval to re-measure;
//! - fetch leases ([`lease`](super::lease)): every CDN request is announced
//!   to the ready peers that lack its pieces (`Fetching`), and a piece a
//!   usable peer holds a live lease on is left to it by every path but the
//!   minimum-QoS rule;
//! - failures (no response, wrong status or length, bad hash) back off
//!   exponentially, and a request unanswered for too long is a failure
//!   (the shared [`HttpRetry`] policy, as in simple mode): its piece
//!   becomes missing again and a late answer is ignored. The engine has no
//!   way to abort the glue's fetch; it only stops waiting for it.
//!
//! HTTP-only mode (P2P not allowed) skips the delay and the patience.

use std::collections::{BTreeMap, VecDeque};

use edgeswarm_protocol::PieceIndex;
use rand_core::Rng;

use super::http_stream::Attempt;
use super::race;
use super::rate::{DownloadRate, SAMPLE_MS};
use super::Swarm;
use crate::retry::HttpRetry;
use crate::types::{Event, HttpRequestId, Millis, Output, Source};

#[derive(Debug)]
pub(super) struct HttpState {
    /// In-flight requests.
    pub in_flight: BTreeMap<HttpRequestId, Attempt>,
    next_id: u64,
    allowed_at: Millis,
    /// P2P mode: until the first `PeerCandidates` input (or this time), the
    /// engine does not know whether peers exist, so the CDN waits.
    pub discovery_until: Option<Millis>,
    pub retry: HttpRetry,
    /// HTTP-only mode: the in-order scan for missing pieces starts here
    /// (lowered when a piece becomes missing again; the scan wraps around,
    /// so this is only a shortcut, never a correctness matter).
    pub scan_from: u32,
    patience_until: Option<Millis>,
    /// Bytes received (peers + CDN) over time, for the minimum-QoS rule and
    /// the background share.
    pub rate: DownloadRate,
    /// Pieces the CDN delivered that verified (first copies only), for the
    /// race's slow start.
    pub verified: u64,
}

impl HttpState {
    pub fn new(allowed_at: Millis, discovery_until: Option<Millis>, start: Millis) -> Self {
        Self {
            in_flight: BTreeMap::new(),
            next_id: 0,
            allowed_at,
            discovery_until,
            retry: HttpRetry::default(),
            scan_from: 0,
            patience_until: None,
            rate: DownloadRate::new(start),
            verified: 0,
        }
    }

    /// Forgets the requests for `p`: a request for it whose output is
    /// still queued in `out` is taken back (never carried out) and the other
    /// pieces of its range are returned (the caller ends their attempts, and
    /// they are asked again); in a request already polled, the bytes of `p`
    /// are ignored.
    pub fn withdraw_piece(&mut self, p: PieceIndex, out: &mut VecDeque<Output>) -> Vec<PieceIndex> {
        let ids: Vec<HttpRequestId> = self
            .in_flight
            .iter()
            .filter(|(_, a)| a.pieces.contains(&Some(p)))
            .map(|(id, _)| *id)
            .collect();
        let mut freed = Vec::new();
        for id in ids {
            let before = out.len();
            out.retain(|o| !matches!(o, Output::HttpRequest { id: i, .. } if *i == id));
            if out.len() < before {
                if let Some(a) = self.in_flight.remove(&id) {
                    freed.extend(a.pieces.into_iter().flatten().filter(|q| *q != p));
                }
            }
        }
        if let Some(low) = freed.iter().map(|q| q.get()).min() {
            self.scan_from = self.scan_from.min(low);
        }
        self.abandon_piece(p);
        freed
    }

    pub fn abandon_piece(&mut self, p: PieceIndex) {
        for a in self.in_flight.values_mut() {
            for slot in &mut a.pieces {
                if *slot == Some(p) {
                    *slot = None;
                }
            }
        }
    }
}

impl Swarm {
    /// Requests past their deadline count as failed (see the module doc).
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

    pub(super) fn schedule_http(&mut self) {
        self.expire_http();
        self.expire_leases();
        let now = self.now;
        let total = self.received();
        self.http.rate.record(now, total);
        if self.done
            || self.background.hold
            || self.store.holds()
            || now < self.http.allowed_at
            || now < self.http.retry.backoff_until()
        {
            return;
        }
        match self.http.discovery_until {
            Some(t) if now < t => return,
            _ => self.http.discovery_until = None,
        }
        // Peers connected or being connected: if there are any, the CDN
        // waits for them (patience) and is used one request at a time —
        // unless the download is below the minimum QoS.
        let expected = (self.peers.len() + self.dialing.len()) as u64;
        let qos = expected > 0 && self.below_qos();
        // Requests held by slow peers (the drip defence) do not count.
        let slow = self.slow_peers();
        let starving = self
            .peers
            .iter()
            .all(|(k, p)| p.downloads.is_empty() || slow.contains(k));
        // The array's share (`share`): owners fetch theirs at once, others
        // only owned pieces until they have starved for a while.
        let share = expected > 0 && self.p2p && self.share_used();
        // The race is the minimum-QoS guard: it ignores the share unless it
        // follows it (LAN mode), so that members that take a share and
        // never fetch it (Sybils) cannot hold a download beyond its bound.
        let cdn_ahead = self.race.cdn_ahead(now, self.cfg.http_race_percent);
        let follows = self.cfg.race_follows_share == Some(true);
        // Following it, the time the race would run (held to the share or
        // not) counts as starving: peers that deliver, however slowly, hold
        // it for at most the orphan wait.
        self.note_starving(expected > 0 && (starving || (cdn_ahead && follows)));
        let owned_only = share && !qos && (!cdn_ahead || follows) && !self.orphans_due();
        // The owner's fetch: its owned pieces nobody near serves, at once.
        let owner_fetch =
            share && !qos && !cdn_ahead && self.share_settled() && self.owner_has_work(&slow);
        let race = expected > 0 && self.p2p && (cdn_ahead || owner_fetch);
        let limit = if expected == 0 || qos || race {
            self.cfg.http_concurrency.max(1)
        } else {
            1
        };
        if self.http.in_flight.len() >= limit {
            return;
        }
        // Not starving: only pieces stuck with slow peers may go to the CDN.
        let stuck_only = expected > 0 && !qos && !race && !starving;
        if stuck_only {
            self.http.patience_until = None;
        }
        if expected > 0 && !qos && !race && !stuck_only {
            match self.http.patience_until {
                None => {
                    let max = self.cfg.http_patience_ms_per_peer.saturating_mul(expected);
                    // saturating: `max` comes from the bootstrap config.
                    let wait = self.rng.next_u64() % max.saturating_add(1);
                    self.http.patience_until = Some(now.plus(wait));
                    if wait > 0 {
                        return;
                    }
                }
                Some(t) if now < t => return,
                Some(_) => {}
            }
        }
        let owned_only = owned_only && !stuck_only;
        let piece_size = u64::from(self.meta.piece_size().get());
        while self.http.in_flight.len() < limit {
            // The race's cap, before the picker's scan.
            let room = if race {
                let left = self.http.in_flight.values().map(|a| a.left()).sum();
                self.race.room(piece_size, limit, left)
            } else {
                usize::MAX
            };
            if room == 0 {
                break;
            }
            let run = if self.p2p {
                let (peers, pieces) = (&self.peers, &self.pieces);
                // While the share settles, the patience path takes nothing.
                let (owned, settled) = (&self.share.owned, self.share_settled());
                let owns = |p: PieceIndex| settled && owned.contains(&p);
                // Pieces only slow peers can serve, or hold, are the CDN's too.
                let eligible = |p| {
                    let served = || slow.served(peers, p, now);
                    let skip = stuck_only && pieces.is_missing(p);
                    // A peer's live lease leaves the piece to its CDN
                    // request (`lease`); the minimum-QoS rule trusts none.
                    let leased = || !qos && slow.leased(peers, p, now);
                    if owner_fetch {
                        return owns(p) && !served() && !leased();
                    }
                    // Below the minimum QoS, peers that hold a piece do not
                    // keep it from the CDN: they are what is too slow.
                    (race || qos || (!skip && !served())) && !leased() && (!owned_only || owns(p))
                };
                // Below the minimum QoS the CDN may also take a piece in
                // flight at peers (a second attempt; the first verified wins).
                let reclaim = |sources: &[Source]| {
                    sources.iter().all(|s| match s {
                        Source::Peer(k) => qos || slow.contains(k),
                        Source::Http => false,
                    })
                };
                let picked = self.pieces.pick_rarest_reclaiming(
                    &self.meta,
                    &mut self.rng,
                    eligible,
                    reclaim,
                );
                match picked {
                    Some(first) if race => {
                        let mut run = self.run_from(first, limit, &eligible);
                        run.truncate(room.min(race::slow_start(self.http.verified)));
                        run
                    }
                    picked => picked.into_iter().collect(),
                }
            } else {
                self.in_order_run(limit)
            };
            let (Some(&first), Some(&last)) = (run.first(), run.last()) else {
                break;
            };
            self.http.patience_until = None;
            let id = HttpRequestId(self.http.next_id);
            self.http.next_id += 1;
            let timeout = self.http.retry.request_timeout(&self.cfg);
            let range = self.meta.piece_range(first).start..self.meta.piece_range(last).end;
            let whole_file = range.start == 0 && range.end == self.meta.file_size();
            for &p in &run {
                self.pieces.start(p, Source::Http);
            }
            let len = range.end - range.start;
            let attempt = Attempt::new(run.clone(), len, whole_file, now.plus(timeout));
            self.http.in_flight.insert(id, attempt);
            self.out.push_back(Output::HttpRequest { id, range });
            if self.p2p {
                self.announce_fetching(&run);
            }
            for p in run {
                self.event(Event::PieceRequested {
                    piece: p.get(),
                    source: Source::Http,
                });
            }
        }
    }

    pub(super) fn http_deadline(&self) -> Option<Millis> {
        if self.done {
            return None;
        }
        let expiry = self.http.in_flight.values().map(|a| a.deadline).min();
        [
            expiry,
            self.http.discovery_until,
            Some(self.http.allowed_at),
            Some(self.http.retry.backoff_until()),
            self.http.patience_until,
            self.qos_recheck(),
            // Peers without a rate stop counting then (`race`).
            self.race.grace_deadline(self.cfg.http_race_percent),
            // A lease's end may free its piece for the CDN (`lease`).
            self.lease_deadline(),
            // The share settles, or a starving page may take orphans.
            self.share_deadline(),
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
}
