//! Random seeds and operations (swarm sizes, attacker kinds, joins, loss,
//! odd file sizes): every run must end by itself with every honest peer done
//! and nothing corrupt accepted. The event budget bounds "drive until idle":
//! a livelock stops with `EventLimit` and fails.

use edgeswarm_sim::{run, MaliciousKind, SimConfig, StopReason};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = MaliciousKind> {
    prop::sample::select(vec![
        MaliciousKind::Corrupt,
        MaliciousKind::FlipBit,
        MaliciousKind::Lie,
        MaliciousKind::Stall,
        MaliciousKind::Garbage,
        MaliciousKind::Flood,
        MaliciousKind::Mixed,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_swarms_finish_safely(
        seed: u64,
        peers in 1usize..10,
        malicious in 0usize..4,
        kind in kind(),
        file_size in 0u64..400_000,
        join_spread in 0.0f64..10.0,
        loss in 0.0f64..0.3,
        latency_ms in 1u64..120,
        strike_limit in 1u32..4,
    ) {
        let mut cfg = SimConfig {
            peers,
            malicious,
            malicious_kind: kind,
            file_size,
            piece_size: 16 << 10,
            seed,
            join_spread_secs: join_spread,
            loss,
            latency_ms,
            max_events: 2_000_000,
            max_virtual_secs: 6 * 3600,
            ..SimConfig::default()
        };
        cfg.engine.strike_limit = strike_limit;
        let r = run(cfg).unwrap();
        prop_assert_eq!(r.stop_reason, StopReason::Completed, "{:?}", r);
        prop_assert_eq!(r.completed, peers);
        prop_assert_eq!(r.corrupt_pieces_accepted, 0);
        prop_assert_eq!(r.honest_banned, 0);
        prop_assert_eq!(r.unbanned_repeat_offenders, 0);
    }
}
