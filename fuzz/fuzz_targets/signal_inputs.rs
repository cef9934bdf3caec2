//! Fuzz target: what a client reads from the array and from other peers'
//! signals, on arbitrary bytes: the array's JSON messages (both directions)
//! and the DTLS fingerprint of an SDP description.
//!
//! Invariants checked: nothing panics; a JSON message that decodes
//! re-encodes to JSON that decodes to the same message; a fingerprint that
//! parses prints as an `a=fingerprint` line that parses to the same
//! fingerprint.
#![no_main]

use edgeswarm_protocol::array::{ClientMessage, ServerMessage};
use edgeswarm_protocol::rtc::sdp_fingerprint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<ClientMessage>(data) {
        if let ClientMessage::Report(r) = &m {
            let _ = r.validate();
        }
        let again: ClientMessage =
            serde_json::from_str(&serde_json::to_string(&m).expect("encodes")).expect("decodes");
        assert_eq!(again, m, "client message changed on a round trip");
    }
    if let Ok(m) = serde_json::from_slice::<ServerMessage>(data) {
        let again: ServerMessage =
            serde_json::from_str(&serde_json::to_string(&m).expect("encodes")).expect("decodes");
        assert_eq!(again, m, "server message changed on a round trip");
    }
    if let Ok(sdp) = std::str::from_utf8(data) {
        if let Ok(fp) = sdp_fingerprint(sdp) {
            let line = format!("a=fingerprint:{fp}\r\n");
            assert_eq!(
                sdp_fingerprint(&line),
                Ok(fp),
                "fingerprint changed when printed"
            );
        }
    }
});
