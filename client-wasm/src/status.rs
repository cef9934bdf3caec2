//! Status like DO's cmdlets, for the whole origin: `status()` lists the
//! cache (Get-DeliveryOptimizationStatus over every cached item),
//! `perfSnap()` sums it up with the month's uploads against their cap
//! (Get-DeliveryOptimizationPerfSnap), `deleteCache(id?)` deletes one item or
//! all (Delete-DeliveryOptimizationCache). `Downloader.status()` (in
//! `stats.rs`) covers one download.
//!
//! The policies in force are those of the last download started in this
//! origin (saved in `edgeswarm/policies.json`), since these functions run
//! without a server.

use edgeswarm_protocol::policies::{CachePolicy, UploadPolicy};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::cache::{self, read_json, write_json};
use crate::store::opfs::opfs_dir;
use crate::uploads;

const POLICIES_FILE: &str = "policies.json";

#[wasm_bindgen(typescript_custom_section)]
const TS_STATUS: &'static str = r#"
/** One cached item, as `status()` lists it (DO's Get-DeliveryOptimizationStatus fields that apply). */
export interface CacheItemStatus {
  /** The content id (DO: FileId). */
  fileId: string;
  /** The file's size in bytes (DO: FileSize). */
  fileSize: number;
  /** The name the download gave the file. */
  fileName: string;
  /** Bytes of its verified pieces in the cache. */
  bytesInCache: number;
  /** Every piece is cached and the file was delivered: it is seeded when a page of the portal is open. */
  complete: boolean;
  /** The download mode it was fetched (and is seeded) in (DO: DownloadMode). */
  downloadMode: DownloadMode;
  /** Its group, for mode 2. */
  groupId?: string;
  /** When it was first cached (ISO 8601). */
  createdAt: string;
  /** When it was last downloaded or seeded (ISO 8601); eviction is oldest-used first. */
  lastUsedAt: string;
  /** When it expires unless used again (DO: ExpireOn; ISO 8601), from the max cache age; absent = never. */
  expireOn?: string;
}

/** One download's status, `Downloader.status()` (DO's Get-DeliveryOptimizationStatus fields that apply). */
export interface DownloadStatus {
  /** The content id (DO: FileId). */
  fileId: string;
  /** DO: FileSize. */
  fileSize: number;
  /** Bytes downloaded in this session, peers and HTTP (DO: TotalBytesDownloaded). */
  totalBytesDownloaded: number;
  /** Percent of the downloaded bytes that came from peers (DO: PercentPeerCaching). */
  percentPeerCaching: number;
  /** DO: BytesFromPeers. */
  bytesFromPeers: number;
  /** DO: BytesFromHttp. */
  bytesFromHttp: number;
  /** Bytes already in the cache from an earlier session (DO: BytesFromCacheServer has no equivalent; this is resume). */
  bytesFromCache: number;
  /** Bytes served to peers in this session. */
  bytesToPeers: number;
  /** DO: Status. */
  status: "Pending" | "Downloading" | "Complete" | "Error" | "Cancelled";
  /** DO: DownloadMode. */
  downloadMode: DownloadMode;
  /** The CDN URL of the content (DO: SourceURL). */
  sourceUrl: string;
  /** Peers connected now (DO: NumPeers). */
  numPeers: number;
  /** When the cached copy expires unless used again (DO: ExpireOn; ISO 8601). */
  expireOn?: string;
  /** The download counts as background (the `isBackground` option or a hidden page) (DO: IsBackground). */
  isBackground: boolean;
}

/** The origin's cache and upload figures (DO's Get-DeliveryOptimizationPerfSnap). */
export interface PerfSnap {
  /** Items in the cache (complete or partial). */
  files: number;
  /** Bytes the cache holds. */
  cacheBytes: number;
  /** The cache's size limit in bytes (DOMaxCacheSize of the quota, DOAbsoluteMaxCacheSize). */
  maxCacheBytes: number;
  /** The origin's storage quota (`navigator.storage.estimate().quota`). */
  quotaBytes: number;
  /** The month (UTC, `YYYY-MM`) the upload figures count. */
  month: string;
  /** Bytes uploaded to peers this month, every session of this origin. */
  uploadedThisMonthBytes: number;
  /** DOMonthlyUploadDataCap in force (0 = none). */
  monthlyUploadCapBytes: number;
  /** The cache policy in force (the last download's, narrowed by its page). */
  cachePolicy: { maxAgeSecs: number; maxSizePercent: number; absoluteMaxSizeBytes: number; minFileSizeBytes: number };
  /** The upload policy in force. */
  uploadPolicy: { maxBytesPerSecond: number; monthlyCapBytes: number; minBatteryPercent: number };
}
"#;

