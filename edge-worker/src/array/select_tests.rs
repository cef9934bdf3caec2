//! Unit tests of peer selection (`select`): seeds first, then the peers
//! ahead of the client, then the others; within each group a per-(client,
//! peer) mix, so that a crowd spreads over the peers.

use super::*;

fn pid(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

fn rep(left: u64, bps: u64) -> Report {
    Report {
        left,
        uploaded_bps: bps,
        ..Report::default()
    }
}

#[test]
fn selection_prefers_seeds_then_fuller_peers_then_silent_ones() {
    let ids: Vec<PeerId> = ["me", "silent", "half", "seed", "nearly"].map(pid).to_vec();
    let reports = [
        None,
        None,
        Some(rep(50, 0)),
        Some(rep(0, 0)),
        Some(rep(5, 0)),
    ];
    let mine = rep(100, 0);
    let got = select::select(
        &ids[0],
        Some(&mine),
        ids.iter()
            .zip(reports.iter().map(Option::as_ref))
            .map(|(i, r)| (i, r, false)),
        3,
    );
    let names: Vec<_> = got.iter().map(|p| p.peer_id.as_str()).collect();
    assert_eq!(names[0], "seed");
    let mut ahead = names[1..].to_vec();
    ahead.sort_unstable();
    assert_eq!(ahead, ["half", "nearly"], "the peers ahead, in any order");
    // A peer behind the client comes after those ahead of it.
    let behind = rep(100, 0);
    let all: Vec<(PeerId, Option<&Report>)> = vec![
        (pid("behind"), Some(&behind)),
        (pid("half"), reports[2].as_ref()),
        (pid("silent"), None),
    ];
    let got = select::select(
        &ids[0],
        Some(&mine),
        all.iter().map(|(i, r)| (i, *r, false)),
        3,
    );
    let names: Vec<_> = got.iter().map(|p| p.peer_id.as_str()).collect();
    assert_eq!(names, ["half", "behind", "silent"]);
}

/// A crowd of downloading peers, each at its own progress: the joiners'
/// first picks spread over them instead of all going to the most advanced
/// (whose inbound slots then fill, leaving later joiners with no peer).
#[test]
fn selection_spreads_joiners_over_peers_at_different_progress() {
    let ids: Vec<PeerId> = (0..40).map(|i| pid(&format!("p{i}"))).collect();
    let reports: Vec<Report> = (0..40).map(|i| rep(1000 - i, 1000 + i)).collect();
    let joiners: Vec<PeerId> = (0..40).map(|i| pid(&format!("j{i}"))).collect();
    let firsts: std::collections::BTreeSet<String> = joiners
        .iter()
        .map(|me| {
            let others = ids
                .iter()
                .zip(reports.iter())
                .map(|(i, r)| (i, Some(r), false));
            // A joiner's first report: the whole file left.
            select::select(me, Some(&rep(1000, 0)), others, 1)[0]
                .peer_id
                .to_string()
        })
        .collect();
    assert!(
        firsts.len() > 5,
        "every joiner picked the same few peers: {firsts:?}"
    );
}

#[test]
fn a_seed_is_offered_the_peers_that_need_data() {
    let ids: Vec<PeerId> = ["me", "seed2", "needy"].map(pid).to_vec();
    let reports = [Some(rep(0, 0)), Some(rep(0, 0)), Some(rep(7, 0))];
    let got = select::select(
        &ids[0],
        reports[0].as_ref(),
        ids.iter()
            .zip(reports.iter().map(Option::as_ref))
            .map(|(i, r)| (i, r, false)),
        1,
    );
    assert_eq!(got[0].peer_id.as_str(), "needy");
}

#[test]
fn selection_spreads_load_among_equals() {
    let ids: Vec<PeerId> = (0..40).map(|i| pid(&format!("p{i}"))).collect();
    let firsts: std::collections::BTreeSet<String> = ids
        .iter()
        .map(|me| {
            select::select(me, None, ids.iter().map(|i| (i, None, false)), 1)[0]
                .peer_id
                .to_string()
        })
        .collect();
    assert!(
        firsts.len() > 5,
        "everyone picked the same few peers: {firsts:?}"
    );
}
