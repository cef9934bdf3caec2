//! Unit tests of the array core and peer selection, natively.

use super::*;
use edgeswarm_protocol::array::SignalKind;

fn limits() -> ArrayLimits {
    ArrayLimits {
        max_peers: 3,
        max_message_bytes: 200,
        messages_per_second: 10,
        burst: 5,
    }
}

fn pid(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

fn sends_to<'a>(actions: &'a [Action], peer: &str) -> Vec<&'a ServerMessage> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, msg } if to.as_str() == peer => Some(msg),
            _ => None,
        })
        .collect()
}

fn error_code(actions: &[Action], peer: &str) -> Option<ArrayErrorCode> {
    sends_to(actions, peer).into_iter().find_map(|m| match m {
        ServerMessage::Error { code, .. } => Some(*code),
        _ => None,
    })
}

fn core_with(peers: &[&str]) -> ArrayCore {
    let mut c = ArrayCore::new(limits());
    for p in peers {
        assert!(c.join(pid(p), None, 0.0));
    }
    c
}

#[test]
fn report_answers_with_the_other_peers() {
    let mut c = core_with(&["a", "b", "c"]);
    let out = c.on_text(
        &pid("a"),
        r#"{"type":"report","left":10,"peersWanted":8}"#,
        0.0,
    );
    assert!(out.contains(&Action::Persist { peer: pid("a") }));
    // Its share of the CDN's work comes first: the only member downloading.
    let [ServerMessage::Share {
        rank: 0,
        members: 1,
    }, ServerMessage::Peers { peers }] = sends_to(&out, "a")[..]
    else {
        panic!("{out:?}")
    };
    let ids: Vec<_> = peers.iter().map(|p| p.peer_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&"a"));
    assert_eq!(c.report(&pid("a")).map(|r| r.left), Some(10));
}

#[test]
fn cap_on_peers() {
    let mut c = core_with(&["a", "b", "c"]);
    assert!(c.is_full());
    assert!(!c.join(pid("d"), None, 0.0));
    assert!(!c.contains(&pid("d")));
}

#[test]
fn signal_is_relayed_with_the_senders_own_id() {
    let mut c = core_with(&["a", "b"]);
    let out = c.on_text(
        &pid("a"),
        r#"{"type":"signal","to":"b","kind":"offer","data":"sdp"}"#,
        0.0,
    );
    assert_eq!(
        out,
        vec![Action::Send {
            to: pid("b"),
            msg: ServerMessage::Signal {
                from: pid("a"),
                kind: SignalKind::Offer,
                data: "sdp".into()
            }
        }]
    );
}

