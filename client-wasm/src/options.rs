//! The options a page passes to `new Downloader({...})`, and their TypeScript
//! types (emitted into `client_wasm.d.ts` by wasm-bindgen).
//!
//! Invariant: options are validated once, in the constructor; a bad option is
//! a `TypeError`-like `Error` thrown to the page, never a panic later.

use edgeswarm_protocol::array::MAX_ALT_CATALOG_ID_LEN;
use edgeswarm_protocol::modes::check_group_key;
use edgeswarm_protocol::policies::{CacheOptions, UploadOptions};
use edgeswarm_protocol::DownloadMode;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Delivery Optimization download modes. */
export type DownloadMode =
  /** HTTP only: metadata still verified, never a peer connection. */
  | 0
  /** LAN: peers behind the same external IP address. */
  | 1
  /** Group: peers with the same `groupId`. */
  | 2
  /** Internet: any peer of the swarm (the default). */
  | 3
  /** Simple: no services, plain HTTP (optionally checked against `fileSha256`). */
  | 99;

/** What `new Downloader(options)` accepts. */
export interface DownloaderOptions {
  /** Origin of the edgeswarm edge worker, e.g. `"https://edge.example.com"`; `""` = this page's origin. */
  server: string;
  /** The published content id (`[A-Za-z0-9._-]`, 1–255 chars); `""` to look it up by `altCatalogId`. */
  contentId: string;
  /** The download mode (default 3, Internet). */
  downloadMode?: DownloadMode;
  /** Required for mode 2: pages of different groups never meet. 1 to 128 bytes without
   *  control characters (what discovery accepts); anything else is refused before any request. */
  groupId?: string;
  /** The download URL, used by the services when the content id is empty or unknown. */
  altCatalogId?: string;
  /** Mode 99 only: the file URL (default: the server's content route). */
  contentUrl?: string;
  /** Mode 99 only: expected whole-file SHA-256 (hex), checked before `start()` resolves. */
  fileSha256?: string;
  /** Name of the resulting `File` (default: the content id). */
  fileName?: string;
  /** A background download waits longer before using HTTP (the server's `httpDelay`). */
  isBackground?: boolean;
  /** `"auto"` (OPFS; memory for files ≤ 256 MiB when OPFS is missing) or `"memory"`. */
  storage?: "auto" | "memory";
  /** Overrides of the engine's tunables (camelCase `EngineConfig` fields, e.g. `{ strikeLimit: 2 }`). */
  engine?: Record<string, number | boolean>;
  /** Milliseconds between stats reports to the array (default: the server's `REPORT_INTERVAL_MS`). */
  reportIntervalMs?: number;
  /** Milliseconds before an unopened peer connection is abandoned (default 15000). */
  connectTimeoutMs?: number;
  /** Record per-piece performance marks named `"es:<phase>:<piece>"` (default false). */
  trace?: boolean;
  /** Narrows the server's cache policy (`config.cache` of `/kv`); a value that would widen it is ignored. */
  cache?: CacheOptions;
  /** Narrows the server's upload policy (`config.upload` of `/kv`); a value that would widen it is ignored. */
  upload?: UploadOptions;
  /** Only serve this content from the cache: fail (`"not in the cache"`) instead of downloading
   *  anything when the cache does not hold all of it for the current metadata (default false). */
  seedOnly?: boolean;
}

/** DO's cache policies; see docs/embedding.md for the DO policy each maps to. */
export interface CacheOptions {
  /** DOMaxCacheAge: an item unused this many seconds is deleted (0 = no limit). */
  maxAgeSecs?: number;
  /** DOMaxCacheSize: percent of the origin's storage quota (1–100). */
  maxSizePercent?: number;
  /** DOAbsoluteMaxCacheSize in bytes (0 = no limit). */
  absoluteMaxSizeBytes?: number;
  /** DOMinFileSizeToCache in bytes: smaller files are not kept nor resumed. */
  minFileSizeBytes?: number;
}

/** DO's upload policies; see docs/embedding.md. */
export interface UploadOptions {
  /** DOMaxUploadBandwidth, bytes per second per download (0 = no limit). */
  maxBytesPerSecond?: number;
  /** DOMonthlyUploadDataCap: bytes per calendar month (UTC) for the whole origin (0 = no limit). */
  monthlyCapBytes?: number;
  /** DOMinBatteryPercentageAllowedToUpload: no uploads on battery below this level (0 = off). */
  minBatteryPercent?: number;
}

