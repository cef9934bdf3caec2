//! The array's share of the CDN's work in whole swarms (issue 9 §3): 96
//! pages, three times `maxPeers`, start empty at the same instant. Shares
//! take CDN copies down from what leases alone (which only reach connected
//! peers) leave; in LAN mode, where the race follows them too (members
//! behind one address share its link to the CDN), to about one copy. Sybil members — attackers that say
//! they are downloading, so that the array gives them shares they never
//! fetch — cost honest pages at most the orphan wait, never a stall.
//! Virtual time is deterministic: these are ratios, not wall clocks.

mod common;

use common::finish;
use edgeswarm_engine::SHARE_ORPHAN_WAIT_MS;
use edgeswarm_sim::{run, MaliciousKind, SimConfig, SimReport, StopReason};

fn big(seed: u64) -> SimConfig {
    SimConfig {
        peers: 96,
        file_size: 4 << 20,
        piece_size: 64 << 10,
        seed,
        ..SimConfig::default()
    }
}

/// The same in LAN mode: the race follows the share by default (members
/// behind one address, sharing its link to the CDN).
fn lan(seed: u64) -> SimConfig {
    SimConfig {
        lan: true,
        ..big(seed)
    }
}

fn assert_safe(r: &SimReport) {
    assert_eq!(r.stop_reason, StopReason::Completed, "{r:?}");
    assert_eq!(r.completed, r.peers, "{r:?}");
    assert_eq!(r.corrupt_pieces_accepted, 0, "{r:?}");
    assert_eq!(r.honest_banned, 0, "{r:?}");
}

#[test]
fn a_large_array_divides_the_cdn_work() {
    for seed in 1..=2 {
        let without = run(SimConfig {
            array_shares: false,
            ..big(seed)
        })
        .unwrap();
        let default = run(big(seed)).unwrap();
        let lan = run(lan(seed)).unwrap();
        for r in [&without, &default, &lan] {
            assert_safe(r);
        }
        eprintln!(
            "seed {seed}: copies / last page s: without shares {:.2} / {:.2}, \
             with {:.2} / {:.2}, in LAN mode {:.2} / {:.2}",
            without.cdn_copies,
            finish(&without),
            default.cdn_copies,
            finish(&default),
            lan.cdn_copies,
            finish(&lan)
        );
        assert!(default.cdn_copies <= 1.6, "seed {seed}: {default:?}");
        assert!(default.cdn_copies < without.cdn_copies, "seed {seed}");
        assert!(lan.cdn_copies <= 1.10, "seed {seed}: {lan:?}");
    }
}

#[test]
fn sybil_members_that_never_fetch_cost_at_most_the_orphan_wait() {
    let wait = SHARE_ORPHAN_WAIT_MS as f64 / 1000.0;
    for seed in 1..=2 {
        for (name, cfg) in [("default", big(seed)), ("LAN", lan(seed))] {
            let base = finish(&run(cfg.clone()).unwrap());
            let r = run(SimConfig {
                malicious: 48,
                malicious_kind: MaliciousKind::Stall,
                ..cfg
            })
            .unwrap();
            assert_safe(&r);
            let attacked = finish(&r);
            eprintln!(
                "{name} seed {seed}: {base:.2} s without, {attacked:.2} s with 48 Sybil members, \
                 {:.2} copies",
                r.cdn_copies
            );
            assert!(
                attacked <= base + wait,
                "{name} seed {seed}: {attacked:.2} s against {base:.2} s: {r:?}"
            );
        }
    }
}
