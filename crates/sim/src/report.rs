//! Builds the [`SimReport`] from the final state of a run.

use std::collections::BTreeSet;

use crate::config::{SimReport, StopReason};
use crate::world::{Node, World};

pub(crate) fn build(w: &World, stop_reason: StopReason) -> SimReport {
    let limit = u64::from(w.cfg.engine.strike_limit.max(1));
    let peers = w.cfg.peers;
    let mut completed = 0;
    let mut corrupt = 0;
    let mut honest_banned = 0;
    let mut banned_attackers = BTreeSet::new();
    let mut bad_senders = BTreeSet::new();
    let mut offenders = 0;
    let mut peer_bytes = 0;
    let mut rejected = 0;
    let mut last_finish: Option<u64> = Some(0);
    let mut slowest: Option<u64> = Some(0);
    let mut total: Option<u64> = Some(0);
    for node in &w.nodes {
        let Node::Honest(h) = node else { continue };
        corrupt += h.corrupt_stored;
        match h.finished_at {
            Some(t) => {
                completed += 1;
                last_finish = last_finish.map(|l| l.max(t));
                let took = t.saturating_sub(h.joined_at);
                slowest = slowest.map(|s| s.max(took));
                total = total.map(|s| s.saturating_add(took));
            }
            None => {
                last_finish = None;
                slowest = None;
                total = None;
            }
        }
        if let Some(e) = &h.engine {
            let s = e.stats();
            peer_bytes += s.bytes_from_peers;
            rejected += s.pieces_rejected;
        }
        for &(k, honest) in &h.banned {
            if honest {
                honest_banned += 1;
            } else {
                banned_attackers.insert(k);
            }
        }
        for (&k, &n) in &h.rejected_by_source {
            if k >= peers {
                bad_senders.insert(k);
            }
            if n >= limit && !h.banned.iter().any(|(b, _)| *b == k) {
                offenders += 1;
            }
        }
    }
    let file_size = w.cfg.file_size;
    SimReport {
        peers,
        malicious: w.cfg.malicious,
        completed,
        corrupt_pieces_accepted: corrupt,
        malicious_banned: banned_attackers.len(),
        honest_banned,
        cdn_bytes: w.cdn_bytes,
        peer_bytes,
        file_size,
        virtual_seconds: w.now as f64 / 1e6,
        cdn_copies: if file_size == 0 {
            0.0
        } else {
            w.cdn_bytes as f64 / file_size as f64
        },
        pieces_rejected: rejected,
        malicious_sent_bad_data: bad_senders.len(),
        unbanned_repeat_offenders: offenders,
        last_finish_seconds: last_finish.map(|t| t as f64 / 1e6),
        slowest_peer_seconds: slowest.map(|t| t as f64 / 1e6),
        mean_peer_seconds: total.map(|t| t as f64 / 1e6 / peers.max(1) as f64),
        events: w.events,
        stop_reason,
    }
}