/** Where one piece came from: 0 missing, 1 from HTTP (the CDN), 2 from a peer, 3 from the cache. */
export type PieceState = 0 | 1 | 2 | 3;

/** One remote peer, as `stats().peers` lists it. */
export interface PeerStats {
  /** The peer's id in the array (swarm). */
  id: string;
  /** `connecting` → `connected` → `closed`; `banned` after it sent a piece that failed its hash. */
  state: "connecting" | "connected" | "closed" | "banned";
  /** Verified bytes received from this peer. */
  bytesFrom: number;
  /** Bytes served to this peer. */
  bytesTo: number;
  /** Verified pieces received from this peer. */
  piecesFrom: number;
  /** Pieces from this peer that failed their SHA-256. */
  piecesRejected: number;
  /** Why the peer was banned, when it was. */
  banReason?: string;
}

/** A snapshot of one download (`stats()`, `onprogress`, the `progress` event). */
export interface DownloaderStats {
  /** The phase; `done`, `error` and `cancelled` are final. */
  state: "idle" | "starting" | "downloading" | "verifying" | "done" | "error" | "cancelled";
  /** The engine's mode: `"p2p"` (peers and the CDN), `"http-only"` (the CDN only, every piece
   *  verified against the metadata) or `"simple"` (the CDN only, no trusted metadata). */
  mode: "p2p" | "http-only" | "simple";
  /** Why the mode is not `"p2p"`, in the engine's words. */
  modeReason?: string;
  /** Why a `"p2p"` download found no array (it goes on over HTTP). */
  discoveryError?: string;
  /** The error message, once `state` is `error`. */
  error?: string;
  /** Verified bytes received from peers. */
  bytesFromPeers: number;
  /** Verified bytes received over HTTP from the CDN. */
  bytesFromHttp: number;
  /** Verified pieces already in the cache from an earlier session (resume), in bytes. */
  bytesFromCache: number;
  /** Bytes served to other peers. */
  bytesToPeers: number;
  /** Bytes still missing. */
  bytesLeft: number;
  /** Pieces received and verified. */
  piecesVerified: number;
  /** Pieces that failed their SHA-256 (from any source); they are fetched again. */
  piecesRejected: number;
  /** Peers with an open data channel now. */
  peersConnected: number;
  /** Peers banned for sending bad pieces. */
  peersBanned: number;
  /** The file's size in bytes (0 until known). */
  fileSize: number;
  /** The piece size in bytes. */
  pieceSize: number;
  /** The number of pieces. */
  pieceCount: number;
  /** Per piece: 0 missing, 1 from HTTP, 2 from a peer, 3 from the cache. */
  pieceMap: PieceState[];
  /** Every peer this download has seen. */
  peers: PeerStats[];
  /** `"opfs"` (Origin Private File System) or `"memory"` (the in-memory fallback). */
  storage: string;
  /** This page's peer id in the array. */
  peerId?: string;
  /** The array (swarm) this page joined. */
  arrayId?: string;
  /** The country the worker saw this page in (from `/geo`). */
  countryCode?: string;
  /** Lowercase hex SHA-256 of the file, once every piece is in: the metadata's (every piece
   *  matched it) or, in simple mode, the hash of the bytes received. */
  sha256?: string;
  /** Whether the whole-file hash was checked against a trusted value. */
  verified: boolean;
  /** Milliseconds since `start()`. */
  elapsedMs: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `DownloaderOptions` on the JS side.
    #[wasm_bindgen(typescript_type = "DownloaderOptions")]
    pub type JsOptions;
    /// `DownloaderStats` on the JS side.
    #[wasm_bindgen(typescript_type = "DownloaderStats")]
    pub type JsStats;
    /// The promise `start()` returns.
    #[wasm_bindgen(typescript_type = "Promise<File>")]
    pub type FilePromise;
    /// The `onprogress` callback.
    #[wasm_bindgen(typescript_type = "((stats: DownloaderStats) => void) | null | undefined")]
    pub type ProgressCallback;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOptions {
    server: String,
    content_id: String,
    #[serde(default)]
    download_mode: Option<u8>,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    alt_catalog_id: Option<String>,
    #[serde(default)]
    content_url: Option<String>,
    #[serde(default)]
    file_sha256: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    is_background: bool,
    #[serde(default)]
    storage: Option<String>,
    #[serde(default)]
    engine: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    report_interval_ms: Option<u32>,
    #[serde(default)]
    connect_timeout_ms: Option<u32>,
    #[serde(default)]
    trace: bool,
    #[serde(default)]
    cache: Option<CacheOptions>,
    #[serde(default)]
    upload: Option<UploadOptions>,
    #[serde(default)]
    seed_only: bool,
}

/// Validated options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Without a trailing slash.
    pub server: String,
    pub content_id: String,
    pub mode: DownloadMode,
    pub group_id: Option<String>,
    pub alt_catalog_id: Option<String>,
    pub content_url: Option<String>,
    pub file_sha256: Option<[u8; 32]>,
    pub file_name: String,
    pub is_background: bool,
    pub memory_only: bool,
    pub engine: serde_json::Map<String, serde_json::Value>,
    pub report_interval_ms: Option<u32>,
    pub connect_timeout_ms: u32,
    pub trace: bool,
    pub cache: CacheOptions,
    pub upload: UploadOptions,
    pub seed_only: bool,
}

