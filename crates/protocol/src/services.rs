//! The JSON bodies of the Delivery Optimization service routes
//! (docs/openapi.yaml): the bootstrap (`GET /kv`), geo, the publisher's
//! policy (`PUT …/policy`), the content policy answer (`GET /cp`) and the
//! discovery answer (`GET /disc`). The edge worker serializes them and the
//! browser client deserializes the very same types, with the same defaults.
//!
//! Invariants: answers are read leniently (unknown fields ignored, missing
//! optional fields take the defaults below) so that a newer worker stays
//! readable; the publisher's [`Policy`] is strict (unknown fields refused),
//! because a typo there would silently change what is published.

use serde::{Deserialize, Serialize};

use crate::array::ArrayLimits;
use crate::ids::{ContentId, DEFAULT_PIECE_SIZE};
use crate::policies::{BackgroundPolicy, CachePolicy, UploadPolicy};

/// Longest URL in a policy, in bytes (the same bound as a report's
/// `altCatalogId`, so content named by a registered URL is never refused by
/// its array).
pub const MAX_URL_LEN: usize = crate::array::MAX_ALT_CATALOG_ID_LEN;
/// Largest policy body a publisher may PUT, in bytes.
pub const MAX_POLICY_BYTES: usize = 16 * 1024;

/// Percent-encodes a query value for a service URL (RFC 3986 unreserved
/// characters pass through), as the client and the CLI build them.
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

/// One ICE server, as `RTCPeerConnection` takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Peer limits for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PeerLimits {
    /// Most simultaneous peer connections a client keeps.
    pub max_connections: u32,
    /// `peersWanted` a client puts in its reports.
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

/// When a client may use HTTP in P2P mode (Delivery Optimization's "delay
/// foreground/background download from HTTP" and "minimum download QoS").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpDelay {
    /// Interactive downloads: no HTTP before this long after the start.
    /// Default 0, as DO's: no fixed wait on the critical path. In P2P mode
    /// the engine still fetches from the CDN only pieces that no usable
    /// connected peer can serve (the starving rule of `swarm::http`).
    pub foreground_ms: u64,
    /// Background downloads: no HTTP before this long after the start.
    pub background_ms: u64,
    /// DO's minimum download QoS, bytes/s, for the whole download (peers and
    /// CDN together, over the last 3 s): below it the CDN also fetches
    /// pieces while peers are delivering. 0 = off.
    pub min_download_bytes_per_second: u64,
}

impl Default for HttpDelay {
    fn default() -> Self {
        Self {
            foreground_ms: 0,
            background_ms: 30_000,
            min_download_bytes_per_second: 64 * 1024,
        }
    }
}

/// The `config` object of `GET /kv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConfig {
    /// Default piece size for publishing (the metadata file fixes the real one).
    pub piece_size: u32,
    pub ice_servers: Vec<IceServer>,
    pub peers: PeerLimits,
    /// Bad pieces from one peer before the client bans it.
    pub strike_limit: u32,
    pub http_delay: HttpDelay,
    /// How often a client sends a stats report to its array.
    pub report_interval_ms: u64,
    /// The array's own limits (also announced in its welcome).
    pub array: ArrayLimits,
    /// DO's cache policies (resume, seeding, eviction).
    pub cache: CachePolicy,
    /// DO's upload policies (rate, monthly cap, battery).
    pub upload: UploadPolicy,
    /// DO's background download share.
    pub background: BackgroundPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            piece_size: DEFAULT_PIECE_SIZE,
            ice_servers: Vec::new(),
            peers: PeerLimits::default(),
            strike_limit: 2,
            http_delay: HttpDelay::default(),
            report_interval_ms: 15_000,
            array: ArrayLimits::default(),
            cache: CachePolicy::default(),
            upload: UploadPolicy::default(),
            background: BackgroundPolicy::default(),
        }
    }
}

/// The service URLs of `GET /kv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub kv: String,
    pub geo: String,
    pub cp: String,
    pub disc: String,
    /// WebSocket base; append `/{arrayId}`.
    pub array: String,
    pub meta: String,
    pub content: String,
}

