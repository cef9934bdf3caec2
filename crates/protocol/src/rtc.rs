//! WebRTC signalling limits both peers agree on, and the DTLS certificate
//! fingerprint of a session description (docs/peer-protocol.md).
//!
//! - [`MAX_ICE_CANDIDATES`]: ICE candidates a receiver applies per
//!   connection; further ones are ignored (each applied candidate makes the
//!   browser probe the address it names).
//! - [`sdp_fingerprint`]: the `a=fingerprint` of an offer or answer. The
//!   browser's DTLS handshake checks the remote certificate against it, so
//!   once a data channel is open, the fingerprint names the key the remote
//!   peer really holds: a peer cannot claim another peer's fingerprint and
//!   still open a channel.
//!
//! Invariants: parsing never panics and allocates at most one digest
//! ([`MAX_DIGEST_LEN`] bytes) whatever the input; a description whose
//! fingerprint lines disagree is refused, so there is exactly one
//! fingerprint per accepted description.

use std::fmt;

use thiserror::Error;

/// Most ICE candidates applied per connection from the remote peer. A
/// browser offers a handful (host, server-reflexive and relay candidates per
/// interface); the rest are ignored.
pub const MAX_ICE_CANDIDATES: usize = 32;
/// Longest hash-function token of a fingerprint (`sha-256`, `sha-512`, …).
pub const MAX_ALGORITHM_LEN: usize = 16;
/// Longest digest of a fingerprint, in bytes (SHA-512).
pub const MAX_DIGEST_LEN: usize = 64;

/// The remote DTLS certificate's fingerprint, as announced in its SDP:
/// the hash function (lower case) and the digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DtlsFingerprint {
    algorithm: String,
    digest: Vec<u8>,
}

impl DtlsFingerprint {
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
}

impl fmt::Display for DtlsFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.algorithm)?;
        for (i, b) in self.digest.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

/// Why a session description has no usable fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FingerprintError {
    #[error("the description has no a=fingerprint line")]
    Missing,
    #[error("an a=fingerprint line is malformed")]
    Malformed,
    #[error("the description's a=fingerprint lines disagree")]
    Conflicting,
}

/// The one DTLS fingerprint of an SDP offer or answer (session- or
/// media-level `a=fingerprint:<hash> <XX:XX:…>` lines; all must agree).
pub fn sdp_fingerprint(sdp: &str) -> Result<DtlsFingerprint, FingerprintError> {
    let mut found: Option<DtlsFingerprint> = None;
    for line in sdp.split('\n') {
        let Some(value) = line.trim_end_matches('\r').strip_prefix("a=fingerprint:") else {
            continue;
        };
        let fp = parse_value(value).ok_or(FingerprintError::Malformed)?;
        match &found {
            Some(f) if *f != fp => return Err(FingerprintError::Conflicting),
            Some(_) => {}
            None => found = Some(fp),
        }
    }
    found.ok_or(FingerprintError::Missing)
}

/// `sha-256 AB:CD:…` → its fingerprint.
fn parse_value(value: &str) -> Option<DtlsFingerprint> {
    let (algorithm, hex) = value.trim().split_once(' ')?;
    if algorithm.is_empty()
        || algorithm.len() > MAX_ALGORITHM_LEN
        || !algorithm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let hex = hex.trim();
    // Each byte is two hex digits and a colon, except the last.
    if hex.is_empty() || hex.len() > MAX_DIGEST_LEN * 3 - 1 || (hex.len() + 1) % 3 != 0 {
        return None;
    }
    let mut digest = Vec::with_capacity((hex.len() + 1) / 3);
    for (i, pair) in hex.split(':').enumerate() {
        let &[hi, lo] = pair.as_bytes() else {
            return None;
        };
        if i >= MAX_DIGEST_LEN {
            return None;
        }
        digest.push(hex_digit(hi)? << 4 | hex_digit(lo)?);
    }
    Some(DtlsFingerprint {
        algorithm: algorithm.to_ascii_lowercase(),
        digest,
    })
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CD:A0:B6:A1:\
                      F1:5E:3C:A5:8E:D3:9B:67:5F:DE:7C:06:CB:3E:0B:2E";

    fn sdp(lines: &[&str]) -> String {
        let mut s = String::from("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n");
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s
    }

    #[test]
    fn reads_the_fingerprint_of_a_chromium_description() {
        let text = sdp(&[
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            &format!("a=fingerprint:sha-256 {FP}"),
            "a=setup:actpass",
        ]);
        let fp = sdp_fingerprint(&text).expect("fingerprint");
        assert_eq!(fp.algorithm(), "sha-256");
        assert_eq!(fp.digest().len(), 32);
        assert_eq!(fp.to_string(), format!("sha-256 {FP}"));
    }

    #[test]
    fn case_and_repeats_do_not_change_the_fingerprint() {
        let a = sdp(&[&format!("a=fingerprint:sha-256 {FP}")]);
        let b = sdp(&[
            &format!("a=fingerprint:SHA-256 {}", FP.to_lowercase()),
            &format!("a=fingerprint:sha-256 {FP}"),
        ]);
        assert_eq!(sdp_fingerprint(&a), sdp_fingerprint(&b));
    }

    #[test]
    fn refuses_missing_malformed_and_conflicting_fingerprints() {
        assert_eq!(
            sdp_fingerprint(&sdp(&["a=setup:actpass"])),
            Err(FingerprintError::Missing)
        );
        for bad in [
            "a=fingerprint:sha-256",
            "a=fingerprint:sha-256 6B:8",
            "a=fingerprint:sha-256 6B8B",
            "a=fingerprint:sha-256 GG:00",
            "a=fingerprint: 6B:8B",
            "a=fingerprint:sha/256 6B:8B",
        ] {
            assert_eq!(
                sdp_fingerprint(&sdp(&[bad])),
                Err(FingerprintError::Malformed),
                "{bad}"
            );
        }
        let too_long = vec!["AB"; MAX_DIGEST_LEN + 1].join(":");
        assert_eq!(
            sdp_fingerprint(&sdp(&[&format!("a=fingerprint:sha-512 {too_long}")])),
            Err(FingerprintError::Malformed)
        );
        let other = FP.replacen("6B", "6C", 1);
        assert_eq!(
            sdp_fingerprint(&sdp(&[
                &format!("a=fingerprint:sha-256 {FP}"),
                &format!("a=fingerprint:sha-256 {other}"),
            ])),
            Err(FingerprintError::Conflicting)
        );
    }
}
