//! Unit tests of the array's defences against forged reports, offer floods
//! and forged accusations (issue 11), on the core natively.

use super::*;
use edgeswarm_protocol::array::{MAX_OFFERS_PER_PAIR, MAX_PLAUSIBLE_BPS, OFFER_WINDOW_MS};

fn pid(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

fn core_with(peers: &[&str]) -> ArrayCore {
    let mut c = ArrayCore::new(ArrayLimits {
        max_peers: 16,
        max_message_bytes: 1000,
        messages_per_second: 1000,
        burst: 1000,
    });
    for p in peers {
        assert!(c.join(pid(p), None, 0.0));
    }
    c
}

fn errors_to(actions: &[Action], peer: &str) -> Vec<ArrayErrorCode> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                to,
                msg: ServerMessage::Error { code, .. },
            } if to.as_str() == peer => Some(*code),
            _ => None,
        })
        .collect()
}

fn offered(c: &mut ArrayCore, me: &str) -> Vec<String> {
    let out = c.on_text(
        &pid(me),
        r#"{"type":"report","left":9,"peersWanted":8}"#,
        1.0,
    );
    out.iter()
        .find_map(|a| match a {
            Action::Send {
                msg: ServerMessage::Peers { peers },
                ..
            } => Some(peers.iter().map(|p| p.peer_id.to_string()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn offers_per_pair_are_capped_and_answered_offer_limit() {
    let mut c = core_with(&["a", "v", "w"]);
    let offer = |to: &str| format!(r#"{{"type":"signal","to":"{to}","kind":"offer","data":"o"}}"#);
    for _ in 0..MAX_OFFERS_PER_PAIR {
        let out = c.on_text(&pid("a"), &offer("v"), 0.0);
        assert!(errors_to(&out, "a").is_empty(), "{out:?}");
    }
    let out = c.on_text(&pid("a"), &offer("v"), 1.0);
    assert_eq!(errors_to(&out, "a"), [ArrayErrorCode::OfferLimit]);
    assert!(!out
        .iter()
        .any(|a| matches!(a, Action::Send { to, .. } if to.as_str() == "v")));
    // Answers and candidates to the same peer, and offers to another, pass.
    let ice = r#"{"type":"signal","to":"v","kind":"ice","data":"c"}"#;
    assert!(errors_to(&c.on_text(&pid("a"), ice, 1.0), "a").is_empty());
    assert!(errors_to(&c.on_text(&pid("a"), &offer("w"), 1.0), "a").is_empty());
    // A new window admits offers again; the cap never strikes.
    let later = OFFER_WINDOW_MS as f64;
    assert!(errors_to(&c.on_text(&pid("a"), &offer("v"), later), "a").is_empty());
    assert!(c.contains(&pid("a")));
}

#[test]
fn a_forged_report_does_not_rank_ahead_of_a_peer_with_standing() {
    let mut c = core_with(&["d", "seed", "forger", "v"]);
    c.on_text(
        &pid("seed"),
        r#"{"type":"report","left":0,"uploaded":1000,"uploadedBps":10}"#,
        0.0,
    );
    let forged = format!(
        r#"{{"type":"report","left":0,"uploaded":{m},"uploadedBps":{m}}}"#,
        m = u64::MAX
    );
    c.on_text(&pid("forger"), &forged, 0.0);
    assert_eq!(
        c.report(&pid("forger")).unwrap().uploaded_bps,
        MAX_PLAUSIBLE_BPS
    );
    // v received verified bytes from seed.
    c.on_text(
        &pid("v"),
        r#"{"type":"attest","verifiedFrom":["seed"]}"#,
        0.0,
    );
    assert_eq!(offered(&mut c, "d")[0], "seed");
}

#[test]
fn accusations_drop_a_peer_only_from_accusers_with_standing() {
    let mut c = core_with(&["d", "h", "m", "e1", "e2", "e3", "a", "b", "v"]);
    // Attacker sockets without standing accuse the honest h: nothing happens.
    for e in ["e1", "e2", "e3"] {
        c.on_text(&pid(e), r#"{"type":"attest","banned":["h"]}"#, 0.0);
    }
    assert!(offered(&mut c, "d").contains(&"h".to_owned()));
    // a and b have standing (v vouches for them) and both accuse m.
    c.on_text(
        &pid("v"),
        r#"{"type":"attest","verifiedFrom":["a","b"]}"#,
        0.0,
    );
    c.on_text(&pid("a"), r#"{"type":"attest","banned":["m"]}"#, 0.0);
    assert!(
        offered(&mut c, "d").contains(&"m".to_owned()),
        "one accuser is not a quorum"
    );
    c.on_text(&pid("b"), r#"{"type":"attest","banned":["m"]}"#, 0.0);
    let list = offered(&mut c, "d");
    assert!(!list.contains(&"m".to_owned()), "{list:?}");
    assert!(list.contains(&"h".to_owned()));
    // A withdrawn accusation (a new attestation) restores m.
    c.on_text(&pid("b"), r#"{"type":"attest"}"#, 0.0);
    assert!(offered(&mut c, "d").contains(&"m".to_owned()));
}

#[test]
fn oversized_attestations_are_refused() {
    let mut c = core_with(&["a"]);
    let many: Vec<String> = (0..=edgeswarm_protocol::array::MAX_ATTESTED_PEERS)
        .map(|i| format!("\"p{i}\""))
        .collect();
    let msg = format!(r#"{{"type":"attest","banned":[{}]}}"#, many.join(","));
    let out = c.on_text(&pid("a"), &msg, 0.0);
    assert_eq!(errors_to(&out, "a"), [ArrayErrorCode::BadAttestation]);
}
