//! KeyValue / bootstrap: the endpoints of every other service and the
//! client configuration, read from the worker's vars with documented
//! defaults (wrangler.toml `[vars]`, docs/openapi.yaml).
//!
//! Invariant: [`Settings::from_vars`] never fails on a missing var (the
//! default applies) and rejects a malformed one with a message naming it,
//! so a bad deploy shows up at the first request as a clear 500, never as a
//! client receiving nonsense limits.

use serde::{Deserialize, Serialize};

use edgeswarm_protocol::array::ArrayLimits;

/// One ICE server, as `RTCPeerConnection` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Peer limits for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerLimits {
    /// Most simultaneous peer connections a client keeps.
    pub max_connections: u32,
    /// `peersWanted` a client puts in its reports.
    pub peers_wanted: u32,
}

/// When a client may fall back to HTTP for a piece peers could serve
/// (Delivery Optimization's "delay foreground/background download from HTTP").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDelay {
    /// Interactive downloads: wait this long for peers before HTTP.
    pub foreground_ms: u64,
    /// Background downloads: wait this long for peers before HTTP.
    pub background_ms: u64,
    /// A peer slower than this (bytes/s) does not count as serving a piece in time.
    pub min_peer_bytes_per_second: u64,
}

/// The `config` object of `GET /kv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
}

/// Everything configurable, read from vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub client: ClientConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            client: ClientConfig {
                piece_size: edgeswarm_protocol::PieceSize::DEFAULT.get(),
                ice_servers: Vec::new(),
                peers: PeerLimits {
                    max_connections: 8,
                    peers_wanted: 8,
                },
                strike_limit: 2,
                http_delay: HttpDelay {
                    foreground_ms: 2_000,
                    background_ms: 30_000,
                    min_peer_bytes_per_second: 64 * 1024,
                },
                report_interval_ms: 15_000,
                array: ArrayLimits {
                    max_peers: 512,
                    max_message_bytes: 16 * 1024,
                    messages_per_second: 20,
                    burst: 40,
                },
            },
        }
    }
}

fn num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    slot: &mut T,
) -> Result<(), String> {
    if let Some(v) = get(name) {
        *slot = v
            .trim()
            .parse()
            .map_err(|_| format!("var {name} is not a number: {v:?}"))?;
    }
    Ok(())
}

impl Settings {
    /// Reads the vars through `get` (the worker's `env.var`), defaults for
    /// the missing ones.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut s = Settings::default();
        let c = &mut s.client;
        if let Some(v) = get("ICE_SERVERS") {
            c.ice_servers = serde_json::from_str(&v)
                .map_err(|e| format!("var ICE_SERVERS is not a JSON array of ICE servers: {e}"))?;
        }
        num(&get, "PIECE_SIZE", &mut c.piece_size)?;
        edgeswarm_protocol::PieceSize::new(c.piece_size.into())
            .map_err(|e| format!("var PIECE_SIZE: {e}"))?;
        num(&get, "MAX_CONNECTIONS", &mut c.peers.max_connections)?;
        num(&get, "PEERS_WANTED", &mut c.peers.peers_wanted)?;
        num(&get, "STRIKE_LIMIT", &mut c.strike_limit)?;
        num(
            &get,
            "HTTP_DELAY_FOREGROUND_MS",
            &mut c.http_delay.foreground_ms,
        )?;
        num(
            &get,
            "HTTP_DELAY_BACKGROUND_MS",
            &mut c.http_delay.background_ms,
        )?;
        num(
            &get,
            "MIN_PEER_BYTES_PER_SECOND",
            &mut c.http_delay.min_peer_bytes_per_second,
        )?;
        num(&get, "REPORT_INTERVAL_MS", &mut c.report_interval_ms)?;
        num(&get, "ARRAY_MAX_PEERS", &mut c.array.max_peers)?;
        num(
            &get,
            "ARRAY_MAX_MESSAGE_BYTES",
            &mut c.array.max_message_bytes,
        )?;
        num(
            &get,
            "ARRAY_MESSAGES_PER_SECOND",
            &mut c.array.messages_per_second,
        )?;
        num(&get, "ARRAY_BURST", &mut c.array.burst)?;
        Ok(s)
    }
}

/// The service URLs of `GET /kv`, built from the worker's own origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// `origin` is `http(s)://host[:port]`.
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
}

/// The whole `GET /kv` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Bootstrap {
    pub endpoints: Endpoints,
    pub config: ClientConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_vars() {
        let s = Settings::from_vars(|_| None).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.client.piece_size, 1024 * 1024);
    }

    #[test]
    fn vars_override_and_bad_vars_are_named() {
        let s = Settings::from_vars(|k| match k {
            "ARRAY_MAX_PEERS" => Some("4".into()),
            "ICE_SERVERS" => Some(r#"[{"urls":["stun:stun.example:3478"]}]"#.into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.client.array.max_peers, 4);
        assert_eq!(s.client.ice_servers[0].urls, ["stun:stun.example:3478"]);
        let e = Settings::from_vars(|k| (k == "STRIKE_LIMIT").then(|| "x".into())).unwrap_err();
        assert!(e.contains("STRIKE_LIMIT"));
        assert!(Settings::from_vars(|k| (k == "PIECE_SIZE").then(|| "1000".into())).is_err());
    }

    #[test]
    fn endpoints_follow_the_origin_scheme() {
        let e = Endpoints::for_origin("https://edge.example");
        assert_eq!(e.array, "wss://edge.example/do/v1/array");
        assert_eq!(e.cp, "https://edge.example/do/v1/cp");
        let l = Endpoints::for_origin("http://127.0.0.1:8787");
        assert_eq!(l.array, "ws://127.0.0.1:8787/do/v1/array");
        let j = serde_json::to_value(Bootstrap {
            endpoints: l,
            config: Settings::default().client,
        })
        .unwrap();
        assert_eq!(j["config"]["strikeLimit"], 2);
        assert_eq!(j["config"]["httpDelay"]["foregroundMs"], 2000);
        assert_eq!(j["config"]["array"]["maxPeers"], 512);
    }
}
