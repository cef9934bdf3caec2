//! The array's share of the CDN's work through the public API: in an array
//! larger than a page may connect to, the members' CDN requests divide the
//! file between them (no piece fetched by two ranks) and a member fetches
//! pieces it does not own only after starving for `SHARE_ORPHAN_WAIT_MS`
//! (their owner may have left, or lie); in a small array the share changes
//! nothing.

mod common;

use std::collections::BTreeSet;
use std::ops::Range;

use common::*;
use edgeswarm_engine::{
    Content, EngineConfig, HttpRequestId, Input, Output, PeerKey, SHARE_ORPHAN_WAIT_MS,
    SHARE_SETTLE_MS,
};
use edgeswarm_protocol::DownloadMode;

const K: PeerKey = PeerKey(7);
const PIECES: usize = 40;
const MEMBERS: u32 = 10;

fn cfg() -> EngineConfig {
    EngineConfig {
        max_peers: 4,
        ..EngineConfig::default()
    }
}

/// A P2P node whose only peer `K` holds nothing, given `share` (rank,
/// members) before its peer list, as the array sends them.
fn node(f: &[u8], cfg: EngineConfig, share: Option<(u32, u32)>) -> Node {
    node_in(DownloadMode::Internet, f, cfg, share)
}

/// The same in download mode `mode`.
fn node_in(mode: DownloadMode, f: &[u8], cfg: EngineConfig, share: Option<(u32, u32)>) -> Node {
    let (meta, mb) = metadata(f);
    let content = Content {
        mode,
        ..content(&mb, true)
    };
    let mut n = Node::new(cfg, content, f.len());
    if let Some((rank, members)) = share {
        n.input(Input::ArrayShare { rank, members });
    }
    n.input(Input::PeerCandidates(vec![K]));
    n.input(Input::PeerConnected { peer: K });
    for fr in hello(&meta, &mb, vec![0; PIECES / 8]) {
        n.input(Input::PeerData { peer: K, bytes: fr });
    }
    n
}

/// Runs the node to completion (its CDN answers at once); every CDN
/// request's (time, first piece, last piece).
fn run(n: &mut Node, f: &[u8]) -> Vec<(u64, u32, u32)> {
    let p = PIECE as u64;
    for _ in 0..100_000 {
        let outs = n.drain();
        n.serve_http(f, outs);
        if n.engine.is_finished() || !n.advance_to_timeout() {
            break;
        }
    }
    assert!(n.engine.is_finished(), "the download completes");
    assert_eq!(n.stored, f, "bytes intact");
    n.served
        .iter()
        .map(|(t, r)| (*t, (r.start / p) as u32, (r.end.div_ceil(p) - 1) as u32))
        .collect()
}

fn pieces_before(reqs: &[(u64, u32, u32)], t: u64) -> BTreeSet<u32> {
    reqs.iter()
        .filter(|(at, _, _)| *at < t)
        .flat_map(|(_, a, b)| *a..=*b)
        .collect()
}

#[test]
fn the_members_of_a_large_array_divide_the_file_and_take_orphans_after_starving() {
    let f = file(PIECES * PIECE);
    let mut seen = BTreeSet::new();
    for rank in 0..MEMBERS {
        let mut n = node(&f, cfg(), Some((rank, MEMBERS)));
        let reqs = run(&mut n, &f);
        let owned = pieces_before(&reqs, SHARE_ORPHAN_WAIT_MS);
        assert!(
            reqs.iter().all(|(t, _, _)| *t >= SHARE_SETTLE_MS),
            "nothing before the share settles: {reqs:?}"
        );
        assert!(
            owned.is_disjoint(&seen),
            "rank {rank} fetched {owned:?}, some already another rank's"
        );
        seen.extend(owned);
        // Its orphans came after the wait, each piece once.
        let all: Vec<u32> = reqs.iter().flat_map(|(_, a, b)| *a..=*b).collect();
        assert_eq!(all.len(), PIECES, "no piece fetched twice: {reqs:?}");
    }
    assert_eq!(seen.len(), PIECES, "every piece had an owner: {seen:?}");
}

#[test]
fn a_share_in_an_array_the_page_can_see_whole_changes_nothing() {
    let f = file(PIECES * PIECE);
    let small = cfg().max_peers as u32;
    let with = run(&mut node(&f, cfg(), Some((1, small))), &f);
    let without = run(&mut node(&f, cfg(), None), &f);
    assert_eq!(with, without);
    // The same page in a larger array waits for its share to settle.
    let large = run(&mut node(&f, cfg(), Some((1, small + 1))), &f);
    assert_ne!(large, without);
}

#[test]
fn a_share_that_names_no_member_is_ignored() {
    let f = file(PIECES * PIECE);
    let bad = run(&mut node(&f, cfg(), Some((MEMBERS, MEMBERS))), &f);
    let without = run(&mut node(&f, cfg(), None), &f);
    assert_eq!(bad, without);
}

