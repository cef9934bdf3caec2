//! The origin's download cache (DO's cache): the verified pieces of every
//! download stay in OPFS under `edgeswarm/cache/<contentId>/`, next to a
//! record (`item.json`) naming the metadata they were verified against.
//!
//! Invariants:
//! - a piece file exists only once its verified bytes were written whole
//!   (`createWritable` commits on `close()`), so on resume a piece file of
//!   the right length is a verified piece (the cheap check of issue 12);
//! - a record whose metadata hash or layout differs from the content's
//!   current one (republished) makes the whole item stale: it is deleted
//!   before anything is counted;
//! - eviction ([`enforce`]) deletes items unused for longer than the
//!   policy's age first, then the least recently used ones until the cache
//!   fits its size limit; the item in use is never evicted.

use edgeswarm_protocol::policies::CachePolicy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions};

use crate::store::opfs::{await_js, dir_entries, dir_files, opfs_dir, remove_entry, storage};
use crate::store::StoreError;

/// The cache's directory under `edgeswarm/`.
pub const CACHE_DIR: &str = "cache";
/// Each item's record file.
const RECORD: &str = "item.json";

/// What the cache knows of one item, stored as `item.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRecord {
    pub content_id: String,
    /// Lowercase hex SHA-256 of the metadata the pieces were verified against.
    pub metadata_sha256: String,
    pub file_size: u64,
    pub piece_size: u64,
    pub file_name: String,
    /// The download mode it was fetched in (seeding joins the same swarm).
    pub download_mode: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Epoch milliseconds.
    pub created_ms: f64,
    /// Epoch milliseconds of the last download or seeding start.
    pub last_used_ms: f64,
    /// Every piece is stored and the file was delivered.
    pub complete: bool,
}

/// One item as [`list`] sees it.
#[derive(Debug, Clone)]
pub struct CachedItem {
    pub record: ItemRecord,
    /// Bytes of its stored piece files.
    pub stored_bytes: u64,
}

/// Reads JSON file `name` of `dir`; None when missing or unreadable.
pub async fn read_json<T: DeserializeOwned>(
    dir: &FileSystemDirectoryHandle,
    name: &str,
) -> Option<T> {
    let handle: FileSystemFileHandle = await_js(dir.get_file_handle(name)).await.ok()?;
    let file: web_sys::File = await_js(handle.get_file()).await.ok()?;
    let text = JsFuture::from(file.text()).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Writes JSON file `name` of `dir` (replaced whole on `close()`).
pub async fn write_json<T: Serialize>(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    value: &T,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(value).map_err(|e| StoreError::Js(e.to_string()))?;
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(true);
    let handle: FileSystemFileHandle =
        await_js(dir.get_file_handle_with_options(name, &opts)).await?;
    let stream: web_sys::FileSystemWritableFileStream = await_js(handle.create_writable()).await?;
    let written = stream.write_with_str(&text).map_err(StoreError::js)?;
    JsFuture::from(written).await.map_err(StoreError::js)?;
    JsFuture::from(stream.close())
        .await
        .map_err(StoreError::js)?;
    Ok(())
}

pub async fn read_record(dir: &FileSystemDirectoryHandle) -> Option<ItemRecord> {
    read_json(dir, RECORD).await
}

pub async fn write_record(
    dir: &FileSystemDirectoryHandle,
    record: &ItemRecord,
) -> Result<(), StoreError> {
    write_json(dir, RECORD, record).await
}

/// Every item in the cache. A directory without a readable record (a
/// download interrupted before its first write) is deleted.
pub async fn list() -> Result<Vec<CachedItem>, StoreError> {
    let root = opfs_dir(&[CACHE_DIR]).await?;
    let mut items = Vec::new();
    for (name, handle) in dir_entries(&root).await? {
        let Ok(dir) = handle.dyn_into::<FileSystemDirectoryHandle>() else {
            continue;
        };
        let Some(record) = read_record(&dir).await else {
            let _ = remove_entry(&root, &name).await;
            continue;
        };
        let stored_bytes = dir_files(&dir)
            .await?
            .iter()
            .filter(|(n, _)| n.parse::<u32>().is_ok())
            .map(|(_, f)| f.size() as u64)
            .sum();
        items.push(CachedItem {
            record,
            stored_bytes,
        });
    }
    items.sort_by(|a, b| a.record.last_used_ms.total_cmp(&b.record.last_used_ms));
    Ok(items)
}

/// Deletes one item; false when it was not cached.
pub async fn delete(content_id: &str) -> Result<bool, StoreError> {
    let root = opfs_dir(&[CACHE_DIR]).await?;
    Ok(remove_entry(&root, content_id).await.is_ok())
}

/// Deletes every item; returns how many there were.
pub async fn clear() -> Result<u32, StoreError> {
    let root = opfs_dir(&[CACHE_DIR]).await?;
    let mut n = 0;
    for (name, _) in dir_entries(&root).await? {
        if remove_entry(&root, &name).await.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// The origin's storage quota in bytes (`navigator.storage.estimate()`).
pub async fn quota() -> u64 {
    let Ok(s) = storage() else { return 0 };
    let Ok(p) = s.estimate() else { return 0 };
    match JsFuture::from(p).await {
        Ok(v) => v
            .unchecked_into::<web_sys::StorageEstimate>()
            .get_quota()
            .unwrap_or(0.0) as u64,
        Err(_) => 0,
    }
}

/// Applies the policy: items unused for longer than `max_age_secs`, then the
/// least recently used ones beyond the size limit, are deleted — never
/// `keep`. Returns the deleted content ids.
pub async fn enforce(
    policy: &CachePolicy,
    keep: Option<&str>,
    now_ms: f64,
) -> Result<Vec<String>, StoreError> {
    let items = list().await?;
    let limit = policy.max_bytes(quota().await);
    let mut total: u64 = items.iter().map(|i| i.stored_bytes).sum();
    let mut evicted = Vec::new();
    // Oldest used first (list() sorts them so).
    for item in &items {
        let id = item.record.content_id.as_str();
        if Some(id) == keep {
            continue;
        }
        let age_ms = now_ms - item.record.last_used_ms;
        let too_old = policy.max_age_secs > 0 && age_ms > policy.max_age_secs as f64 * 1000.0;
        if (too_old || total > limit) && delete(id).await? {
            total = total.saturating_sub(item.stored_bytes);
            evicted.push(id.to_owned());
        }
    }
    Ok(evicted)
}
