//! Before the engine starts: the DO service flow that decides the mode.
//!
//! ```text
//! mode 99:            no services; content URL + size (probe) → Simple
//! modes 0,1,2,3:  kv → geo → cp → meta bytes ─┬ hash ok + p2p mode + p2pAllowed → disc → P2P
//!                                             ├ hash ok otherwise               → HTTP only
//!                                             └ missing / hash differs          → Simple
//! ```
//! The engine makes the final mode decision from the same facts
//! ([`edgeswarm_engine::Content`]); this module fetches them and works out
//! the piece layout the store needs. Failures of geo and disc are tolerated
//! (no location, no peers); failures of kv or cp end the download.

use edgeswarm_engine::{Content, EngineConfig};
use edgeswarm_protocol::{sha256, Metadata};
use web_sys::AbortSignal;

use crate::http;
use crate::options::{DownloadMode, Options};
use crate::rtc::IceServer;
use crate::services::{encode_component, parse_sha256_hex, Bootstrap, Discovery, Geo, Policy};
use crate::store::Layout;

/// Everything the session needs to run.
pub struct Plan {
    pub config: EngineConfig,
    pub content: Content,
    pub layout: Layout,
    pub content_url: String,
    /// The whole-file SHA-256 to check before resolving, when one is trusted.
    pub expected_sha256: Option<[u8; 32]>,
    /// The array to join (P2P only).
    pub array: Option<Discovery>,
    pub ice_servers: Vec<IceServer>,
    pub max_connections: usize,
    pub peers_wanted: u32,
    pub report_interval_ms: u32,
    pub geo: Geo,
    pub mode_reason: Option<String>,
}

fn engine_config(opts: &Options, boot: Option<&Bootstrap>) -> Result<EngineConfig, String> {
    let mut cfg = EngineConfig::default();
    if let Some(b) = boot {
        if let Some(k) = b.config.strike_limit {
            cfg.strike_limit = k;
        }
        if let Some(d) = &b.config.http_delay {
            let ms = if opts.is_background {
                d.background_ms
            } else {
                d.foreground_ms
            };
            cfg.http_delay_secs = u32::try_from(ms / 1000).unwrap_or(u32::MAX);
            cfg.min_download_bps = d.min_peer_bytes_per_second;
        }
        cfg.max_peers = b.config.peers.max_connections.max(1) as usize;
    }
    if !opts.engine.is_empty() {
        let mut base = serde_json::to_value(&cfg).map_err(|e| e.to_string())?;
        if let Some(obj) = base.as_object_mut() {
            for (k, v) in &opts.engine {
                obj.insert(k.clone(), v.clone());
            }
        }
        cfg = serde_json::from_value(base).map_err(|e| format!("bad engine option: {e}"))?;
    }
    Ok(cfg)
}

/// Mode 99: no services, plain HTTP from the content URL.
async fn simple_plan(opts: &Options, signal: Option<&AbortSignal>) -> Result<Plan, String> {
    let url = opts
        .content_url
        .clone()
        .unwrap_or_else(|| format!("{}/do/v1/content/{}", opts.server, opts.content_id));
    let probe = http::get(&url, Some(0..1), signal)
        .await
        .map_err(|e| e.to_string())?;
    let file_size = match (probe.status, probe.total_size) {
        (206, Some(total)) => total,
        (200, Some(total)) => total,
        (200, None) if !probe.truncated => probe.body.len() as u64,
        (200, None) => return Err(format!("{url} ignores Range and sends no Content-Length")),
        (status, _) => return Err(format!("HTTP {status} from {url}")),
    };
    let config = engine_config(opts, None)?;
    Ok(Plan {
        layout: Layout {
            file_size,
            piece_size: u64::from(config.simple_chunk_size.max(1)),
        },
        content: Content {
            metadata: None,
            metadata_sha256: None,
            p2p_allowed: false,
            file_size,
            file_sha256: opts.file_sha256,
        },
        config,
        content_url: url,
        expected_sha256: opts.file_sha256,
        array: None,
        ice_servers: Vec::new(),
        max_connections: 0,
        peers_wanted: 0,
        report_interval_ms: 15_000,
        geo: Geo::default(),
        mode_reason: Some("downloadMode 99 (simple)".into()),
    })
}

