//! What the page sees: the shared state behind `stats()` and `onprogress`.
//!
//! The session writes [`Shared`]; the `Downloader` reads it. [`Shared::view`]
//! turns it into the `DownloaderStats` object (camelCase, see `options.rs`).
//! States: idle → starting → downloading → verifying → done, and from any of
//! them → error or cancelled. `done`, `error` and `cancelled` are final.

use edgeswarm_engine::{Mode, Stats};
use serde::Serialize;

/// Where one piece came from (the piece map).
pub const PIECE_MISSING: u8 = 0;
pub const PIECE_HTTP: u8 = 1;
pub const PIECE_PEER: u8 = 2;
pub const PIECE_CACHE: u8 = 3;

/// The download's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Idle,
    Starting,
    Downloading,
    Verifying,
    Done,
    Error,
    Cancelled,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Error | Self::Cancelled)
    }
}

/// One remote peer, for the UI.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    pub id: String,
    pub state: &'static str,
    pub bytes_from: u64,
    pub bytes_to: u64,
    pub pieces_from: u64,
    pub pieces_rejected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ban_reason: Option<String>,
}

/// State shared between the session and the `Downloader`.
#[derive(Debug, Clone)]
pub struct Shared {
    pub phase: Phase,
    pub error: Option<String>,
    pub engine_mode: Mode,
    /// The engine's reason for a mode other than P2P.
    pub mode_reason: Option<&'static str>,
    pub discovery_error: Option<String>,
    pub engine: Stats,
    pub file_size: u64,
    pub piece_size: u64,
    pub piece_map: Vec<u8>,
    pub peers: Vec<PeerView>,
    pub storage: &'static str,
    pub peer_id: Option<String>,
    pub array_id: Option<String>,
    pub country_code: Option<String>,
    pub sha256: Option<String>,
    pub verified: bool,
    pub started_ms: f64,
    pub ended_ms: Option<f64>,
    /// For `Downloader.status()`: the content id, the CDN URL, the mode's
    /// code, background at start, the cache's expiry (ISO 8601).
    pub file_id: String,
    pub source_url: String,
    pub download_mode: u8,
    pub is_background: bool,
    pub expire_on: Option<String>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            error: None,
            engine_mode: Mode::P2p,
            mode_reason: None,
            discovery_error: None,
            engine: Stats::default(),
            file_size: 0,
            piece_size: 0,
            piece_map: Vec::new(),
            peers: Vec::new(),
            storage: "none",
            peer_id: None,
            array_id: None,
            country_code: None,
            sha256: None,
            verified: false,
            started_ms: 0.0,
            ended_ms: None,
            file_id: String::new(),
            source_url: String::new(),
            download_mode: 3,
            is_background: false,
            expire_on: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsView<'a> {
    state: Phase,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    bytes_from_peers: u64,
    bytes_from_http: u64,
    bytes_from_cache: u64,
    bytes_to_peers: u64,
    bytes_left: u64,
    pieces_verified: u64,
    pieces_rejected: u64,
    peers_connected: u64,
    peers_banned: u64,
    file_size: u64,
    piece_size: u64,
    piece_count: usize,
    piece_map: &'a [u8],
    peers: &'a [PeerView],
    storage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    array_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    verified: bool,
    elapsed_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoStatus<'a> {
    file_id: &'a str,
    file_size: u64,
    total_bytes_downloaded: u64,
    percent_peer_caching: f64,
    bytes_from_peers: u64,
    bytes_from_http: u64,
    bytes_from_cache: u64,
    bytes_to_peers: u64,
    status: &'static str,
    download_mode: u8,
    source_url: &'a str,
    num_peers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_on: Option<&'a str>,
    is_background: bool,
}

impl Shared {
    /// The `DownloaderStats` object.
    pub fn view(&self, now_ms: f64) -> wasm_bindgen::JsValue {
        let mode = match self.engine_mode {
            Mode::P2p => "p2p",
            Mode::HttpOnly => "http-only",
            Mode::Simple => "simple",
        };
        let end = self.ended_ms.unwrap_or(now_ms);
        let view = StatsView {
            state: self.phase,
            mode,
            mode_reason: self.mode_reason,
            discovery_error: self.discovery_error.as_deref(),
            error: self.error.as_deref(),
            bytes_from_peers: self.engine.bytes_from_peers,
            bytes_from_http: self.engine.bytes_from_http,
            bytes_from_cache: self.engine.bytes_from_cache,
            bytes_to_peers: self.engine.bytes_to_peers,
            bytes_left: self.engine.bytes_left,
            pieces_verified: self.engine.pieces_verified,
            pieces_rejected: self.engine.pieces_rejected,
            peers_connected: self.engine.peers_connected,
            peers_banned: self.engine.peers_banned,
            file_size: self.file_size,
            piece_size: self.piece_size,
            piece_count: self.piece_map.len(),
            piece_map: &self.piece_map,
            peers: &self.peers,
            storage: self.storage,
            peer_id: self.peer_id.as_deref(),
            array_id: self.array_id.as_deref(),
            country_code: self.country_code.as_deref(),
            sha256: self.sha256.as_deref(),
            verified: self.verified,
            elapsed_ms: if self.started_ms > 0.0 {
                (end - self.started_ms).max(0.0)
            } else {
                0.0
            },
        };
        serde_wasm_bindgen::to_value(&view).unwrap_or(wasm_bindgen::JsValue::NULL)
    }

    /// `Downloader.status()`: DO's Get-DeliveryOptimizationStatus fields.
    pub fn do_status(&self) -> wasm_bindgen::JsValue {
        let e = &self.engine;
        let downloaded = e.bytes_from_peers + e.bytes_from_http;
        let status = match self.phase {
            Phase::Idle => "Pending",
            Phase::Starting | Phase::Downloading | Phase::Verifying => "Downloading",
            Phase::Done => "Complete",
            Phase::Error => "Error",
            Phase::Cancelled => "Cancelled",
        };
        let view = DoStatus {
            file_id: &self.file_id,
            file_size: self.file_size,
            total_bytes_downloaded: downloaded,
            percent_peer_caching: if downloaded > 0 {
                100.0 * e.bytes_from_peers as f64 / downloaded as f64
            } else {
                0.0
            },
            bytes_from_peers: e.bytes_from_peers,
            bytes_from_http: e.bytes_from_http,
            bytes_from_cache: e.bytes_from_cache,
            bytes_to_peers: e.bytes_to_peers,
            status,
            download_mode: self.download_mode,
            source_url: &self.source_url,
            num_peers: e.peers_connected,
            expire_on: self.expire_on.as_deref(),
            is_background: self.is_background || crate::host::page_hidden(),
        };
        view.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .unwrap_or(wasm_bindgen::JsValue::NULL)
    }

    pub fn peer_mut(&mut self, id: &str) -> &mut PeerView {
        let pos = match self.peers.iter().position(|p| p.id == id) {
            Some(pos) => pos,
            None => {
                self.peers.push(PeerView {
                    id: id.to_owned(),
                    state: "connecting",
                    bytes_from: 0,
                    bytes_to: 0,
                    pieces_from: 0,
                    pieces_rejected: 0,
                    ban_reason: None,
                });
                self.peers.len() - 1
            }
        };
        &mut self.peers[pos]
    }
}
