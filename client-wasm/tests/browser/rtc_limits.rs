//! The limits an `RtcPeer` puts on what its remote peer can make it do:
//! ICE candidates per connection (each one is an address the browser probes).

use client_wasm::rtc::{RtcEvent, RtcOptions};
use edgeswarm_protocol::array::SignalKind;
use edgeswarm_protocol::rtc::MAX_ICE_CANDIDATES;
use futures_util::StreamExt;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::rtc::pair;

/// A loopback host candidate on `port` (nothing listens there).
fn candidate(port: u32) -> String {
    format!(
        r#"{{"candidate":"candidate:{port} 1 udp 2122260223 127.0.0.1 {port} typ host","sdpMid":"0","sdpMLineIndex":0}}"#
    )
}

fn candidates_in(sdp: &str) -> usize {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .count()
}

#[wasm_bindgen_test]
async fn remote_ice_candidates_beyond_the_cap_are_ignored() {
    let (_a, b, mut ea, mut eb) = pair(RtcOptions::default());
    assert_eq!(ea.next().await, Some(RtcEvent::Open));
    assert_eq!(eb.next().await, Some(RtcEvent::Open));
    let fut = {
        let b = b.borrow();
        let b = b.as_ref().expect("peer b");
        let before = candidates_in(&b.remote_sdp().expect("remote description"));
        assert!(before < MAX_ICE_CANDIDATES, "{before} real candidates");
        // A flood of candidates from the remote side, well past the cap.
        let applies: Vec<_> = (0..2 * MAX_ICE_CANDIDATES as u32)
            .map(|n| b.apply_signal(SignalKind::Ice, candidate(40_000 + n)))
            .collect();
        futures_util::future::join_all(applies)
    };
    fut.await;
    let b = b.borrow();
    let b = b.as_ref().expect("peer b");
    let sdp = b.remote_sdp().expect("remote description");
    assert_eq!(
        candidates_in(&sdp),
        MAX_ICE_CANDIDATES,
        "the browser holds exactly the cap of remote candidates"
    );
    assert!(
        b.is_open(),
        "ignoring extra candidates keeps the connection"
    );
}
