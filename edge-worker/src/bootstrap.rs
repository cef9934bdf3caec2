//! KeyValue / bootstrap: the endpoints of every other service and the
//! client configuration, read from the worker's vars with documented
//! defaults (wrangler.toml `[vars]`, docs/openapi.yaml). The answer's types
//! and defaults are the protocol's (`edgeswarm_protocol::services`), which
//! the client reads.
//!
//! Invariant: [`Settings::from_vars`] never fails on a missing var (the
//! default applies) and rejects a malformed one with a message naming it,
//! so a bad deploy shows up at the first request as a clear 500, never as a
//! client receiving nonsense limits.

use edgeswarm_protocol::services::ClientConfig;
pub use edgeswarm_protocol::services::{Bootstrap, Endpoints};

/// Everything configurable, read from vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub client: ClientConfig,
    /// `ARRAY_IDLE_MS`: silence after which an array closes a socket; unset =
    /// four report intervals, at least a minute.
    pub array_idle_ms: Option<u64>,
    /// `ARRAY_TICKET_TTL_MS`: how long an array ticket from `/disc` opens
    /// its array (default [`crate::ticket::DEFAULT_TICKET_TTL_MS`]).
    pub ticket_ttl_ms: u64,
}

impl Default for Settings {
    /// The documented defaults: those of the protocol's [`ClientConfig`].
    fn default() -> Self {
        Settings {
            client: ClientConfig::default(),
            array_idle_ms: None,
            ticket_ttl_ms: crate::ticket::DEFAULT_TICKET_TTL_MS,
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
            "MIN_DOWNLOAD_BYTES_PER_SECOND",
            &mut c.http_delay.min_download_bytes_per_second,
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
        let cache = &mut c.cache;
        num(&get, "CACHE_MAX_AGE_SECS", &mut cache.max_age_secs)?;
        num(&get, "CACHE_MAX_SIZE_PERCENT", &mut cache.max_size_percent)?;
        if !(1..=100).contains(&cache.max_size_percent) {
            return Err("var CACHE_MAX_SIZE_PERCENT must be 1 to 100".into());
        }
        num(
            &get,
            "CACHE_ABSOLUTE_MAX_SIZE_BYTES",
            &mut cache.absolute_max_size_bytes,
        )?;
        num(
            &get,
            "CACHE_MIN_FILE_SIZE_BYTES",
            &mut cache.min_file_size_bytes,
        )?;
        let up = &mut c.upload;
        num(
            &get,
            "UPLOAD_MAX_BYTES_PER_SECOND",
            &mut up.max_bytes_per_second,
        )?;
        num(&get, "UPLOAD_MONTHLY_CAP_BYTES", &mut up.monthly_cap_bytes)?;
        num(
            &get,
            "UPLOAD_MIN_BATTERY_PERCENT",
            &mut up.min_battery_percent,
        )?;
        if up.min_battery_percent > 100 {
            return Err("var UPLOAD_MIN_BATTERY_PERCENT must be 0 to 100".into());
        }
        let bg = &mut c.background.download_percent;
        num(&get, "BACKGROUND_DOWNLOAD_PERCENT", bg)?;
        if *bg > 100 {
            return Err("var BACKGROUND_DOWNLOAD_PERCENT must be 0 to 100".into());
        }
        if get("ARRAY_IDLE_MS").is_some() {
            let mut ms = 0u64;
            num(&get, "ARRAY_IDLE_MS", &mut ms)?;
            s.array_idle_ms = Some(ms.max(1));
        }
        num(&get, "ARRAY_TICKET_TTL_MS", &mut s.ticket_ttl_ms)?;
        s.ticket_ttl_ms = s.ticket_ttl_ms.max(1);
        Ok(s)
    }
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
        let s = Settings::from_vars(|k| match k {
            "UPLOAD_MONTHLY_CAP_BYTES" => Some("8388608".into()),
            "CACHE_MIN_FILE_SIZE_BYTES" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.client.upload.monthly_cap_bytes, 8 << 20);
        assert_eq!(s.client.cache.min_file_size_bytes, 0);
        for bad in [
            "CACHE_MAX_SIZE_PERCENT",
            "UPLOAD_MIN_BATTERY_PERCENT",
            "BACKGROUND_DOWNLOAD_PERCENT",
        ] {
            let e = Settings::from_vars(|k| (k == bad).then(|| "101".into())).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn the_answer_has_the_documented_shape() {
        let l = Endpoints::for_origin("http://127.0.0.1:8787");
        let j = serde_json::to_value(Bootstrap {
            endpoints: l,
            config: Settings::default().client,
        })
        .unwrap();
        assert_eq!(j["config"]["strikeLimit"], 2);
        assert_eq!(j["config"]["httpDelay"]["foregroundMs"], 0);
        assert_eq!(j["config"]["array"]["maxPeers"], 512);
    }
}