#[test]
fn signal_to_unknown_or_self_is_refused() {
    let mut c = core_with(&["a", "b"]);
    for to in ["zzz", "a"] {
        let text = format!(r#"{{"type":"signal","to":"{to}","kind":"ice","data":"x"}}"#);
        let out = c.on_text(&pid("a"), &text, 0.0);
        assert_eq!(error_code(&out, "a"), Some(ArrayErrorCode::UnknownPeer));
        assert!(sends_to(&out, "b").is_empty());
    }
}

#[test]
fn a_report_cannot_speak_for_another_peer() {
    let mut c = core_with(&["a", "b"]);
    let out = c.on_text(&pid("a"), r#"{"type":"report","peerId":"b","left":0}"#, 0.0);
    assert_eq!(error_code(&out, "a"), Some(ArrayErrorCode::PeerIdMismatch));
    assert_eq!(c.report(&pid("b")), None);
    assert_eq!(c.report(&pid("a")), None);
}

#[test]
fn bad_frames_are_refused_and_the_array_keeps_serving() {
    let mut c = core_with(&["a", "b"]);
    let big = format!(r#"{{"type":"report","profile":"{}"}}"#, "x".repeat(300));
    assert_eq!(
        error_code(&c.on_text(&pid("a"), &big, 0.0), "a"),
        Some(ArrayErrorCode::MessageTooLarge)
    );
    assert_eq!(
        error_code(&c.on_text(&pid("a"), "{", 0.0), "a"),
        Some(ArrayErrorCode::BadMessage)
    );
    assert_eq!(
        error_code(&c.on_binary(&pid("a"), 3, 0.0), "a"),
        Some(ArrayErrorCode::BinaryNotSupported)
    );
    let out = c.on_text(&pid("b"), r#"{"type":"report"}"#, 0.0);
    assert!(matches!(
        sends_to(&out, "b")[..],
        [ServerMessage::Peers { .. }]
    ));
}

#[test]
fn a_flood_is_rate_limited_then_closed_while_others_are_served() {
    let mut c = core_with(&["a", "b"]);
    let report = r#"{"type":"report"}"#;
    let mut errors = 0;
    let mut closed = false;
    for _ in 0..(limits().burst + MAX_STRIKES + 10) {
        for a in c.on_text(&pid("a"), report, 0.0) {
            match a {
                Action::Send {
                    msg: ServerMessage::Error { code, .. },
                    ..
                } => {
                    assert_eq!(code, ArrayErrorCode::RateLimited);
                    errors += 1;
                }
                Action::Close { peer, code, .. } => {
                    assert_eq!((peer.as_str(), code), ("a", CLOSE_POLICY));
                    closed = true;
                }
                _ => {}
            }
        }
    }
    assert_eq!(errors, 1, "one error per run of dropped messages");
    assert!(closed);
    let out = c.on_text(&pid("b"), report, 0.0);
    assert!(matches!(
        sends_to(&out, "b")[..],
        [ServerMessage::Peers { .. }]
    ));
    // After a pause the allowance refills.
    let later = c.on_text(&pid("a"), report, 10_000.0);
    assert!(matches!(
        sends_to(&later, "a")[..],
        [ServerMessage::Peers { .. }]
    ));
}

#[test]
fn leaving_removes_the_peer_and_tells_the_others() {
    let mut c = core_with(&["a", "b", "c"]);
    let out = c.leave(&pid("b"), 0.0);
    assert_eq!(out.len(), 2);
    assert!(!c.contains(&pid("b")));
    let peers = c.on_text(&pid("a"), r#"{"type":"report","peersWanted":8}"#, 0.0);
    let [ServerMessage::Peers { peers }] = sends_to(&peers, "a")[..] else {
        panic!()
    };
    assert_eq!(
        peers.iter().map(|p| p.peer_id.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    assert!(c.leave(&pid("b"), 0.0).is_empty());
}

#[test]
fn signals_to_departed_peers_never_get_a_client_closed() {
    let mut c = ArrayCore::new(ArrayLimits {
        messages_per_second: 1000,
        burst: 1000,
        ..limits()
    });
    assert!(c.join(pid("a"), None, 0.0));
    let text = r#"{"type":"signal","to":"gone","kind":"ice","data":"x"}"#;
    for i in 0..(2 * MAX_STRIKES) {
        let out = c.on_text(&pid("a"), text, f64::from(i) * 10.0);
        assert!(!out.iter().any(|a| matches!(a, Action::Close { .. })));
    }
    assert!(c.contains(&pid("a")));
}

fn offered_to(c: &mut ArrayCore, me: &str, now_ms: f64) -> Vec<String> {
    let out = c.on_text(&pid(me), r#"{"type":"report","peersWanted":8}"#, now_ms);
    let [ServerMessage::Peers { peers }] = sends_to(&out, me)[..] else {
        panic!("{out:?}")
    };
    peers.iter().map(|p| p.peer_id.to_string()).collect()
}

#[test]
fn a_silent_peer_is_no_longer_offered_until_it_speaks_again() {
    let mut c = core_with(&["a", "b"]);
    c.set_stale_after_ms(60_000.0);
    // a keeps reporting; b, whose far end vanished without a close, is silent.
    assert_eq!(offered_to(&mut c, "a", 30_000.0), ["b"]);
    assert_eq!(offered_to(&mut c, "a", 60_000.0), ["b"], "not stale yet");
    assert!(offered_to(&mut c, "a", 60_001.0).is_empty(), "stale");
    assert!(c.contains(&pid("b")), "stale peers keep their socket");
    // b speaks again: it is offered again, and a, active all along, to it.
    assert_eq!(offered_to(&mut c, "b", 70_000.0), ["a"]);
    assert_eq!(offered_to(&mut c, "a", 70_000.0), ["b"]);
}

#[test]
fn a_restored_peer_keeps_its_persisted_last_seen_time() {
    let mut c = ArrayCore::new(limits());
    c.set_stale_after_ms(60_000.0);
    // After a wake-up at t = 200 s: a reported at 190 s, b last at 100 s.
    assert!(c.restore(pid("a"), None, false, 190_000.0, 200_000.0));
    assert!(c.restore(pid("b"), None, false, 100_000.0, 200_000.0));
    assert!(
        !c.restore(pid("a"), None, false, 0.0, 200_000.0),
        "id taken"
    );
    assert_eq!(c.last_seen_ms(&pid("b")), Some(100_000.0));
    assert!(offered_to(&mut c, "a", 200_000.0).is_empty());
    // Its own report refreshes the time the glue persists.
    assert_eq!(offered_to(&mut c, "b", 201_000.0), ["a"]);
    assert_eq!(c.last_seen_ms(&pid("b")), Some(201_000.0));
}

#[test]
fn idle_peers_are_closed_and_free_their_slot() {
    let mut c = core_with(&["a", "b", "c"]);
    c.set_stale_after_ms(1000.0);
    assert!(c.is_full());
    // "a" keeps talking; "b" and "c" hold their sockets silently.
    c.on_text(&pid("a"), r#"{"type":"report"}"#, 900.0);
    assert!(
        c.evict_idle(999.0).is_empty(),
        "nobody is idle before the deadline"
    );
    let out = c.evict_idle(1500.0);
    for idle in ["b", "c"] {
        assert!(out.contains(&Action::Close {
            peer: pid(idle),
            code: CLOSE_IDLE,
            reason: "idle: no message within the deadline",
        }));
        assert!(!c.contains(&pid(idle)));
        assert!(sends_to(&out, "a").contains(&&ServerMessage::PeerLeft { peer_id: pid(idle) }));
    }
    assert!(c.contains(&pid("a")));
    assert!(c.join(pid("d"), None, 1500.0), "a slot is free again");
}

#[test]
fn a_flood_aimed_at_one_peer_is_cut_off_at_one_senders_allowance() {
    // limits(): burst 5, 10/s; "v" is the victim, four others flood it,
    // each within its own allowance.
    let mut c = core_with(&["v", "a", "b"]);
    let mut relayed = 0;
    let mut busy = 0;
    for from in ["a", "b"] {
        for _ in 0..4 {
            let out = c.on_text(
                &pid(from),
                r#"{"type":"signal","to":"v","kind":"offer","data":"x"}"#,
                0.0,
            );
            relayed += sends_to(&out, "v").len();
            busy += usize::from(error_code(&out, from) == Some(ArrayErrorCode::RecipientBusy));
        }
    }
    assert_eq!(
        relayed, 5,
        "the victim receives one sender's burst, not two"
    );
    assert_eq!(busy, 3);
    assert!(
        c.contains(&pid("a")) && c.contains(&pid("b")),
        "no strike-out"
    );
    // The budget refills with time, and other recipients were never affected.
    let out = c.on_text(
        &pid("a"),
        r#"{"type":"signal","to":"v","kind":"ice","data":"x"}"#,
        1000.0,
    );
    assert_eq!(sends_to(&out, "v").len(), 1);
    let out = c.on_text(
        &pid("a"),
        r#"{"type":"signal","to":"b","kind":"offer","data":"x"}"#,
        1000.0,
    );
    assert_eq!(sends_to(&out, "b").len(), 1);
}
