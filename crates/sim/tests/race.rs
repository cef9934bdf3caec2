//! The CDN race (issue 9 §3, `EngineConfig::http_race_percent`): when the
//! CDN is faster than the peers, the swarm takes the CDN alongside them and
//! finishes sooner, at the price of CDN copies; when the peers are faster,
//! nothing changes. Ratios within runs of the deterministic simulator.

mod common;

use common::finish;
use edgeswarm_sim::{run, SimConfig, SimReport};

/// `cfg` with the race off and on: both reports and their finish times.
fn off_and_on(cfg: SimConfig) -> (SimReport, SimReport, f64, f64) {
    let run_with = |percent| {
        let mut c = cfg.clone();
        c.engine.http_race_percent = percent;
        run(c).unwrap()
    };
    let (off, on) = (run_with(0), run_with(120));
    let (t_off, t_on) = (finish(&off), finish(&on));
    eprintln!(
        "seed {}: off {t_off:.2} s / {:.2} copies, on {t_on:.2} s / {:.2} copies",
        cfg.seed, off.cdn_copies, on.cdn_copies
    );
    (off, on, t_off, t_on)
}

/// 16 pages start together on a 20 MB/s CDN with 5 MB/s peer links: the
/// race finishes sooner than the offload-first swarm, over seeds 1–7.
#[test]
fn a_cdn_faster_than_the_peers_is_raced() {
    for seed in 1..=7 {
        let cfg = SimConfig {
            peers: 16,
            file_size: 1 << 20,
            piece_size: 16 << 10,
            seed,
            ..SimConfig::default()
        };
        let (off, on, t_off, t_on) = off_and_on(cfg);
        assert!(t_on < t_off, "seed {seed}: off {off:?}\non {on:?}");
        assert!(
            on.cdn_copies > off.cdn_copies,
            "seed {seed}: the CDN took part"
        );
    }
}

/// Issue 9's scenario without costs: peer links (30 MB/s) outrun the shared
/// 5 MB/s CDN. The race may start for a page whose first peers were slow,
/// but the swarm keeps its offload and its time, over seeds 1–7.
#[test]
fn peers_faster_than_the_cdn_keep_the_offload() {
    let (mut copies_off, mut copies_on) = (0.0, 0.0);
    for seed in 1..=7 {
        let cfg = SimConfig {
            peers: 8,
            file_size: 32 << 20,
            cdn_rate: 5_000_000,
            peer_rate: 30_000_000,
            latency_ms: 1,
            join_every_secs: 1.5,
            seed,
            ..SimConfig::default()
        };
        let (off, on, t_off, t_on) = off_and_on(cfg);
        assert!(t_on <= 1.1 * t_off, "seed {seed}: off {off:?}\non {on:?}");
        copies_off += off.cdn_copies;
        copies_on += on.cdn_copies;
    }
    assert!(
        copies_on <= copies_off + 7.0 * 0.1,
        "mean copies {:.2} with the race against {:.2}",
        copies_on / 7.0,
        copies_off / 7.0
    );
}
