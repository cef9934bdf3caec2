//! Where things live in the `CONTENT` R2 bucket, and typed reads of them.
//!
//! Keys: `meta/{id}` (metadata file; its validated facts as custom
//! metadata), `data/{id}` (the file), `policy/{id}` (policy JSON),
//! `alt/{sha256(altCatalogId)}` (the content id registered for a download
//! URL). Ids are validated [`ContentId`]s, so a key never escapes its prefix.

use worker::{Bucket, Env};

use edgeswarm_protocol::ContentId;

use crate::error::ApiError;
use crate::policy::{alt_key, MetaFacts, Policy};

/// The R2 binding name.
pub const BUCKET: &str = "CONTENT";

pub fn bucket(env: &Env) -> Result<Bucket, ApiError> {
    Ok(env.bucket(BUCKET)?)
}

pub fn meta_key(id: &ContentId) -> String {
    format!("meta/{id}")
}

pub fn data_key(id: &ContentId) -> String {
    format!("data/{id}")
}

pub fn policy_key(id: &ContentId) -> String {
    format!("policy/{id}")
}

/// The validated facts of the stored metadata, if any.
pub async fn facts(b: &Bucket, id: &ContentId) -> Result<Option<MetaFacts>, ApiError> {
    let Some(obj) = b.head(meta_key(id)).await? else {
        return Ok(None);
    };
    let custom = obj.custom_metadata()?;
    Ok(MetaFacts::from_lookup(|k| custom.get(k).cloned()))
}

/// The bytes of a small stored object (a policy, a registration, an upload
/// state), if it exists.
pub async fn small_object(b: &Bucket, key: String) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(obj) = b.get(key).execute().await? else {
        return Ok(None);
    };
    match obj.body() {
        Some(body) => Ok(Some(body.bytes().await?)),
        None => Ok(None),
    }
}

/// The stored policy, if any.
pub async fn policy(b: &Bucket, id: &ContentId) -> Result<Option<Policy>, ApiError> {
    let Some(bytes) = small_object(b, policy_key(id)).await? else {
        return Ok(None);
    };
    // Stored policies were validated on PUT; a garbled one reads as absent.
    Ok(serde_json::from_slice(&bytes).ok())
}

/// The content id registered for a download URL, if any.
pub async fn resolve_alt(b: &Bucket, alt: &str) -> Result<Option<ContentId>, ApiError> {
    let Some(bytes) = small_object(b, alt_key(alt)).await? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(ContentId::new(text.trim()).ok())
}

/// The content id named by the path, or else by `altCatalogId`.
pub async fn content_id(
    b: &Bucket,
    from_path: Option<ContentId>,
    alt: Option<String>,
) -> Result<ContentId, ApiError> {
    if let Some(id) = from_path {
        return Ok(id);
    }
    let Some(alt) = alt else {
        return Err(ApiError::bad_request(
            "missing_parameter",
            "name the content by path (/{contentId}) or by ?altCatalogId=URL",
        ));
    };
    if alt.is_empty() || alt.len() > crate::policy::MAX_URL_LEN {
        return Err(ApiError::bad_request(
            "bad_parameter",
            "altCatalogId is empty or too long",
        ));
    }
    resolve_alt(b, &alt).await?.ok_or_else(|| {
        ApiError::not_found(
            "unknown_content",
            "no content is registered for that altCatalogId",
        )
    })
}

/// The policy and metadata facts of published content, or 404.
pub async fn published(b: &Bucket, id: &ContentId) -> Result<(Policy, MetaFacts), ApiError> {
    let unknown =
        || ApiError::not_found("unknown_content", format!("content {id} is not published"));
    let policy = policy(b, id).await?.ok_or_else(unknown)?;
    let facts = facts(b, id).await?.ok_or_else(unknown)?;
    Ok((policy, facts))
}
