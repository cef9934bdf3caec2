//! Which piece this page fetches from the CDN next (P2P mode), so that
//! pages sharing one CDN link fetch distinct pieces.
//!
//! Open pieces: missing, held by no usable connected peer (announced, not
//! given up, not slow: the drip defence; nor lagging below the drip floor
//! after a sixteenth of `slow_window_ms` of request time, four times sooner
//! than the drip defence's own grace, so that a drip that announced every
//! piece keeps the CDN idle for less long) and leased by no connected peer
//! (`swarm::lease`). With the minimum-QoS rule on (`swarm::http`), held
//! pieces are open too (rarest first), and so is a second attempt at a
//! piece in flight with peers only (the first verified copy wins); leased
//! ones never.
//!
//! The walk: each page fetches open pieces in ascending order (wrapping
//! around) from a start of its own, and picks a new start when the next
//! piece is no longer open (another page holds or leases it). A start is a
//! random piece in the middle half of the longest run of open pieces (ties
//! broken at random). So a page starts far from where other pages are
//! fetching: their newest requests sit at the *beginning* of a run (just
//! after what they hold), exactly the pieces whose leases may still be on
//! the way (a lease waits behind piece data on the sender's channel). Two
//! pages collide only when one's walk reaches the other's start before that
//! start's lease arrived. No peer ids are needed (the engine only has the
//! glue's local keys), and nothing waits.
//!
//! Modes ([`Mode`]): the walk assumes each page sees the whole swarm, so
//! that "no connected peer holds or leases it" means "nobody does". With
//! more peers known than `coop_max_peers`, a page sees part of a large
//! swarm, and fetching what its neighbours lack would cost about one copy
//! per neighbourhood (the simulator gave 12 copies at 300 peers); there the
//! engine keeps the starving rule: the CDN only while no usable peer
//! download is in flight, one request at a time, each after a random wait
//! of up to `http_patience_ms_per_peer` × (connected + connecting peers),
//! and otherwise only for pieces stuck with slow peers.
//!
//! A swarm that starts empty together (no connected peer holds or leases
//! anything, and we never used the CDN) also waits the patience once
//! before its first request: picks made at the same moment cannot see each
//! other's leases.
//!
//! Only when no piece is open, the CDN may take a piece whose only attempt
//! is with slow peers (by the same walk over such pieces): a CPU-slow honest
//! peer does not cause a duplicate CDN fetch while distinct work is left.

use std::collections::BTreeSet;

use edgeswarm_protocol::{Metadata, PieceIndex};
use rand_core::Rng;

use super::peer::Phase;
use super::Swarm;
use crate::types::{PeerKey, Source};

/// How the CDN may be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The whole swarm in view (or no peers): distinct open pieces, at the
    /// measured depth, without waiting.
    Cooperative,
    /// Partial view, no usable peer download in flight: one request at a
    /// time, for an open piece.
    Starving,
    /// Partial view, peers downloading: one request at a time, only for a
    /// piece stuck with slow peers.
    StuckOnly,
    /// Partial view, starving: the patience wait is running.
    Wait,
}

impl Swarm {
    /// How the CDN may be used now (see the module doc).
    pub(super) fn cdn_mode(&mut self) -> Mode {
        let expected = self.peers.len() + self.dialing.len();
        let known = expected + self.candidates.len();
        let now = self.now;
        // A swarm starting empty together: nobody holds or leases anything
        // yet, so pages that pick at once would collide; stagger the first
        // request (patience), then leases keep the picks apart.
        let fresh = self.stats.bytes_from_http == 0
            && !self.http.busy()
            && self
                .peers
                .values()
                .all(|p| p.has.ones().next().is_none() && p.leases.next_change(now).is_none());
        if !self.p2p || expected == 0 || (known <= self.cfg.coop_max_peers && !fresh) {
            self.http.patience_until = None;
            return Mode::Cooperative;
        }
        let slow = self.slow_peers();
        let starving = self
            .peers
            .iter()
            .all(|(k, p)| p.downloads.is_empty() || slow.contains(k));
        if !starving && !fresh {
            self.http.patience_until = None;
            return Mode::StuckOnly;
        }
        match self.http.patience_until {
            None => {
                let max = self
                    .cfg
                    .http_patience_ms_per_peer
                    .saturating_mul(expected as u64);
                // saturating: `max` comes from the bootstrap config.
                let wait = self.rng.next_u64() % max.saturating_add(1);
                self.http.patience_until = Some(now.plus(wait));
                if wait > 0 {
                    return Mode::Wait;
                }
            }
            Some(t) if now < t => return Mode::Wait,
            Some(_) => {}
        }
        Mode::Starving
    }

