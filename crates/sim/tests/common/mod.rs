//! Shared checks of the simulator's integration tests.

use edgeswarm_sim::{SimReport, StopReason};

/// The run completed safely — every honest peer finished, no corrupt piece
/// accepted, no honest peer banned — and the last one finished at this
/// many virtual seconds.
pub fn finish(r: &SimReport) -> f64 {
    assert_eq!(r.stop_reason, StopReason::Completed, "{r:?}");
    assert_eq!(r.completed, r.peers, "every honest peer completes: {r:?}");
    assert_eq!(r.corrupt_pieces_accepted, 0, "{r:?}");
    assert_eq!(r.honest_banned, 0, "no honest peer is banned: {r:?}");
    r.last_finish_seconds.expect("every honest peer finished")
}
