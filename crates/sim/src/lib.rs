//! `edgeswarm-sim`: a deterministic swarm simulator for the real download engine.
//!
//! N honest peers each run an [`edgeswarm_engine::Engine`]; M malicious peers
//! run scripts ([`MaliciousKind`]); a rate-limited CDN answers range requests;
//! links have latency, bandwidth and loss ([`net`] documents the model).
//! Everything runs in virtual time from one seed: the same [`SimConfig`]
//! always gives the same [`SimReport`]. The run stops when every honest peer
//! finished, nothing is left to happen, or a time/event limit hits (so a
//! livelock ends the run instead of hanging it).
//!
//! What work costs a peer — CPU time per message and per byte on cores shared
//! by all peers (module `cpu`), storage writes and reads — and how concurrent CDN
//! requests share the CDN link (module `cdn`) are [`Costs`]: all off by default,
//! calibrated against the browser in docs/bench/engine.md.
//!
//! Honest peers learn of others from a "tracker" (the peers that joined
//! before them, ranked as the array service ranks them from their reports:
//! [`tracker`]) and connect to them; attackers join first (they are in the
//! array already) and connect to every honest peer.

mod attacker;
pub mod bench;
mod cdn;
mod config;
mod costs;
mod cpu;
mod hasher;
pub mod net;
mod node;
mod report;
mod tracker;
mod world;

pub use config::{MaliciousKind, SimConfig, SimReport, StopReason};
pub use costs::{CdnModel, Costs};
pub use world::SimError;

/// Runs one simulation to its end.
pub fn run(config: SimConfig) -> Result<SimReport, SimError> {
    Ok(world::World::new(config)?.run())
}
