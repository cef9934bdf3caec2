//! Issue 11's attackers over seeds 1–7: a drip peer (one byte per request
//! about every 19 s) and a forged-report peer (ranked first in every peer
//! list by lies to the array, holding connection slots). Every honest peer
//! completes, no honest peer is banned, and the swarm finishes within 1.5×
//! the virtual time of the same swarm without attackers (both runs here;
//! virtual time is deterministic, so this is a ratio, not a wall clock).

use edgeswarm_sim::{run, MaliciousKind, SimConfig, SimReport, StopReason};

/// The ratio the issue allows.
const MAX_SLOWDOWN: f64 = 1.5;

fn finish(r: &SimReport) -> f64 {
    assert_eq!(r.stop_reason, StopReason::Completed, "{r:?}");
    assert_eq!(r.completed, r.peers, "every honest peer completes: {r:?}");
    assert_eq!(r.corrupt_pieces_accepted, 0, "{r:?}");
    assert_eq!(r.honest_banned, 0, "no honest peer is banned: {r:?}");
    r.last_finish_seconds.expect("every honest peer finished")
}

/// (seed, without attackers, with attackers, ratio) for seeds 1–7.
fn ratios(malicious: usize, kind: MaliciousKind) -> Vec<(u64, f64, f64, f64, SimReport)> {
    (1..=7)
        .map(|seed| {
            let base = finish(&run(SimConfig::attack_swarm(seed, 0, kind)).unwrap());
            let r = run(SimConfig::attack_swarm(seed, malicious, kind)).unwrap();
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
