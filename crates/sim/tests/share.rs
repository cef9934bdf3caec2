//! The array's share of the CDN's work in whole swarms (issue 9 §3): 96
//! pages, three times `maxPeers`, start empty at the same instant. Shares
//! take CDN copies down from what leases alone (which only reach connected
//! peers) leave to about one copy: in an array this large the race keeps
//! to the share too. In a middle-sized array (48 pages, 1.5 × `maxPeers`)
//! the race ignores the share unless told to (`raceFollowsShare`, trusted
//! members). Sybil members — attackers that say they are downloading, so
//! that the array gives them shares they never fetch — cost honest pages at
//! most the orphan wait, never a stall.
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

/// 48 pages, with the race following the share if `trusted`.
fn middle(seed: u64, trusted: bool) -> SimConfig {
    let mut cfg = SimConfig {
        peers: 48,
        ..big(seed)
    };
    cfg.engine.race_follows_share = trusted;
    cfg
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
        let with = run(big(seed)).unwrap();
        for r in [&without, &with] {
            assert_safe(r);
        }
        eprintln!(
            "seed {seed}: copies / last page s: without shares {:.2} / {:.2}, with {:.2} / {:.2}",
            without.cdn_copies,
            finish(&without),
            with.cdn_copies,
            finish(&with),
        );
        assert!(with.cdn_copies <= 1.10, "seed {seed}: {with:?}");
        assert!(without.cdn_copies > 2.0, "seed {seed}: {without:?}");
    }
}

#[test]
fn in_a_middle_sized_array_the_race_keeps_to_the_share_only_when_told() {
    for seed in 1..=2 {
        let default = run(middle(seed, false)).unwrap();
        let trusted = run(middle(seed, true)).unwrap();
        for r in [&default, &trusted] {
            assert_safe(r);
        }
        eprintln!(
            "48 pages, seed {seed}: copies {:.2} by default, {:.2} trusted",
            default.cdn_copies, trusted.cdn_copies
        );
        assert!(trusted.cdn_copies <= 1.10, "seed {seed}: {trusted:?}");
        assert!(
            default.cdn_copies > trusted.cdn_copies,
            "seed {seed}: {default:?}"
        );
    }
}

#[test]
fn sybil_members_that_never_fetch_cost_at_most_the_orphan_wait() {
    let wait = SHARE_ORPHAN_WAIT_MS as f64 / 1000.0;
    for seed in 1..=2 {
        for (name, cfg) in [("96 pages", big(seed)), ("48 trusted", middle(seed, true))] {
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
