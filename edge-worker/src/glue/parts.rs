//! Where a multipart upload keeps its bookkeeping in the `CONTENT` bucket.
//! R2's binding cannot list the parts of an upload, so the worker records
//! them itself.
//!
//! Keys: `upload/{id}` holds the upload in progress as JSON
//! ([`UploadState`]: R2 upload id, part size, the metadata it checks
//! against); `upload-part/{id}/{NNNNN}` is one empty object per stored part,
//! its R2 etag, size, time and upload id in custom metadata. One object per
//! part means parallel part uploads never overwrite each other's records.
//! Records of another upload id (a superseded upload) are ignored.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{Bucket, Include};

use edgeswarm_protocol::publish::PartRecord;
use edgeswarm_protocol::ContentId;

use crate::error::ApiError;

/// Most part records read back (R2's part limit).
const MAX_RECORDS: usize = edgeswarm_protocol::publish::MAX_PARTS as usize;

/// The upload in progress for one content id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadState {
    pub upload_id: String,
    pub metadata_sha256: String,
    pub file_size: u64,
    pub piece_size: u32,
    pub part_size: u64,
}

fn state_key(id: &ContentId) -> String {
    format!("upload/{id}")
}

fn records_prefix(id: &ContentId) -> String {
    format!("upload-part/{id}/")
}

fn record_key(id: &ContentId, part: u32) -> String {
    format!("{}{part:05}", records_prefix(id))
}

/// The upload in progress, if any.
pub async fn state(b: &Bucket, id: &ContentId) -> Result<Option<UploadState>, ApiError> {
    let Some(bytes) = super::store::small_object(b, state_key(id)).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ApiError::internal(format!("stored upload state is garbled: {e}")))
}

pub async fn save_state(b: &Bucket, id: &ContentId, s: &UploadState) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(s)
        .map_err(|e| ApiError::internal(format!("serializing the upload state: {e}")))?;
    b.put(state_key(id), bytes).execute().await?;
    Ok(())
}

/// Records a stored part of upload `upload_id`.
pub async fn record_part(
    b: &Bucket,
    id: &ContentId,
    upload_id: &str,
    part: &PartRecord,
) -> Result<(), ApiError> {
    let custom: HashMap<String, String> = [
        ("uploadId", upload_id.to_owned()),
        ("etag", part.etag.clone()),
        ("size", part.size.to_string()),
        ("uploadedAt", part.uploaded_at.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    b.put(record_key(id, part.part_number), Vec::<u8>::new())
        .custom_metadata(custom)
        .execute()
        .await?;
    Ok(())
}

/// The parts of upload `upload_id` recorded so far, by part number.
pub async fn parts(
    b: &Bucket,
    id: &ContentId,
    upload_id: &str,
) -> Result<Vec<PartRecord>, ApiError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let prefix = records_prefix(id);
    loop {
        let mut list = b
            .list()
            .prefix(prefix.clone())
            .include(vec![Include::CustomMetadata]);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        for obj in page.objects() {
            let number = obj
                .key()
                .strip_prefix(&prefix)
                .and_then(|n| n.parse::<u32>().ok());
            let custom = obj.custom_metadata()?;
            let field = |k: &str| custom.get(k).cloned();
            if field("uploadId").as_deref() != Some(upload_id) {
                continue;
            }
            let (Some(part_number), Some(etag), Some(size), Some(at)) = (
                number,
                field("etag"),
                field("size").and_then(|s| s.parse().ok()),
                field("uploadedAt").and_then(|s| s.parse().ok()),
            ) else {
                continue;
            };
            out.push(PartRecord {
                part_number,
                size,
                etag,
                uploaded_at: at,
            });
        }
        if out.len() > MAX_RECORDS {
            return Err(ApiError::internal("more part records than R2 allows"));
        }
        match (page.truncated(), page.cursor()) {
            (true, Some(c)) => cursor = Some(c),
            _ => break,
        }
    }
    out.sort_by_key(|p| p.part_number);
    Ok(out)
}

/// Removes the upload state and every part record of `id`.
pub async fn forget(b: &Bucket, id: &ContentId) -> Result<(), ApiError> {
    let prefix = records_prefix(id);
    loop {
        let page = b.list().prefix(prefix.clone()).execute().await?;
        let keys: Vec<String> = page.objects().iter().map(|o| o.key()).collect();
        if keys.is_empty() {
            break;
        }
        b.delete_multiple(keys).await?;
        if !page.truncated() {
            break;
        }
    }
    b.delete(state_key(id)).await?;
    Ok(())
}