/// Runs the service flow for `opts`.
pub async fn plan(opts: &Options, signal: Option<&AbortSignal>) -> Result<Plan, String> {
    if opts.mode == DownloadMode::Simple {
        return simple_plan(opts, signal).await;
    }
    let kv_url = format!("{}/do/v1/kv", opts.server);
    let boot: Bootstrap = http::get_json(&kv_url, signal)
        .await
        .map_err(|e| format!("bootstrap: {e}"))?;
    let geo: Geo = http::get_json(&boot.endpoints.geo, signal)
        .await
        .unwrap_or_default();
    let cp_url = match &opts.alt_catalog_id {
        Some(alt) if opts.content_id.is_empty() => {
            format!(
                "{}?altCatalogId={}",
                boot.endpoints.cp,
                encode_component(alt)
            )
        }
        _ => format!("{}/{}", boot.endpoints.cp, opts.content_id),
    };
    let policy: Policy = http::get_json(&cp_url, signal)
        .await
        .map_err(|e| format!("content policy: {e}"))?;
    let trusted_meta_sha = parse_sha256_hex(&policy.metadata_sha256);
    let metadata = http::get_ok(&policy.metadata_url, signal).await.ok();
    let config = engine_config(opts, Some(&boot))?;
    let verified = metadata
        .as_deref()
        .filter(|m| trusted_meta_sha.is_some_and(|t| sha256(m) == t))
        .and_then(|m| Metadata::decode(m).ok());
    let file_sha_from_cp = policy.file_sha256.as_deref().and_then(parse_sha256_hex);
    let p2p = verified.is_some() && policy.p2p_allowed && opts.mode.uses_peers();
    let mode_reason = match (&metadata, &verified) {
        (None, _) => Some("metadata could not be fetched".to_owned()),
        (Some(_), None) => Some("metadata failed its SHA-256 check".to_owned()),
        _ if !opts.mode.uses_peers() => Some("downloadMode 0 (HTTP only)".to_owned()),
        _ if !policy.p2p_allowed => Some("the publisher does not allow peer-to-peer".to_owned()),
        _ => None,
    };
    let (layout, expected) = match &verified {
        Some(m) => (
            Layout {
                file_size: m.file_size(),
                piece_size: u64::from(m.piece_size().get()),
            },
            Some(*m.file_sha256()),
        ),
        None => (
            Layout {
                file_size: policy.file_size,
                piece_size: u64::from(config.simple_chunk_size.max(1)),
            },
            file_sha_from_cp,
        ),
    };
    let array = if p2p {
        let mut url = format!(
            "{}/{}?scope={}",
            boot.endpoints.disc,
            policy.content_id,
            opts.mode.code()
        );
        if let Some(g) = &opts.group_id {
            url.push_str(&format!("&groupId={}", encode_component(g)));
        }
        http::get_json::<Discovery>(&url, signal).await.ok()
    } else {
        None
    };
    Ok(Plan {
        content: Content {
            metadata,
            metadata_sha256: trusted_meta_sha,
            p2p_allowed: p2p,
            file_size: policy.file_size,
            file_sha256: file_sha_from_cp,
        },
        layout,
        content_url: policy.content_url,
        expected_sha256: expected,
        array,
        ice_servers: boot.config.ice_servers.clone(),
        max_connections: boot.config.peers.max_connections.max(1) as usize,
        peers_wanted: boot.config.peers.peers_wanted,
        report_interval_ms: opts
            .report_interval_ms
            .unwrap_or(u32::try_from(boot.config.report_interval_ms).unwrap_or(15_000)),
        geo,
        mode_reason,
        config,
    })
}
