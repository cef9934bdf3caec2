//! The DO service answers the client reads before a download: kv (bootstrap),
//! geo, cp (content policy) and disc (discovery), as the edge worker serves
//! them (docs/openapi.yaml). Fields the client does not need are ignored and
//! missing optional ones take defaults, so a newer server stays compatible.

use serde::Deserialize;

use crate::rtc::IceServer;

/// `GET /do/v1/kv`.
#[derive(Debug, Clone, Deserialize)]
pub struct Bootstrap {
    pub endpoints: Endpoints,
    #[serde(default)]
    pub config: ClientConfig,
}

/// Service URLs from the bootstrap.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoints {
    pub geo: String,
    pub cp: String,
    pub disc: String,
}

/// Peer limits from the bootstrap.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PeerLimits {
    pub max_connections: u32,
    pub peers_wanted: u32,
}

impl Default for PeerLimits {
    fn default() -> Self {
        Self {
            max_connections: 8,
            peers_wanted: 8,
        }
    }
}

/// DO's "delay download from HTTP" policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpDelay {
    pub foreground_ms: u64,
    pub background_ms: u64,
    /// DO's minimum download QoS (bytes/s): below it the CDN helps even
    /// while peers deliver. 0 (or absent) = off.
    pub min_peer_bytes_per_second: u64,
}

/// The client configuration of the bootstrap.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConfig {
    pub ice_servers: Vec<IceServer>,
    pub peers: PeerLimits,
    pub strike_limit: Option<u32>,
    pub http_delay: Option<HttpDelay>,
    pub report_interval_ms: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            peers: PeerLimits::default(),
            strike_limit: None,
            http_delay: None,
            report_interval_ms: 15_000,
        }
    }
}

/// `GET /do/v1/geo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Geo {
    pub country_code: Option<String>,
    pub colo: Option<String>,
}

/// `GET /do/v1/cp/{contentId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub content_id: String,
    pub p2p_allowed: bool,
    pub metadata_url: String,
    pub metadata_sha256: String,
    pub content_url: String,
    pub file_size: u64,
    #[serde(default)]
    pub file_sha256: Option<String>,
}

/// `GET /do/v1/disc/{contentId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    pub array_id: String,
    pub array_url: String,
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses 64 lowercase or uppercase hex characters.
pub fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(s.trim()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_component("team a/b&c"), "team%20a%2Fb%26c");
        assert_eq!(encode_component("ok-._~9"), "ok-._~9");
    }

    #[test]
    fn sha256_hex_must_be_32_bytes() {
        assert_eq!(parse_sha256_hex(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_sha256_hex("abcd"), None);
        assert_eq!(parse_sha256_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn policy_answer_parses_with_and_without_optional_fields() {
        let p: Policy = serde_json::from_str(
            r#"{"contentId":"demo","p2pAllowed":true,"metadataUrl":"m","metadataSha256":"00",
                "contentUrl":"c","fileSize":5,"pieceSize":1048576,"extra":1}"#,
        )
        .unwrap();
        assert!(p.p2p_allowed && p.file_sha256.is_none());
        assert!(serde_json::from_str::<Policy>(r#"{"contentId":"demo"}"#).is_err());
    }
}
