//! Peer selection: which peers an array offers a client, most useful first.
//!
//! Standing comes first: every peer the array has seen serve (another peer
//! vouched for it, [`super::standing`]) ranks ahead of every peer without,
//! and self-reports only order peers of equal standing. Then usefulness: a
//! client that still downloads is offered complete copies (seeds,
//! `left == 0`) first, then the downloading peers ahead of it (less left to
//! fetch than it reports; a client that has not reported yet counts every
//! downloading peer as ahead), then the others, then peers that have not
//! reported yet. A seed is offered the peers that still need data. Within
//! each of those groups a per-(client, peer) mix decides, never the exact
//! progress or upload speed: ranked by those, every joiner of a crowd got
//! the same few most-advanced peers, whose inbound slots were full, and
//! fetched the whole file from the CDN alone (300 pages joining over 3 s in
//! the simulator: 51.8 CDN copies; with the mix 11.0,
//! docs/bench/engine.md). Never the client itself; at most `want` peers.

use edgeswarm_protocol::array::{PeerId, PeerInfo, Report};

/// A stable 64-bit mix of two ids (FNV-1a); only used to break ties.
fn mix(a: &PeerId, b: &PeerId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.as_str().bytes().chain([0u8]).chain(b.as_str().bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Sort key: standing (with first), usefulness class, behind the client
/// (ahead first), mix.
type Rank = (std::cmp::Reverse<bool>, u8, bool, u64);

/// One candidate: its id, its report, whether it has standing.
pub type Candidate<'a> = (&'a PeerId, Option<&'a Report>, bool);

/// The view of a peer the answer is built from.
pub fn info(id: &PeerId, report: Option<&Report>) -> PeerInfo {
    let r = report.cloned().unwrap_or_default();
    PeerInfo {
        peer_id: id.clone(),
        left: report.map(|r| r.left),
        uploaded: r.uploaded,
        downloaded: r.downloaded,
        uploaded_bps: r.uploaded_bps,
        download_bps: r.download_bps,
        is_background: r.is_background,
    }
}

/// Up to `want` peers for `me`, most useful first.
pub fn select<'a>(
    me: &PeerId,
    my_report: Option<&Report>,
    others: impl Iterator<Item = Candidate<'a>>,
    want: usize,
) -> Vec<PeerInfo> {
    let i_am_seed = my_report.is_some_and(|r| r.left == 0);
    let my_left = my_report.map_or(u64::MAX, |r| r.left);
    let mut ranked: Vec<(Rank, &PeerId, Option<&Report>)> = others
        .filter(|(id, _, _)| *id != me)
        .map(|(id, report, standing)| {
            let class = match report {
                None => 2,
                Some(r) if i_am_seed => u8::from(r.left == 0),
                Some(r) => u8::from(r.left != 0),
            };
            let behind = !i_am_seed && report.is_some_and(|r| r.left >= my_left);
            (
                (std::cmp::Reverse(standing), class, behind, mix(me, id)),
                id,
                report,
            )
        })
        .collect();
    if want < ranked.len() {
        ranked.select_nth_unstable_by(want, |a, b| a.0.cmp(&b.0));
        ranked.truncate(want);
    }
    ranked.sort_unstable_by_key(|r| r.0);
    ranked.into_iter().map(|(_, id, r)| info(id, r)).collect()
}
