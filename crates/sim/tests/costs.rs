//! The cost knobs (`SimConfig::costs`, `cdn_only`) change what they model,
//! by the amount they model, in virtual time: a storage write per piece, CPU
//! work per byte, cores shared by every peer, a CDN-only baseline. Every
//! bound below follows from the knob's definition; none is a wall-clock time.

use edgeswarm_sim::{run, CdnModel, Costs, SimConfig, SimReport, StopReason};

const PIECE: u32 = 256 << 10;
const PIECES: u64 = 8;

/// One or more peers fetching a 2 MiB file (8 pieces) from a 10 MB/s CDN.
fn alone(peers: usize) -> SimConfig {
    SimConfig {
        peers,
        file_size: PIECES * u64::from(PIECE),
        piece_size: PIECE,
        cdn_rate: 10_000_000,
        latency_ms: 5,
        seed: 4,
        ..SimConfig::default()
    }
}

fn finish(r: &SimReport) -> f64 {
    assert_eq!(r.stop_reason, StopReason::Completed, "{r:?}");
    assert_eq!(r.completed, r.peers, "{r:?}");
    assert_eq!(r.corrupt_pieces_accepted, 0, "{r:?}");
    r.last_finish_seconds.expect("every peer finished")
}

#[test]
fn a_store_latency_shorter_than_a_piece_adds_itself_once() {
    // Pieces arrive every 26 ms (256 KiB at 10 MB/s): a 5 ms write is done
    // before the next piece, so only the last write lengthens the download.
    let base = finish(&run(alone(1)).unwrap());
    let mut cfg = alone(1);
    cfg.costs.store_us = 5_000;
    let slow = finish(&run(cfg).unwrap());
    assert!((slow - base - 0.005).abs() < 1e-6, "{base} → {slow}");
}

#[test]
fn a_store_latency_longer_than_a_piece_adds_itself_per_piece() {
    // 100 ms writes, one after another, are the critical path: the last
    // finishes no earlier than 8 × 100 ms and no later than 8 × 100 ms
    // after the last piece arrived.
    let base = finish(&run(alone(1)).unwrap());
    let mut cfg = alone(1);
    cfg.costs.store_us = 100_000;
    let slow = finish(&run(cfg).unwrap());
    assert!(slow >= 0.8, "{slow}");
    assert!(slow <= base + 0.8 + 1e-6, "{base} → {slow}");
    assert!(
        slow - base >= 0.5,
        "writes overlap only the download: {base} → {slow}"
    );
}

#[test]
fn cpu_work_per_byte_is_on_the_critical_path() {
    // 1 MB/s of processing for 2 MiB: at least 2.097 s of CPU time, which
    // can overlap the 0.21 s of CDN transfer but not itself.
    let base = finish(&run(alone(1)).unwrap());
    let mut cfg = alone(1);
    cfg.costs.cpu_bytes_per_sec = 1_000_000;
    let slow = finish(&run(cfg).unwrap());
    let work = (PIECES * u64::from(PIECE)) as f64 / 1e6;
    assert!(slow >= work, "{slow} < {work}");
    assert!(slow <= work + base + 0.01, "{base} + {work} → {slow}");
}

#[test]
fn per_message_cost_adds_per_message() {
    // 8 responses, 50 ms each: one peer's thread takes at least 0.4 s.
    let mut cfg = alone(1);
    cfg.costs.message_us = 50_000;
    let slow = finish(&run(cfg).unwrap());
    assert!(slow >= 0.4, "{slow}");
}

