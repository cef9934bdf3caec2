//! Before the engine starts: the DO service flow, which only fetches and
//! feeds. The engine decides the mode, its reason and the piece layout from
//! what this module fetched ([`edgeswarm_engine::Content`]); the flow then
//! joins an array only if the engine chose P2P.
//!
//! ```text
//! mode 99:        no services; content URL + size (probe) ───────────────────┐
//! modes 0,1,2,3:  kv → (geo ∥ cp) → metadata bytes (whatever they are) ──────┴→ Engine::new
//!                 engine.mode() == P2p → disc → array URL
//! ```
//! `geo` and `cp` need only kv's endpoints, so they go out together: every
//! round trip here is on the way to the first byte (docs/bench/browser.md,
//! "2 pages: where page 1's time goes").
//! Failures of geo and disc are tolerated (no location; no peers, with the
//! reason in `discovery_error`); failures of kv or cp end the download.

use edgeswarm_engine::{Content, Engine, EngineConfig, Millis, Mode};
use edgeswarm_protocol::policies::{CachePolicy, UploadPolicy};
use edgeswarm_protocol::services::{
    encode_component, Bootstrap, ContentPolicy, Discovery, Geo, IceServer,
};
use edgeswarm_protocol::{parse_sha256_hex, DownloadMode};
use futures_util::future::join;
use web_sys::AbortSignal;

use crate::http;
use crate::options::Options;

/// Everything the session needs to run.
pub struct Plan {
    pub engine: Engine,
    /// The engine's `max_peers`: the glue's connection table holds no more.
    pub max_peers: usize,
    pub content_url: String,
    /// The array to join (P2P only).
    pub array: Option<Discovery>,
    /// Why the P2P engine has no array (the download goes on over HTTP).
    pub discovery_error: Option<String>,
    pub ice_servers: Vec<IceServer>,
    pub peers_wanted: u32,
    pub report_interval_ms: u32,
    pub geo: Geo,
    /// The server's cache policy narrowed by the page's options.
    pub cache_policy: CachePolicy,
    /// The server's upload policy narrowed by the page's options.
    pub upload_policy: UploadPolicy,
    /// The content id and metadata SHA-256 (hex) the pieces are verified
    /// against: the cache's key (None in simple mode, which has no pieces
    /// to keep).
    pub cache_key: Option<(String, String)>,
    /// The page was hidden (or said it is a background download) at start.
    pub is_background: bool,
}

/// The download counts as background: the page says so, or it is hidden.
pub fn background(opts: &Options) -> bool {
    opts.is_background || crate::host::page_hidden()
}

