//! Issue 11's attacker figures (docs/bench/engine.md): seeds 1–7, the same
//! swarm as `tests/attacks.rs`, with and without attackers, and with the
//! engine's defences switched off (`minRequestBps` 0, `idlePeerMs` never).

use edgeswarm_sim::{run, MaliciousKind, SimConfig};

fn swarm(seed: u64, malicious: usize, kind: MaliciousKind, defences: bool) -> SimConfig {
    let mut cfg = SimConfig::attack_swarm(seed, malicious, kind);
    if !defences {
        cfg.engine.min_request_bps = 0;
        cfg.engine.idle_peer_ms = u64::MAX;
    }
    cfg
}

fn main() {
    for (kind, m) in [(MaliciousKind::Drip, 2), (MaliciousKind::ForgedReport, 8)] {
        for defences in [true, false] {
            for seed in 1..=7 {
                let base = run(swarm(seed, 0, kind, defences)).unwrap();
                let r = run(swarm(seed, m, kind, defences)).unwrap();
                let (b, a) = (base.virtual_seconds, r.virtual_seconds);
                println!(
                    "{kind:?} defences={defences} seed={seed} without={b:.2} with={a:.2} ratio={:.2} cdn={:.2}/{:.2} banned={}",
                    a / b,
                    base.cdn_copies,
                    r.cdn_copies,
                    r.malicious_banned
                );
            }
        }
    }
}
