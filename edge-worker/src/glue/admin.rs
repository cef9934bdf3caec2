//! The publish routes: `PUT /do/v1/admin/content/{id}/{metadata,data,policy}`,
//! guarded by `Authorization: Bearer <ADMIN_TOKEN>`.
//!
//! Invariants: a request without the right token changes nothing (the
//! check runs before the body is read). Every body needs a Content-Length
//! within its route's bound before it is read. Metadata is decoded with
//! `edgeswarm-protocol` and must name the path's content id before it is
//! stored; metadata for a different file (other size or hash) removes the
//! stored data, which no longer matches it. The data body streams into R2 without being buffered; its length
//! must equal the metadata's file size and R2 itself checks its SHA-256
//! against the metadata's whole-file hash, so a mismatching upload is
//! refused and leaves nothing stored.

use serde::Serialize;
use worker::{Data, Env, Request};

use edgeswarm_protocol::{sha256_hex, ContentId, Metadata};

use super::{json, store, Answer};
use crate::auth;
use crate::error::ApiError;
use crate::policy::{self, MetaFacts};
use crate::routes::AdminObject;
use crate::upload;

/// Largest metadata file accepted (a 16 GiB file in 16 KiB pieces).
pub const MAX_METADATA_BYTES: u64 = 32 * 1024 * 1024;

pub async fn put(mut req: Request, env: &Env, id: &ContentId, object: AdminObject) -> Answer {
    authorize(&req, env)?;
    match object {
        AdminObject::Metadata => put_metadata(&mut req, env, id).await,
        AdminObject::Data => put_data(&req, env, id).await,
        AdminObject::Policy => put_policy(&mut req, env, id).await,
    }
}

