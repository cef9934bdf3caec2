//! The "tracker": a model of the array service's peer lists
//! (edge-worker's `array::select`), so that lies in reports matter here as
//! they do there.
//!
//! Each peer's report is what it would last have told the array: an
//! honest peer its engine's bytes left and its average upload speed since
//! it joined; a `ForgedReport` attacker `left` 0 and the largest upload
//! speed; other attackers nothing (never reported). A joining peer (no
//! report yet, so not a seed) gets up to `peers_wanted` of the peers that
//! joined before it, ranked as the array ranks them: seeds first, then the
//! downloading peers (all ahead of a joiner), then peers that never
//! reported; within each class a per-(client, peer) mix (here seeded).

use edgeswarm_engine::PeerKey;

use crate::config::MaliciousKind;
use crate::world::{Node, World};

/// What a node last reported to the array: its bytes left.
fn report(w: &World, j: usize) -> Option<u64> {
    match &w.nodes[j] {
        Node::Honest(h) => Some(h.engine.as_ref()?.stats().bytes_left),
        Node::Attacker(a) if a.kind == MaliciousKind::ForgedReport => Some(0),
        Node::Attacker(_) => None,
    }
}

/// SplitMix64 finalizer (the tie-breaking mix).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The array's sort key: usefulness class, mix.
type Rank = (u8, u64);

/// The peer list node `i` gets when it joins.
pub(crate) fn peer_list(w: &World, i: usize) -> Vec<PeerKey> {
    let mut ranked: Vec<(Rank, usize)> = (0..w.nodes.len())
        .filter(|&j| j != i && w.joined[j])
        .map(|j| {
            let r = report(w, j);
            let class = match r {
                None => 2,
                Some(left) => u8::from(left != 0),
            };
            // The joiner has not reported: every downloading peer is ahead
            // of it, and the mix orders them (never progress or speed).
            let tie = mix(w.cfg.seed ^ mix((i as u64) << 32 | j as u64));
            ((class, tie), j)
        })
        .collect();
    ranked.sort_unstable();
    ranked.truncate(w.cfg.peers_wanted);
    ranked.into_iter().map(|(_, j)| PeerKey(j as u64)).collect()
}

/// Whether the array counts node `j` as a member still downloading: it
/// joined and its report says bytes are left. Honest peers until they
/// finish; attackers always (saying so is a Sybil's cheapest lie: it takes
/// a share of the CDN's work and never fetches it), but for the forged
/// reports that claim a whole copy.
pub(crate) fn downloading(w: &World, j: usize) -> bool {
    w.joined[j]
        && match &w.nodes[j] {
            Node::Honest(h) => h.finished_at.is_none(),
            Node::Attacker(a) => a.kind != MaliciousKind::ForgedReport,
        }
}