impl Options {
    pub fn from_js(value: JsValue) -> Result<Self, String> {
        let raw: RawOptions =
            serde_wasm_bindgen::from_value(value).map_err(|e| format!("bad options: {e}"))?;
        let code = raw.download_mode.unwrap_or(3);
        let mode = DownloadMode::from_code(code.into()).map_err(|e| e.to_string())?;
        let by_alt = raw.content_id.is_empty() && raw.alt_catalog_id.is_some();
        if !by_alt {
            edgeswarm_protocol::ContentId::new(&raw.content_id)
                .map_err(|e| format!("bad contentId: {e}"))?;
        }
        if by_alt && mode == DownloadMode::Simple && raw.content_url.is_none() {
            return Err("downloadMode 99 needs a contentId or a contentUrl".into());
        }
        let group_id = raw.group_id.filter(|g| !g.is_empty());
        if let Some(g) = &group_id {
            // Exactly what discovery accepts: refused here, before any request.
            check_group_key("groupId", g).map_err(|e| e.to_string())?;
        }
        if raw
            .alt_catalog_id
            .as_ref()
            .is_some_and(|a| a.len() > MAX_ALT_CATALOG_ID_LEN)
        {
            return Err(format!(
                "altCatalogId is longer than {MAX_ALT_CATALOG_ID_LEN} bytes"
            ));
        }
        if mode == DownloadMode::Group && group_id.is_none() {
            return Err("downloadMode 2 (Group) needs a groupId".into());
        }
        let file_sha256 = match raw.file_sha256 {
            Some(h) => Some(
                edgeswarm_protocol::parse_sha256_hex(&h)
                    .ok_or("fileSha256 must be 64 hex characters")?,
            ),
            None => None,
        };
        let memory_only = match raw.storage.as_deref() {
            None | Some("auto") => false,
            Some("memory") => true,
            Some(other) => {
                return Err(format!(
                    "storage must be \"auto\" or \"memory\", not {other:?}"
                ))
            }
        };
        Ok(Self {
            server: raw.server.trim_end_matches('/').to_owned(),
            file_name: raw.file_name.unwrap_or_else(|| {
                if by_alt {
                    "download".to_owned()
                } else {
                    raw.content_id.clone()
                }
            }),
            content_id: raw.content_id,
            mode,
            group_id,
            alt_catalog_id: raw.alt_catalog_id,
            content_url: raw.content_url,
            file_sha256,
            is_background: raw.is_background,
            memory_only,
            engine: raw.engine.unwrap_or_default(),
            report_interval_ms: raw.report_interval_ms,
            connect_timeout_ms: raw.connect_timeout_ms.unwrap_or(15_000),
            trace: raw.trace,
            cache: raw.cache.unwrap_or_default(),
            upload: raw.upload.unwrap_or_default(),
            seed_only: raw.seed_only,
        })
    }
}