/// 401 unless the request carries `Authorization: Bearer <ADMIN_TOKEN>`.
pub(super) fn authorize(req: &Request, env: &Env) -> Result<(), ApiError> {
    let expected = env.secret("ADMIN_TOKEN").ok().map(|s| s.to_string());
    let given = req.headers().get("Authorization")?;
    if auth::authorized(given.as_deref(), expected.as_deref()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The largest request body this worker accepts (var `MAX_UPLOAD_BYTES`).
pub(super) fn max_upload(env: &Env) -> Result<u64, ApiError> {
    let var = env.var(upload::MAX_UPLOAD_VAR).ok().map(|v| v.to_string());
    upload::max_upload_bytes(var.as_deref())
}

/// The declared body length, or 411.
pub(super) fn content_length(req: &Request) -> Result<u64, ApiError> {
    req.headers()
        .get("Content-Length")?
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::new(411, "length_required", "send a Content-Length header"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetadataStored {
    content_id: ContentId,
    metadata_sha256: String,
    file_size: u64,
    piece_size: u32,
    piece_count: u32,
    /// The largest body a data or part PUT may have (`MAX_UPLOAD_BYTES`).
    max_upload_bytes: u64,
}

async fn put_metadata(req: &mut Request, env: &Env, id: &ContentId) -> Answer {
    let limit = max_upload(env)?;
    let declared = content_length(req)?;
    if declared > limit {
        return Err(upload::too_large(declared, limit));
    }
    if declared > MAX_METADATA_BYTES {
        return Err(ApiError::new(
            413,
            "body_too_large",
            format!("metadata is at most {MAX_METADATA_BYTES} bytes"),
        ));
    }
    let bytes = req.bytes().await?;
    let meta = Metadata::decode(&bytes)
        .map_err(|e| ApiError::bad_request("bad_metadata", e.to_string()))?;
    if meta.content_id() != id {
        return Err(ApiError::bad_request(
            "content_id_mismatch",
            format!("the metadata is for {}, not {id}", meta.content_id()),
        ));
    }
    let facts = MetaFacts {
        metadata_sha256: sha256_hex(&bytes),
        file_size: meta.file_size(),
        piece_size: meta.piece_size().get(),
        file_sha256: hex::encode(meta.file_sha256()),
    };
    let b = store::bucket(env)?;
    // Metadata for a different file makes the stored bytes stale: they go
    // first, so the CDN never serves bytes the new metadata would reject.
    if let Some(old) = store::facts(&b, id).await? {
        if !old.same_file(&facts) {
            b.delete(store::data_key(id)).await?;
        }
    }
    b.put(store::meta_key(id), bytes)
        .custom_metadata(
            facts
                .to_pairs()
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .execute()
        .await?;
    json(
        201,
        &MetadataStored {
            content_id: id.clone(),
            metadata_sha256: facts.metadata_sha256,
            file_size: facts.file_size,
            piece_size: facts.piece_size,
            piece_count: meta.piece_count(),
            max_upload_bytes: limit,
        },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataStored {
    content_id: ContentId,
    file_size: u64,
    file_sha256: String,
}

async fn put_data(req: &Request, env: &Env, id: &ContentId) -> Answer {
    let limit = max_upload(env)?;
    let declared = content_length(req)?;
    if declared > limit {
        return Err(upload::too_large(declared, limit));
    }
    let b = store::bucket(env)?;
    let facts = store::facts(&b, id).await?.ok_or_else(|| {
        ApiError::new(
            409,
            "metadata_missing",
            format!("PUT the metadata of {id} first"),
        )
    })?;
    if declared != facts.file_size {
        return Err(ApiError::bad_request(
            "size_mismatch",
            format!(
                "the metadata says {} bytes, the body has {declared}",
                facts.file_size
            ),
        ));
    }
    let digest = hex::decode(&facts.file_sha256)
        .map_err(|_| ApiError::internal("stored file hash is not hex"))?;
    let data = match req.inner().body() {
        Some(stream) if declared > 0 => Data::ReadableStream(stream),
        _ => Data::Empty,
    };
    let put = b
        .put(store::data_key(id), data)
        .sha256(digest)
        .execute()
        .await;
    match put {
        Ok(_) => {}
        // R2 checks the body against the metadata's whole-file hash.
        Err(e) if upload::is_digest_mismatch(&e.to_string()) => {
            return Err(ApiError::bad_request(
                "hash_mismatch",
                format!("the body does not match the metadata's file hash: {e}"),
            ))
        }
        // Anything else is the platform's failure, not the caller's.
        Err(e) => return Err(e.into()),
    }
    json(
        201,
        &DataStored {
            content_id: id.clone(),
            file_size: facts.file_size,
            file_sha256: facts.file_sha256,
        },
    )
}

async fn put_policy(req: &mut Request, env: &Env, id: &ContentId) -> Answer {
    // A declared length bounds what `bytes()` reads; a body without one
    // (chunked) could be of any size, so it is refused like on the other routes.
    if content_length(req)? > policy::MAX_POLICY_BYTES as u64 {
        return Err(policy::too_large());
    }
    let bytes = req.bytes().await?;
    let new = policy::parse_policy(&bytes)?;
    let b = store::bucket(env)?;
    // The policy announces the content: only once its bytes are stored
    // (a single data PUT, or a completed multipart upload).
    if b.head(store::data_key(id)).await?.is_none() {
        return Err(ApiError::new(
            409,
            "data_missing",
            format!("the data of {id} is not stored yet: PUT it (or complete its multipart upload) before the policy"),
        ));
    }
    if let Some(old_alt) = store::policy(&b, id).await?.and_then(|p| p.alt_catalog_id) {
        // The old URL is unregistered only while it still names this content:
        // another item may have registered it since.
        if new.alt_catalog_id.as_ref() != Some(&old_alt)
            && store::resolve_alt(&b, &old_alt).await?.as_ref() == Some(id)
        {
            b.delete(policy::alt_key(&old_alt)).await?;
        }
    }
    let stored = serde_json::to_vec(&new)
        .map_err(|e| ApiError::internal(format!("serializing the policy: {e}")))?;
    b.put(store::policy_key(id), stored).execute().await?;
    if let Some(alt) = &new.alt_catalog_id {
        b.put(policy::alt_key(alt), id.to_string())
            .execute()
            .await?;
    }
    json(201, &new)
}