/// The policies of the last download started here.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SavedPolicies {
    pub cache: CachePolicy,
    pub upload: UploadPolicy,
}

/// Saves the policies in force (at the start of a download).
pub async fn save_policies(p: SavedPolicies) {
    if let Ok(dir) = opfs_dir(&[]).await {
        let _ = write_json(&dir, POLICIES_FILE, &p).await;
    }
}

async fn saved_policies() -> SavedPolicies {
    match opfs_dir(&[]).await {
        Ok(dir) => read_json(&dir, POLICIES_FILE).await.unwrap_or_default(),
        Err(_) => SavedPolicies::default(),
    }
}

/// ISO 8601 of epoch milliseconds.
pub fn iso(ms: f64) -> String {
    js_sys::Date::new(&ms.into())
        .to_iso_string()
        .as_string()
        .unwrap_or_default()
}

/// ExpireOn: the last use plus the max cache age; None without an age limit.
pub fn expire_on(last_used_ms: f64, policy: &CachePolicy) -> Option<String> {
    (policy.max_age_secs > 0).then(|| iso(last_used_ms + policy.max_age_secs as f64 * 1000.0))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemView {
    file_id: String,
    file_size: u64,
    file_name: String,
    bytes_in_cache: u64,
    complete: bool,
    download_mode: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    created_at: String,
    last_used_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_on: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PerfSnapView {
    files: usize,
    cache_bytes: u64,
    max_cache_bytes: u64,
    quota_bytes: u64,
    month: String,
    uploaded_this_month_bytes: u64,
    monthly_upload_cap_bytes: u64,
    cache_policy: CachePolicy,
    upload_policy: UploadPolicy,
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Every cached item of this origin, least recently used first.
#[wasm_bindgen(js_name = status, unchecked_return_type = "CacheItemStatus[]")]
pub async fn status() -> Result<JsValue, JsError> {
    let policy = saved_policies().await.cache;
    let items: Vec<ItemView> = cache::list()
        .await
        .map_err(js_err)?
        .into_iter()
        .map(|i| {
            let r = i.record;
            ItemView {
                expire_on: expire_on(r.last_used_ms, &policy),
                file_id: r.content_id,
                file_size: r.file_size,
                file_name: r.file_name,
                bytes_in_cache: i.stored_bytes,
                complete: r.complete,
                download_mode: r.download_mode,
                group_id: r.group_id,
                created_at: iso(r.created_ms),
                last_used_at: iso(r.last_used_ms),
            }
        })
        .collect();
    to_js(&items)
}

/// The origin's cache and upload figures.
#[wasm_bindgen(js_name = perfSnap, unchecked_return_type = "PerfSnap")]
pub async fn perf_snap() -> Result<JsValue, JsError> {
    let policies = saved_policies().await;
    let items = cache::list().await.map_err(js_err)?;
    let quota = cache::quota().await;
    uploads::load().await;
    let usage = uploads::usage();
    to_js(&PerfSnapView {
        files: items.len(),
        cache_bytes: items.iter().map(|i| i.stored_bytes).sum(),
        max_cache_bytes: policies.cache.max_bytes(quota),
        quota_bytes: quota,
        month: usage.month,
        uploaded_this_month_bytes: usage.uploaded_bytes,
        monthly_upload_cap_bytes: policies.upload.monthly_cap_bytes,
        cache_policy: policies.cache,
        upload_policy: policies.upload,
    })
}

/// Deletes the cached item `contentId`, or every item without an argument;
/// resolves with how many were deleted. A download or seeding session of a
/// deleted item stops being able to serve it.
#[wasm_bindgen(js_name = deleteCache)]
pub async fn delete_cache(content_id: Option<String>) -> Result<u32, JsError> {
    match content_id {
        Some(id) => Ok(u32::from(cache::delete(&id).await.map_err(js_err)?)),
        None => cache::clear().await.map_err(js_err),
    }
}