#[test]
fn peers_share_the_cores() {
    // Four peers, each with 2.097 s of CPU work (CDN-only, fast CDN): on a
    // core each they finish in about that; on one shared core the last one
    // cannot finish before all four peers' work is done, one after another.
    let cpu = |cores| {
        let mut cfg = alone(4);
        cfg.cdn_only = true;
        cfg.cdn_rate = 1_000_000_000;
        cfg.costs.cpu_bytes_per_sec = 1_000_000;
        cfg.costs.cpu_cores = cores;
        finish(&run(cfg).unwrap())
    };
    let work = (PIECES * u64::from(PIECE)) as f64 / 1e6;
    let own = cpu(0);
    let shared = cpu(1);
    assert!(own < work * 1.1, "{own}");
    assert!(shared >= 4.0 * work, "{shared} < {}", 4.0 * work);
    let two = cpu(2);
    assert!(two >= 2.0 * work && two < shared, "{two}");
}

#[test]
fn cdn_only_takes_one_copy_per_peer_in_either_cdn_model() {
    for model in [CdnModel::Fifo, CdnModel::Shared] {
        let mut cfg = alone(4);
        cfg.cdn_only = true;
        cfg.costs.cdn_model = model;
        let r = run(cfg).unwrap();
        let t = finish(&r);
        assert_eq!(r.cdn_copies, 4.0, "{model:?}: {r:?}");
        assert_eq!(r.peer_bytes, 0, "{model:?}: {r:?}");
        // The link carries 4 copies at 10 MB/s, whatever the sharing.
        let floor = 4.0 * (PIECES * u64::from(PIECE)) as f64 / 1e7;
        assert!(t >= floor, "{model:?}: {t} < {floor}");
        assert!(t < floor + 0.1, "{model:?}: {t}");
    }
}

#[test]
fn knobs_off_change_nothing_and_knobs_on_are_deterministic() {
    let mut cfg = alone(6);
    cfg.join_spread_secs = 0.5;
    let explicit = SimConfig {
        costs: Costs::default(),
        cdn_only: false,
        ..cfg.clone()
    };
    assert_eq!(run(cfg.clone()).unwrap(), run(explicit).unwrap());
    cfg.costs = Costs {
        cdn_model: CdnModel::Shared,
        store_us: 20_000,
        read_us: 3_000,
        message_us: 200,
        cpu_bytes_per_sec: 20_000_000,
        cpu_cores: 2,
    };
    let a = run(cfg.clone()).unwrap();
    finish(&a);
    assert_eq!(a, run(cfg).unwrap());
}

mod random {
    use super::*;
    use edgeswarm_sim::MaliciousKind;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Slow, loaded peers are still honest peers: with any costs, every
        /// run ends with every honest peer done, nothing corrupt accepted and
        /// no honest peer banned (the drip defence must not mistake CPU
        /// load for an attack).
        #[test]
        fn loaded_swarms_finish_safely(
            seed: u64,
            peers in 1usize..8,
            malicious in 0usize..3,
            kind in prop::sample::select(MaliciousKind::ALL.to_vec()),
            file_size in 0u64..300_000,
            shared: bool,
            store_us in 0u64..500_000,
            message_us in 0u64..3_000,
            cpu_bytes_per_sec in prop_oneof![Just(0u64), 1_000_000u64..50_000_000],
            cpu_cores in 0u32..3,
        ) {
            let cfg = SimConfig {
                peers,
                malicious,
                malicious_kind: kind,
                file_size,
                piece_size: 16 << 10,
                seed,
                join_spread_secs: 3.0,
                max_events: 2_000_000,
                max_virtual_secs: 6 * 3600,
                costs: Costs {
                    cdn_model: if shared { CdnModel::Shared } else { CdnModel::Fifo },
                    store_us,
                    read_us: store_us / 4,
                    message_us,
                    cpu_bytes_per_sec,
                    cpu_cores,
                },
                ..SimConfig::default()
            };
            let r = run(cfg).unwrap();
            prop_assert_eq!(r.stop_reason, StopReason::Completed, "{:?}", r);
            prop_assert_eq!(r.completed, peers);
            prop_assert_eq!(r.corrupt_pieces_accepted, 0);
            prop_assert_eq!(r.honest_banned, 0, "{:?}", r);
        }
    }
}
