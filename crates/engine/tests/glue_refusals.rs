//! Misbehaviour the glue sees below the wire protocol (a data-channel
//! message above `wire::MAX_MESSAGE_LEN`, a text message) is an engine
//! input, and the engine bans its sender like any other violation.

mod common;

use common::*;
use edgeswarm_engine::{BanReason, EngineConfig, Event, Input, Output, PeerKey};

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);

#[test]
fn a_peer_the_glue_reports_is_banned_and_never_dialled_again() {
    let f = file(4 * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A, B]));
    n.drain();
    for peer in [A, B] {
        n.input(Input::PeerConnected { peer });
        for bytes in hello(&meta, &mb, vec![0xf0]) {
            n.input(Input::PeerData { peer, bytes });
        }
    }
    n.drain();
    assert_eq!(n.engine.stats().peers_connected, 2);

    n.input(Input::PeerMisbehaved {
        peer: A,
        reason: "oversize data-channel message",
    });
    let outs = n.drain();
    assert!(outs.contains(&Output::DisconnectPeer { peer: A }));
    assert!(n.events.contains(&Event::PeerBanned {
        peer: A,
        reason: BanReason::ProtocolViolation("oversize data-channel message"),
    }));
    let stats = n.engine.stats();
    assert_eq!(stats.peers_banned, 1);
    assert_eq!(stats.peers_connected, 1, "the other peer stays");

    // Offered again by the array: never dialled.
    n.input(Input::PeerCandidates(vec![A]));
    assert!(!n.drain().contains(&Output::ConnectPeer { peer: A }));
}