impl Endpoints {
    /// The endpoints of a worker at `origin` (`http(s)://host[:port]`).
    pub fn for_origin(origin: &str) -> Self {
        let base = format!("{origin}/do/v1");
        let ws_base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.clone()
        };
        Endpoints {
            kv: format!("{base}/kv"),
            geo: format!("{base}/geo"),
            cp: format!("{base}/cp"),
            disc: format!("{base}/disc"),
            array: format!("{ws_base}/array"),
            meta: format!("{base}/meta"),
            content: format!("{base}/content"),
        }
    }

    /// The `disc` endpoint of the worker whose `arrayUrl` is `array_url`
    /// (`ws(s)://host/do/v1/array/{id}?ticket=…`): a client whose array
    /// ticket may have expired asks discovery again there before it
    /// reconnects. `None` if `array_url` is not shaped like one.
    pub fn disc_for_array_url(array_url: &str) -> Option<String> {
        let path = array_url.split(['?', '#']).next()?;
        let (array_base, id) = path.rsplit_once('/')?;
        let base = array_base
            .strip_suffix("/array")
            .filter(|_| !id.is_empty())?;
        let base = if let Some(rest) = base.strip_prefix("wss://") {
            format!("https://{rest}")
        } else if let Some(rest) = base.strip_prefix("ws://") {
            format!("http://{rest}")
        } else {
            return None;
        };
        Some(format!("{base}/disc"))
    }
}

/// The whole `GET /kv` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub endpoints: Endpoints,
    #[serde(default)]
    pub config: ClientConfig,
}

/// The `GET /geo` answer, from the request's edge data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Geo {
    pub country_code: Option<String>,
    /// The serving location.
    pub colo: Option<String>,
    pub continent: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
}

/// A publisher's policy for one content item (`PUT …/policy`). Only
/// `p2pAllowed` is required; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Whether clients may fetch pieces from peers.
    pub p2p_allowed: bool,
    /// A download URL clients may name instead of the content id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_catalog_id: Option<String>,
    /// Where clients fetch the file over HTTP; default: the worker's
    /// `/do/v1/content/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
}

/// The `GET /cp` answer: the policy of published content and the facts of
/// its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentPolicy {
    pub content_id: ContentId,
    pub p2p_allowed: bool,
    pub metadata_url: String,
    /// Lowercase hex SHA-256 of the metadata file.
    pub metadata_sha256: String,
    pub content_url: String,
    pub file_size: u64,
    pub piece_size: u32,
    /// Lowercase hex SHA-256 of the whole file.
    pub file_sha256: String,
}

/// The `GET /disc` answer: which array to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    pub content_id: ContentId,
    /// The peering download mode (1, 2 or 3).
    pub scope: u8,
    pub array_id: String,
    /// ws(s) URL of the array.
    pub array_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disc_endpoint_sits_beside_the_array() {
        for origin in ["https://edge.example", "http://127.0.0.1:8787"] {
            let e = Endpoints::for_origin(origin);
            let url = format!("{}/0123?ticket=1.a.ff", e.array);
            assert_eq!(Endpoints::disc_for_array_url(&url), Some(e.disc));
        }
        assert_eq!(
            Endpoints::disc_for_array_url("https://x/do/v1/array/1"),
            None
        );
        assert_eq!(Endpoints::disc_for_array_url("wss://x/do/v1/array/"), None);
        assert_eq!(Endpoints::disc_for_array_url("wss://x/other/1"), None);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_component("team a/b&c"), "team%20a%2Fb%26c");
        assert_eq!(encode_component("a/b+c="), "a%2Fb%2Bc%3D");
        assert_eq!(encode_component("ok-._~9"), "ok-._~9");
    }

    #[test]
    fn endpoints_follow_the_origin_scheme() {
        let e = Endpoints::for_origin("https://edge.example");
        assert_eq!(e.array, "wss://edge.example/do/v1/array");
        assert_eq!(e.cp, "https://edge.example/do/v1/cp");
        let l = Endpoints::for_origin("http://127.0.0.1:8787");
        assert_eq!(l.array, "ws://127.0.0.1:8787/do/v1/array");
    }

    #[test]
    fn answers_are_read_leniently_and_policies_strictly() {
        let b: Bootstrap = serde_json::from_str(
            r#"{"endpoints":{"kv":"k","geo":"g","cp":"c","disc":"d","array":"a","meta":"m","content":"x","new":1},
                "config":{"strikeLimit":3,"future":true}}"#,
        )
        .unwrap();
        assert_eq!(b.config.strike_limit, 3);
        assert_eq!(b.config.peers, PeerLimits::default());
        assert!(serde_json::from_str::<Policy>(r#"{"p2pAllowed":true,"extra":1}"#).is_err());
        assert!(serde_json::from_str::<Policy>(r#"{}"#).is_err());
        let g: Geo = serde_json::from_str("{}").unwrap();
        assert_eq!(g, Geo::default());
        assert!(serde_json::from_str::<ContentPolicy>(r#"{"contentId":"demo"}"#).is_err());
    }
}
