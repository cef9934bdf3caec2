//! Tests of the array's share pushes (`share`).

use super::*;

fn limits(max_peers: u32) -> ArrayLimits {
    ArrayLimits {
        max_peers,
        max_message_bytes: 4096,
        messages_per_second: 1000,
        burst: 1000,
    }
}

fn pid(i: usize) -> PeerId {
    PeerId::new(&format!("p{i:03}")).unwrap()
}

fn report(left: u64) -> String {
    format!(r#"{{"type":"report","left":{left},"peersWanted":8}}"#)
}

/// Every share sent, in order: (to, rank, members).
fn shares(actions: &[Action]) -> Vec<(PeerId, u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                to,
                msg: ServerMessage::Share { rank, members },
            } => Some((to.clone(), *rank, *members)),
            _ => None,
        })
        .collect()
}

/// An array of `n` downloading members, joined 1 ms apart, shares pushed.
fn members(n: usize) -> ArrayCore {
    let mut c = ArrayCore::new(limits(64));
    for i in 0..n {
        assert!(c.join(pid(i), None, f64::from(i as u32)));
        c.on_text(&pid(i), &report(1), 100.0);
    }
    c.push_shares();
    c
}

#[test]
fn ranks_follow_join_order_among_downloading_members_only() {
    let mut c = ArrayCore::new(limits(8));
    // Joined in the order p002, p000, p001 (ids sort otherwise).
    for (i, t) in [(2, 1.0), (0, 2.0), (1, 3.0), (3, 4.0)] {
        assert!(c.join(pid(i), None, t));
    }
    let out = c.on_text(&pid(2), &report(100), 5.0);
    assert_eq!(shares(&out), vec![(pid(2), 0, 1)]);
    // The share comes before the peer list.
    let first_peers = out.iter().position(|a| {
        matches!(
            a,
            Action::Send {
                msg: ServerMessage::Peers { .. },
                ..
            }
        )
    });
    let first_share = out.iter().position(|a| {
        matches!(
            a,
            Action::Send {
                msg: ServerMessage::Share { .. },
                ..
            }
        )
    });
    assert!(first_share < first_peers, "{out:?}");
    c.on_text(&pid(0), &report(100), 6.0);
    c.on_text(&pid(1), &report(100), 7.0);
    // A seed (left 0) and a peer that never reported own nothing.
    c.on_text(&pid(3), &report(0), 8.0);
    assert_eq!(c.share_of(&pid(2)), Some((0, 3)));
    assert_eq!(c.share_of(&pid(0)), Some((1, 3)));
    assert_eq!(c.share_of(&pid(1)), Some((2, 3)));
    assert_eq!(c.share_of(&pid(3)), None);
}

#[test]
fn a_burst_of_joins_costs_a_few_messages_per_member_and_ends_exact() {
    let n = 300;
    let mut c = ArrayCore::new(limits(512));
    let mut sent = Vec::new();
    for i in 0..n {
        assert!(c.join(pid(i), None, 0.0));
        sent.extend(shares(&c.on_text(&pid(i), &report(1), 0.0)));
    }
    // The last quarter's growth waits for the armed push.
    let due = c.share_due_ms().expect("a push is armed");
    assert!(
        c.push_due_shares(due - 1.0).is_empty(),
        "not before it is due"
    );
    sent.extend(shares(&c.push_due_shares(due)));
    assert_eq!(c.share_due_ms(), None);
    // Far fewer than a message per member per join (n² = 90 000).
    assert!(sent.len() < 12 * n, "{} share messages", sent.len());
    for i in 0..n {
        let last = sent.iter().rev().find(|(to, _, _)| *to == pid(i));
        assert_eq!(last, Some(&(pid(i), i as u32, n as u32)), "peer {i}");
    }
}

#[test]
fn a_leave_or_a_finish_moves_only_the_last_members_rank() {
    let mut c = members(40);
    // One of 40 leaving is under a quarter: armed, not sent.
    let out = c.leave(&pid(10), 200.0);
    assert!(shares(&out).is_empty());
    let due = c.share_due_ms().expect("armed");
    // A finish before the push joins the same push.
    let out = c.on_text(&pid(20), &report(0), 210.0);
    assert!(shares(&out).is_empty());
    let pushed = shares(&c.push_due_shares(due));
    // Every member's count changed, so all 38 are told; the last members
    // took the freed ranks, everyone else kept theirs.
    assert_eq!(pushed.len(), 38);
    assert!(pushed.contains(&(pid(9), 9, 38)));
    assert!(pushed.contains(&(pid(11), 11, 38)));
    assert!(pushed.contains(&(pid(39), 10, 38)));
    assert!(pushed.contains(&(pid(38), 20, 38)));
    assert!(!pushed.iter().any(|(to, _, _)| *to == pid(20)));
    let ranks: std::collections::BTreeSet<u32> = pushed.iter().map(|(_, r, _)| *r).collect();
    assert_eq!(ranks, (0..38).collect(), "distinct ranks below the count");
    // Nothing changed since: a second push sends nothing.
    assert!(c.push_shares().is_empty());
}

#[test]
fn a_peer_that_reported_a_whole_copy_never_rejoins_the_division() {
    let mut c = members(8);
    c.on_text(&pid(7), &report(0), 200.0);
    // Flipping back to "downloading" changes nothing: no push, no share.
    let out = c.on_text(&pid(7), &report(5), 210.0);
    assert!(shares(&out).is_empty(), "{out:?}");
    assert_eq!(c.share_of(&pid(7)), None);
    assert_eq!(c.share_of(&pid(0)), Some((0, 7)));
}

/// What the glue persists per socket, restored into a fresh core (a wake-up
/// from hibernation): the seeded mark survives with the report.
#[test]
fn a_seeded_peer_stays_out_of_the_division_after_hibernation() {
    let mut c = members(8);
    c.on_text(&pid(7), &report(0), 200.0);
    c.on_text(&pid(7), &report(5), 210.0);
    assert!(c.seeded(&pid(7)));
    let mut woken = ArrayCore::new(limits(64));
    for i in 0..8 {
        let p = pid(i);
        let (report, seen) = (c.report(&p).cloned(), c.last_seen_ms(&p).unwrap());
        assert!(woken.restore(p.clone(), report, c.seeded(&p), seen, 300.0));
        woken.set_joined_ms(&p, c.joined_ms(&p).unwrap());
    }
    assert_eq!(woken.share_of(&pid(7)), None, "its last report says 5 left");
    assert_eq!(woken.share_of(&pid(0)), Some((0, 7)));
    assert!(!woken.seeded(&pid(0)));
}

#[test]
fn a_member_dropped_by_a_ban_quorum_gives_up_its_rank() {
    let mut c = members(8);
    // p002 vouches for p000 and p001, who then both accuse p003.
    c.on_text(
        &pid(2),
        r#"{"type":"attest","verifiedFrom":["p000","p001"]}"#,
        200.0,
    );
    assert_eq!(c.share_due_ms(), None, "standing alone moves nobody");
    for accuser in [0, 1] {
        c.on_text(
            &pid(accuser),
            r#"{"type":"attest","banned":["p003"]}"#,
            210.0,
        );
    }
    let due = c.share_due_ms().expect("the drop arms a push");
    let pushed = shares(&c.push_due_shares(due));
    assert!(pushed.contains(&(pid(7), 3, 7)), "{pushed:?}");
    assert!(pushed.contains(&(pid(0), 0, 7)));
    assert!(!pushed.iter().any(|(to, _, _)| *to == pid(3)));
    assert_eq!(c.share_of(&pid(3)), None);
}