fn engine_config(
    opts: &Options,
    boot: Option<&Bootstrap>,
    upload: &UploadPolicy,
) -> Result<EngineConfig, String> {
    let mut cfg = EngineConfig {
        // SHA-256 with WebCrypto, off the page's thread (crate::digest),
        // where there is one; an `engine` override may still turn it off.
        hash_outside: crate::digest::Digest::new().available(),
        ..EngineConfig::default()
    };
    if let Some(b) = boot {
        cfg.strike_limit = b.config.strike_limit;
        let d = &b.config.http_delay;
        let ms = if background(opts) {
            d.background_ms
        } else {
            d.foreground_ms
        };
        cfg.http_delay_secs = u32::try_from(ms / 1000).unwrap_or(u32::MAX);
        cfg.min_download_bps = d.min_download_bytes_per_second;
        cfg.max_peers = b.config.peers.max_connections.max(1) as usize;
        cfg.background_download_percent = b.config.background.download_percent;
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
    // DOMaxUploadBandwidth: engine overrides may narrow it, never widen it.
    let cap = upload.max_bytes_per_second;
    if cap > 0 && (cfg.upload_rate == 0 || cfg.upload_rate > cap) {
        cfg.upload_rate = cap;
    }
    Ok(cfg)
}

/// Mode 99: no services, the size from a one-byte probe of the content URL.
async fn simple_content(
    opts: &Options,
    signal: Option<&AbortSignal>,
) -> Result<(Content, String), String> {
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
    let content = Content {
        mode: DownloadMode::Simple,
        file_size,
        file_sha256: opts.file_sha256,
        ..Content::default()
    };
    Ok((content, url))
}

/// Runs the service flow for `opts` and starts the engine at `now` with `seed`.
pub async fn plan(
    opts: &Options,
    signal: Option<&AbortSignal>,
    now: Millis,
    seed: u64,
) -> Result<Plan, String> {
    if opts.mode == DownloadMode::Simple {
        let (content, content_url) = simple_content(opts, signal).await?;
        let upload_policy = UploadPolicy::default().narrowed(&opts.upload);
        let config = engine_config(opts, None, &upload_policy)?;
        return Ok(Plan {
            max_peers: config.max_peers,
            engine: Engine::new(config, content, now, seed),
            content_url,
            array: None,
            discovery_error: None,
            ice_servers: Vec::new(),
            peers_wanted: 0,
            report_interval_ms: opts.report_interval_ms.unwrap_or(15_000),
            geo: Geo::default(),
            cache_policy: CachePolicy::default().narrowed(&opts.cache),
            upload_policy,
            cache_key: None,
            is_background: background(opts),
        });
    }
    let kv_url = format!("{}/do/v1/kv", opts.server);
    let boot: Bootstrap = http::get_json(&kv_url, signal)
        .await
        .map_err(|e| format!("bootstrap: {e}"))?;
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
    let geo = async {
        http::get_json::<Geo>(&boot.endpoints.geo, signal)
            .await
            .unwrap_or_default()
    };
    let (geo, policy) = join(geo, http::get_json::<ContentPolicy>(&cp_url, signal)).await;
    let policy = policy.map_err(|e| format!("content policy: {e}"))?;
    let metadata = http::get_ok(&policy.metadata_url, signal).await.ok();
    let upload_policy = boot.config.upload.narrowed(&opts.upload);
    let config = engine_config(opts, Some(&boot), &upload_policy)?;
    let content = Content {
        mode: opts.mode,
        metadata,
        metadata_sha256: parse_sha256_hex(&policy.metadata_sha256),
        p2p_allowed: policy.p2p_allowed,
        file_size: policy.file_size,
        file_sha256: parse_sha256_hex(&policy.file_sha256),
    };
    let max_peers = config.max_peers;
    let engine = Engine::new(config, content, now, seed);
    let cache_key = (engine.mode() != Mode::Simple).then(|| {
        (
            policy.content_id.to_string(),
            policy.metadata_sha256.to_ascii_lowercase(),
        )
    });
    let (array, discovery_error) = match engine.mode() {
        Mode::P2p => match discover(opts, &boot, &policy, signal).await {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(format!("discovery: {e}"))),
        },
        Mode::HttpOnly | Mode::Simple => (None, None),
    };
    Ok(Plan {
        engine,
        max_peers,
        content_url: policy.content_url,
        array,
        discovery_error,
        ice_servers: boot.config.ice_servers.clone(),
        peers_wanted: boot.config.peers.peers_wanted,
        report_interval_ms: opts
            .report_interval_ms
            .unwrap_or(u32::try_from(boot.config.report_interval_ms).unwrap_or(15_000)),
        geo,
        cache_policy: boot.config.cache.narrowed(&opts.cache),
        upload_policy,
        cache_key,
        is_background: background(opts),
    })
}

/// `GET /disc/{id}?scope=&groupId=`: the array of this download's scope.
async fn discover(
    opts: &Options,
    boot: &Bootstrap,
    policy: &ContentPolicy,
    signal: Option<&AbortSignal>,
) -> Result<Discovery, http::HttpError> {
    let mut url = format!(
        "{}/{}?scope={}",
        boot.endpoints.disc,
        policy.content_id,
        opts.mode.code()
    );
    if let Some(g) = &opts.group_id {
        url.push_str(&format!("&groupId={}", encode_component(g)));
    }
    http::get_json::<Discovery>(&url, signal).await
}