/// `K` holds the first 16 of 40 pieces. The owner's fetch takes only
/// owned pieces `K` cannot serve, before and after the orphan wait; the
/// other pieces it asks of `K` (the race is off: `K` never answers, which
/// would rightly start it).
#[test]
fn the_owner_fetches_only_owned_pieces_its_peers_cannot_serve() {
    let f = file(PIECES * PIECE);
    // K holds pieces 0–15 (the first two bitfield bytes).
    const HELD: usize = 16;
    let half: Vec<u8> = (0..PIECES / 8)
        .map(|byte| if byte < HELD / 8 { 0xff } else { 0 })
        .collect();
    let mut owned_fetched = 0;
    for rank in 0..MEMBERS {
        let (meta, mb) = metadata(&f);
        // K stays, unanswering, past the orphan wait.
        let no_race = EngineConfig {
            http_race_percent: 0,
            idle_peer_ms: 60_000,
            snub_ms: 60_000,
            stall_timeout_ms: 60_000,
            slow_window_ms: 600_000,
            ..cfg()
        };
        let mut n = Node::new(no_race, content(&mb, true), f.len());
        n.input(Input::ArrayShare {
            rank,
            members: MEMBERS,
        });
        n.input(Input::PeerCandidates(vec![K]));
        n.input(Input::PeerConnected { peer: K });
        for fr in hello(&meta, &mb, half.clone()) {
            n.input(Input::PeerData { peer: K, bytes: fr });
        }
        // K never answers: its pieces stay in flight with it (it is not yet
        // slow), so the page is not starving and takes no orphans.
        for _ in 0..1_000 {
            let outs = n.drain();
            n.serve_http(&f, outs);
            if n.now > 2 * SHARE_ORPHAN_WAIT_MS || !n.advance_to_timeout() {
                break;
            }
        }
        let p = PIECE as u64;
        let cdn: BTreeSet<u32> = n
            .served
            .iter()
            .filter(|(t, _)| *t <= 2 * SHARE_ORPHAN_WAIT_MS)
            .flat_map(|(_, r)| (r.start / p) as u32..r.end.div_ceil(p) as u32)
            .collect();
        assert!(
            cdn.iter().all(|&piece| piece as usize >= HELD),
            "rank {rank}: the CDN was asked for pieces K serves: {:?}",
            n.served
        );
        owned_fetched += cdn.len();
    }
    assert!(owned_fetched > 0, "some rank owns a piece K lacks");
    assert!(
        owned_fetched <= PIECES - HELD,
        "each piece K lacks by one rank at most"
    );
}

/// The CDN pieces member `rank` of `MEMBERS` asks for before the orphan
/// wait, in `mode` with `follows` as `raceFollowsShare`. Its only peer `K`
/// holds nothing, so once the CDN has delivered a piece the race is on
/// (peers that deliver nothing are slower than any CDN).
fn raced_before_orphans(
    f: &[u8],
    rank: u32,
    mode: DownloadMode,
    follows: Option<bool>,
) -> BTreeSet<u32> {
    let cfg = EngineConfig {
        race_follows_share: follows,
        // K stays connected, holding nothing, past the orphan wait.
        idle_peer_ms: 60_000,
        ..cfg()
    };
    let mut n = node_in(mode, f, cfg, Some((rank, MEMBERS)));
    // The CDN answers each request 100 ms after it was sent (a measurable
    // rate; the race needs one).
    let mut pending: Vec<(u64, HttpRequestId, Range<u64>)> = Vec::new();
    let mut raced = BTreeSet::new();
    while n.now < SHARE_ORPHAN_WAIT_MS {
        for o in n.drain() {
            if let Output::HttpRequest { id, range } = o {
                let p = PIECE as u64;
                raced.extend((range.start / p) as u32..range.end.div_ceil(p) as u32);
                pending.push((n.now + 100, id, range));
            }
        }
        let next = pending.iter().map(|r| r.0).min();
        let timeout = n.engine.poll_timeout().map(|t| t.0);
        let Some(at) = next.into_iter().chain(timeout).min() else {
            break;
        };
        n.now = n.now.max(at);
        let (due, rest) = pending.into_iter().partition(|r| r.0 <= n.now);
        pending = rest;
        for (_, id, range) in due {
            n.answer_range(f, id, range);
        }
        n.input(Input::Timeout);
    }
    raced
}

/// (pieces asked for by all members before the orphan wait, counted once
/// per member; the distinct pieces among them).
fn all_members(f: &[u8], mode: DownloadMode, follows: Option<bool>) -> (usize, usize) {
    let mut total = 0;
    let mut union = BTreeSet::new();
    for rank in 0..MEMBERS {
        let raced = raced_before_orphans(f, rank, mode, follows);
        total += raced.len();
        union.extend(raced);
    }
    (total, union.len())
}

/// LAN mode (members behind one address share its link to the CDN): by
/// default the race takes only the page's own share until the orphan wait,
/// so no two members race the same piece; in Internet mode, or with
/// `raceFollowsShare: false`, the race takes any piece.
#[test]
fn in_lan_mode_the_race_keeps_to_the_share_by_default() {
    use DownloadMode::{Internet, Lan};
    let f = file(PIECES * PIECE);
    let (total, distinct) = all_members(&f, Lan, None);
    assert_eq!(distinct, PIECES, "the owners fetched every piece once");
    assert_eq!(total, distinct, "LAN: a piece raced by two members");
    assert_eq!(all_members(&f, Internet, Some(true)), (total, distinct));
    for (mode, follows) in [(Internet, None), (Lan, Some(false))] {
        let (total, distinct) = all_members(&f, mode, follows);
        assert!(
            total > distinct,
            "{mode:?} {follows:?}: the race kept to the share: {total} {distinct}"
        );
    }
}
