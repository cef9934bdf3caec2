//! Issue 11's attackers over seeds 1–7: a drip peer (one byte per request
//! about every 19 s) and a forged-report peer (ranked first in every peer
//! list by lies to the array, holding connection slots), and issue 9's
//! false-lease peer (says it fetches every piece from the CDN, never sends
//! one). Every honest peer
//! completes, no honest peer is banned, and:
//! - the peer defences alone (the CDN race off, so that the CDN cannot
//!   hide them): the swarm finishes within 1.5× the virtual time of the
//!   same swarm without attackers;
//! - with the defaults (the CDN race on): within 1.2× of the same swarm
//!   fetching from the CDN alone (issue 9's minimum-QoS bound), attackers
//!   or not.
//!
//! Both runs of a ratio are here; virtual time is deterministic, so these
//! are ratios, not wall clocks.

mod common;

use common::finish;
use edgeswarm_sim::{run, MaliciousKind, SimConfig, SimReport};

/// The ratio issue 11 allows.
const MAX_SLOWDOWN: f64 = 1.5;
/// The ratio to the CDN alone that issue 9 allows.
const MAX_OVER_CDN_ONLY: f64 = 1.2;

/// The attack swarm with the CDN race off: only the peer defences act.
fn defences_only(seed: u64, malicious: usize, kind: MaliciousKind) -> SimConfig {
    let mut cfg = SimConfig::attack_swarm(seed, malicious, kind);
    cfg.engine.http_race_percent = 0;
    cfg
}

/// (seed, without attackers, with attackers, ratio) for seeds 1–7.
fn ratios(malicious: usize, kind: MaliciousKind) -> Vec<(u64, f64, f64, f64, SimReport)> {
    (1..=7)
        .map(|seed| {
            let base = finish(&run(defences_only(seed, 0, kind)).unwrap());
            let r = run(defences_only(seed, malicious, kind)).unwrap();
            let attacked = finish(&r);
            (seed, base, attacked, attacked / base, r)
        })
        .collect()
}

fn check(malicious: usize, kind: MaliciousKind) -> Vec<SimReport> {
    let rows = ratios(malicious, kind);
    for (seed, base, attacked, ratio, r) in &rows {
        eprintln!(
            "{kind:?} seed {seed}: {base:.2} s without, {attacked:.2} s with ({ratio:.2}×), \
             banned {}, cdn {:.2} copies",
            r.malicious_banned, r.cdn_copies
        );
    }
    for (seed, _, _, ratio, r) in &rows {
        assert!(
            *ratio <= MAX_SLOWDOWN,
            "{kind:?} seed {seed}: {ratio:.2}× {r:?}"
        );
    }
    rows.into_iter().map(|row| row.4).collect()
}

#[test]
fn drip_peers_cost_less_than_half_the_time() {
    check(2, MaliciousKind::Drip);
}

#[test]
fn forged_reports_cost_less_than_half_the_time() {
    check(8, MaliciousKind::ForgedReport);
}

#[test]
fn false_fetch_leases_cost_less_than_half_the_time() {
    check(4, MaliciousKind::FalseLease);
}

/// (the CDN alone's last page s, the attacked swarm's, its report) for the
/// attack swarm of `seed`, `tune`d.
fn against_cdn_alone(
    seed: u64,
    malicious: usize,
    kind: MaliciousKind,
    tune: impl Fn(&mut SimConfig),
) -> (f64, f64, SimReport) {
    let mut alone = SimConfig::attack_swarm(seed, 0, kind);
    alone.cdn_only = true;
    let cdn = finish(&run(alone).unwrap());
    let mut cfg = SimConfig::attack_swarm(seed, malicious, kind);
    tune(&mut cfg);
    let r = run(cfg).unwrap();
    (cdn, finish(&r), r)
}

/// With the defaults, attackers or not, the swarm is never much slower than
/// the CDN alone: the race turns to the CDN when the peers lag.
fn within_cdn_only(malicious: usize, kind: MaliciousKind) {
    for seed in 1..=7 {
        let (cdn, t, r) = against_cdn_alone(seed, malicious, kind, |_| {});
        eprintln!("{kind:?} seed {seed}: CDN alone {cdn:.2} s, swarm {t:.2} s");
        assert!(
            t <= cdn * MAX_OVER_CDN_ONLY,
            "{kind:?} seed {seed}: {t:.2} s against {cdn:.2} s from the CDN alone: {r:?}"
        );
    }
}

#[test]
fn with_the_race_a_drip_swarm_is_within_1_2x_of_the_cdn_alone() {
    within_cdn_only(2, MaliciousKind::Drip);
}

#[test]
fn with_the_race_a_forged_report_swarm_is_within_1_2x_of_the_cdn_alone() {
    within_cdn_only(8, MaliciousKind::ForgedReport);
}

#[test]
fn with_the_race_a_false_lease_swarm_is_within_1_2x_of_the_cdn_alone() {
    within_cdn_only(4, MaliciousKind::FalseLease);
}

/// A trickle peer answers every request at 4 KiB/s, twice the drip floor,
/// and never finishes one: no peer defence sees it, and a swarm whose
/// pieces it all claims fetched nothing else for 40 s (the CDN alone takes
/// 3.4 s). The minimum-QoS rule, at the rate every deployment's bootstrap
/// sets (`ClientConfig`'s 64 KiB/s), takes the CDN past it: within the
/// CDN alone's time plus the rule's measuring window.
#[test]
fn the_minimum_qos_rule_takes_the_cdn_past_trickle_peers() {
    let min = edgeswarm_protocol::services::HttpDelay::default().min_download_bytes_per_second;
    let window = edgeswarm_engine::QOS_WINDOW_MS as f64 / 1000.0;
    for seed in 1..=7 {
        let (cdn, t, r) = against_cdn_alone(seed, 2, MaliciousKind::Trickle, |c| {
            c.engine.min_download_bps = min;
        });
        eprintln!(
            "Trickle seed {seed}: CDN alone {cdn:.2} s, swarm {t:.2} s, {:.2} copies",
            r.cdn_copies
        );
        assert!(
            t <= cdn + window,
            "seed {seed}: {t:.2} s against {cdn:.2} s from the CDN alone: {r:?}"
        );
    }
}

/// In LAN mode the race follows the array's share (the attackers count as
/// members: 10–12 > `maxPeers`), so attackers can hold a page back; the time
/// the race would run counts toward the orphan wait, which bounds them: within the
/// 1.2× bound plus that wait (the deployments' minimum QoS on, as above).
#[test]
fn in_lan_mode_attackers_cost_at_most_the_orphan_wait_beyond_the_bound() {
    let min = edgeswarm_protocol::services::HttpDelay::default().min_download_bytes_per_second;
    let wait = edgeswarm_engine::SHARE_ORPHAN_WAIT_MS as f64 / 1000.0;
    for (malicious, kind) in [
        (2, MaliciousKind::Drip),
        (4, MaliciousKind::FalseLease),
        (2, MaliciousKind::Trickle),
    ] {
        for seed in 1..=7 {
            let (cdn, t, r) = against_cdn_alone(seed, malicious, kind, |c| {
                c.lan = true;
                c.engine.min_download_bps = min;
            });
            eprintln!(
                "LAN {kind:?} seed {seed}: CDN alone {cdn:.2} s, swarm {t:.2} s, {:.2} copies",
                r.cdn_copies
            );
            assert!(
                t <= cdn * MAX_OVER_CDN_ONLY + wait,
                "LAN {kind:?} seed {seed}: {t:.2} s against {cdn:.2} s: {r:?}"
            );
        }
    }
}