    /// The next piece for the CDN (see the module doc), or None.
    pub(super) fn pick_for_cdn(
        &mut self,
        qos: bool,
        slow: &BTreeSet<PeerKey>,
        stuck_only: bool,
    ) -> Option<PieceIndex> {
        let now = self.now;
        let r = self.rng.next_u64();
        let (peers, pieces, meta) = (&self.peers, &self.pieces, &self.meta);
        let (floor, early) = (self.cfg.min_request_bps, self.cfg.slow_window_ms / 16);
        let held = |p: PieceIndex| {
            peers.iter().any(|(k, peer)| {
                peer.phase == Phase::Ready
                    && peer.has.get(p.get())
                    && !peer.given_up.contains(&p)
                    && !slow.contains(k)
                    && !peer.window.lagging(floor, early)
            })
        };
        let leased = |p| peers.values().any(|peer| peer.leases.covers(p, now));
        let open = |p| pieces.is_missing(p) && !leased(p) && !held(p);
        if qos {
            // Also a second attempt at a piece in flight with peers only.
            let peers_only = |s: &[Source]| s.iter().all(|s| matches!(s, Source::Peer(_)));
            let any = |p| !leased(p);
            let pick = pieces.pick_rarest_reclaiming(meta, &mut self.rng, any, peers_only);
            if pick.is_some() {
                return pick;
            }
        }
        let next = match self.http.cursor.filter(|p| open(*p)) {
            _ if stuck_only => None,
            Some(p) => Some(p),
            None => walk_start(meta, r, &open),
        };
        if let Some(p) = next {
            self.http.cursor = meta.piece((p.get() + 1) % meta.piece_count());
            return Some(p);
        }
        // Pieces only slow peers hold, or hold in flight, are the CDN's too
        // (the same walk, so that pages do not all reclaim the same ones).
        let reclaim = |sources: &[Source]| {
            sources.iter().all(|s| match s {
                Source::Peer(k) => slow.contains(k),
                Source::Http => false,
            })
        };
        let stuck = |p| pieces.reclaimable(p, reclaim) && !leased(p) && !held(p);
        let p = match self.http.cursor.filter(|p| stuck(*p)) {
            Some(p) => Some(p),
            None => walk_start(meta, r, &stuck),
        }?;
        self.http.cursor = meta.piece((p.get() + 1) % meta.piece_count());
        Some(p)
    }
}

/// A random piece in the middle half of the longest circular run of
/// open pieces (`r` is a random number), or None if none is open.
fn walk_start(meta: &Metadata, r: u64, open: &impl Fn(PieceIndex) -> bool) -> Option<PieceIndex> {
    let n = meta.piece_count();
    let first_closed = meta.pieces().find(|p| !open(*p));
    let Some(first_closed) = first_closed else {
        // Everything is open: anywhere.
        return meta.piece((r % u64::from(n.max(1))) as u32);
    };
    // Runs in circular order, starting after the first closed piece.
    let mut best: Vec<(u32, u32)> = Vec::new(); // (start, len) of the longest runs
    let mut run: Option<(u32, u32)> = None;
    for step in 1..=n {
        let i = (first_closed.get() + step) % n;
        let is_open = meta.piece(i).is_some_and(open);
        if is_open {
            let (s, l) = run.unwrap_or((i, 0));
            run = Some((s, l + 1));
            continue;
        }
        if let Some((s, l)) = run.take() {
            match best.first() {
                Some(&(_, bl)) if l < bl => {}
                Some(&(_, bl)) if l == bl => best.push((s, l)),
                _ => best = vec![(s, l)],
            }
        }
    }
    let count = best.len() as u64;
    let (start, len) = *best.get((r % count.max(1)) as usize)?;
    // The middle half: skip a quarter at each end.
    let span = u64::from(len.div_ceil(2).max(1));
    let offset = len / 4 + ((r / count.max(1)) % span) as u32;
    meta.piece((start + offset.min(len - 1)) % n)
}
