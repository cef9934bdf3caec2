//! The multipart publish routes under `/do/v1/admin/content/{id}/multipart`
//! (docs/openapi.yaml), on R2's multipart upload API:
//! `POST` create, `GET` status (the parts stored so far), `DELETE` abort,
//! `PUT …/parts/{n}?uploadId=` one part, `POST …/complete?uploadId=`.
//!
//! Invariants: the caller's token is checked first (`admin::authorize`), and
//! a part's Content-Length against `MAX_UPLOAD_BYTES` (413) before anything
//! is read. Metadata comes first: without it every route answers 409. A part
//! streams from the request into R2 through a [`PieceVerifier`]: never
//! buffered whole, every piece checked against the stored metadata's hash
//! before its last byte is passed on; a bad piece aborts the part (422
//! naming the piece) and no record of it is written, so `complete` (which
//! needs a record for every part) cannot include it. Parts are checked
//! against the metadata the upload was created for; new metadata makes the
//! upload stale (409). Nothing is announced here: the policy PUT, which
//! announces, needs the data object that only `complete` creates.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{Bucket, Data, Date, Env, FixedLengthStream, Range, Request, UploadedPart};

use edgeswarm_protocol::publish::{
    CreateUpload, PartPlan, PartRecord, UploadCompleted, UploadStatus,
};
use edgeswarm_protocol::{ContentId, PieceSize};

use super::parts::{self, UploadState};
use super::{admin, json, query, store, Answer};
use crate::error::ApiError;
use crate::policy::MetaFacts;
use crate::routes::MultipartOp;
use crate::upload::{self, PartFault, PieceVerifier};

/// Largest `POST …/multipart` body.
const MAX_CREATE_BODY: u64 = 1024;

pub async fn handle(mut req: Request, env: &Env, id: &ContentId, op: MultipartOp) -> Answer {
    admin::authorize(&req, env)?;
    let limit = admin::max_upload(env)?;
    let b = store::bucket(env)?;
    match op {
        MultipartOp::Create => create(&mut req, &b, id, limit).await,
        MultipartOp::Status => {
            let s = current(&b, id).await?;
            json(200, &status(&b, id, &s, limit).await?)
        }
        MultipartOp::Abort => abort(&b, id).await,
        MultipartOp::Part(n) => part(&mut req, &b, id, n, limit).await,
        MultipartOp::Complete => complete(&req, &b, id, limit).await,
    }
}

fn metadata_missing(id: &ContentId) -> ApiError {
    ApiError::new(
        409,
        "metadata_missing",
        format!("PUT the metadata of {id} first"),
    )
}

async fn facts(b: &Bucket, id: &ContentId) -> Result<MetaFacts, ApiError> {
    store::facts(b, id)
        .await?
        .ok_or_else(|| metadata_missing(id))
}

fn plan(s: &UploadState, limit: u64) -> Result<PartPlan, ApiError> {
    let piece = PieceSize::new(u64::from(s.piece_size))
        .map_err(|e| ApiError::internal(format!("stored upload state: {e}")))?;
    // The limit may have been lowered since: the stored plan was valid then.
    PartPlan::new(s.file_size, piece, s.part_size, limit.max(s.part_size))
        .map_err(|e| ApiError::internal(format!("stored upload state: {e}")))
}

async fn current(b: &Bucket, id: &ContentId) -> Result<UploadState, ApiError> {
    parts::state(b, id).await?.ok_or_else(|| {
        ApiError::not_found(
            "no_upload",
            format!("no multipart upload of {id} is in progress"),
        )
    })
}

/// The upload named by `?uploadId=`, still matching the stored metadata.
async fn named(req: &Request, b: &Bucket, id: &ContentId) -> Result<UploadState, ApiError> {
    let s = current(b, id).await?;
    let given = query(req, "uploadId")?;
    if given.as_deref() != Some(s.upload_id.as_str()) {
        return Err(ApiError::new(
            409,
            "upload_superseded",
            "?uploadId= does not name the upload in progress (GET …/multipart tells which)",
        ));
    }
    if facts(b, id).await?.metadata_sha256 != s.metadata_sha256 {
        return Err(ApiError::new(
            409,
            "metadata_changed",
            "the metadata changed since this upload was created; create a new upload",
        ));
    }
    Ok(s)
}

async fn status(
    b: &Bucket,
    id: &ContentId,
    s: &UploadState,
    limit: u64,
) -> Result<UploadStatus, ApiError> {
    let plan = plan(s, limit)?;
    Ok(UploadStatus {
        content_id: id.to_string(),
        upload_id: s.upload_id.clone(),
        metadata_sha256: s.metadata_sha256.clone(),
        file_size: s.file_size,
        part_size: s.part_size,
        part_count: plan.part_count(),
        max_upload_bytes: limit,
        parts: parts::parts(b, id, &s.upload_id).await?,
    })
}

async fn create(req: &mut Request, b: &Bucket, id: &ContentId, limit: u64) -> Answer {
    let declared = admin::content_length(req).unwrap_or(0);
    if declared > MAX_CREATE_BODY {
        return Err(upload::too_large(declared, MAX_CREATE_BODY));
    }
    let body = if declared > 0 {
        req.bytes().await?
    } else {
        Vec::new()
    };
    let wanted: CreateUpload = if body.iter().all(u8::is_ascii_whitespace) {
        CreateUpload::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("bad_request_body", e.to_string()))?
    };
    let facts = facts(b, id).await?;
    let piece = PieceSize::new(u64::from(facts.piece_size))
        .map_err(|e| ApiError::internal(format!("stored metadata facts: {e}")))?;
    let plan = match wanted.part_size {
        Some(size) => PartPlan::new(facts.file_size, piece, size, limit),
        None => PartPlan::largest(facts.file_size, piece, limit),
    }
    .map_err(|e| ApiError::bad_request("bad_part_size", e.to_string()))?;
    // One upload per content id: a new one replaces the old.
    if let Some(old) = parts::state(b, id).await? {
        drop_upload(b, id, &old).await?;
    }
    let upload = b
        .create_multipart_upload(store::data_key(id))
        .execute()
        .await?;
    let state = UploadState {
        upload_id: upload.upload_id().await,
        metadata_sha256: facts.metadata_sha256,
        file_size: facts.file_size,
        piece_size: facts.piece_size,
        part_size: plan.part_size(),
    };
    parts::save_state(b, id, &state).await?;
    json(201, &status(b, id, &state, limit).await?)
}

/// Aborts the R2 upload (already gone is fine) and forgets its records.
async fn drop_upload(b: &Bucket, id: &ContentId, s: &UploadState) -> Result<(), ApiError> {
    let upload = b.resume_multipart_upload(store::data_key(id), s.upload_id.clone())?;
    // An upload that R2 already completed, aborted or expired cannot be
    // aborted again; either way nothing of it remains to be stored.
    let _ = upload.abort().await;
    parts::forget(b, id).await
}

async fn abort(b: &Bucket, id: &ContentId) -> Answer {
    let s = current(b, id).await?;
    drop_upload(b, id, &s).await?;
    json(
        200,
        &serde_json::json!({ "contentId": id, "uploadId": s.upload_id, "aborted": true }),
    )
}

async fn part(req: &mut Request, b: &Bucket, id: &ContentId, n: u32, limit: u64) -> Answer {
    let declared = admin::content_length(req)?;
    if declared > limit {
        return Err(upload::too_large(declared, limit));
    }
    let s = named(req, b, id).await?;
    let plan = plan(&s, limit)?;
    let (Some(range), Some(pieces)) = (plan.part_range(n), plan.part_pieces(n)) else {
        return Err(ApiError::bad_request(
            "bad_part_number",
            format!("parts are numbered 1 to {}", plan.part_count()),
        ));
    };
    let len = range.end - range.start;
    if declared != len {
        return Err(ApiError::bad_request(
            "size_mismatch",
            format!("part {n} has {len} bytes, the body has {declared}"),
        ));
    }
    let hashes = piece_hashes(b, id, pieces.start, pieces.end - pieces.start).await?;
    let verifier = PieceVerifier::new(hashes, pieces.start, s.piece_size, len);
    let shared: Rc<RefCell<Shared>> = Rc::new(RefCell::new(Shared {
        body: Some(Box::pin(req.stream()?)),
        fault: None,
    }));
    let body = checked_body(shared.clone(), verifier);
    let upload = b.resume_multipart_upload(store::data_key(id), s.upload_id.clone())?;
    let stored = upload
        .upload_part(n as u16, Data::Stream(FixedLengthStream::wrap(body, len)))
        .await;
    // A refused or failed part leaves the rest of the body unread: read it
    // (and drop it) so the caller gets this answer instead of a reset
    // connection, and workerd's request is not cut mid-body.
    drain(&shared).await;
    let fault = shared.borrow_mut().fault.take();
    if let Some(f) = fault {
        return Err(f.to_error(s.piece_size));
    }
    let stored = stored?;
    let record = PartRecord {
        part_number: n,
        size: len,
        etag: stored.etag(),
        uploaded_at: Date::now().as_millis(),
    };
    parts::record_part(b, id, &s.upload_id, &record).await?;
    json(201, &record)
}

/// The request body of a part and the first fault found in it, shared by
/// the checked stream (which R2 pulls) and the handler.
struct Shared {
    body: Option<Pin<Box<worker::ByteStream>>>,
    fault: Option<PartFault>,
}

/// The request body, checked piece by piece; the first fault ends it with
/// an error (so R2 refuses the part) and is kept in `Shared::fault`. The
/// body itself stays in `Shared` so the handler can drain it.
fn checked_body(
    shared: Rc<RefCell<Shared>>,
    verifier: PieceVerifier,
) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>> + 'static {
    let fail = |f: PartFault, shared: &RefCell<Shared>| {
        let e = worker::Error::RustError(format!("part refused: {f:?}"));
        shared.borrow_mut().fault = Some(f);
        e
    };
    futures_util::stream::unfold(Some(verifier), move |state| {
        let shared = shared.clone();
        async move {
            let mut v = state?;
            let mut body = shared.borrow_mut().body.take()?;
            let item = body.next().await;
            shared.borrow_mut().body = Some(body);
            match item {
                Some(Ok(chunk)) => match v.update(&chunk) {
                    Ok(()) => Some((Ok(chunk), Some(v))),
                    Err(f) => Some((Err(fail(f, &shared)), None)),
                },
                // The caller went away mid-body: the part is short.
                Some(Err(_)) => {
                    let f = v.finish().err().unwrap_or(PartFault::TooLong);
                    Some((Err(fail(f, &shared)), None))
                }
                None => match v.finish() {
                    Ok(()) => None,
                    Err(f) => Some((Err(fail(f, &shared)), None)),
                },
            }
        }
    })
}

/// Reads what is left of the body and drops it (bounded by the declared
/// length, which was checked against the upload limit).
async fn drain(shared: &RefCell<Shared>) {
    let body = shared.borrow_mut().body.take();
    if let Some(mut body) = body {
        while let Some(Ok(_)) = body.next().await {}
    }
}

/// The expected hashes of `count` pieces from `first`, read from the stored
/// metadata with one ranged read (at most a part's worth of hashes).
async fn piece_hashes(
    b: &Bucket,
    id: &ContentId,
    first: u32,
    count: u32,
) -> Result<Vec<edgeswarm_protocol::Sha256Digest>, ApiError> {
    let offset = upload::piece_hash_offset(id.as_str().len(), first);
    let length = 32 * u64::from(count);
    let obj = b
        .get(store::meta_key(id))
        .range(Range::OffsetWithLength { offset, length })
        .execute()
        .await?
        .ok_or_else(|| metadata_missing(id))?;
    let bytes = match obj.body() {
        Some(body) => body.bytes().await?,
        None => Vec::new(),
    };
    upload::split_hashes(&bytes, count as usize)
        .ok_or_else(|| ApiError::internal("stored metadata is shorter than its facts say"))
}

async fn complete(req: &Request, b: &Bucket, id: &ContentId, limit: u64) -> Answer {
    let s = named(req, b, id).await?;
    let plan = plan(&s, limit)?;
    let stored = parts::parts(b, id, &s.upload_id).await?;
    let missing: Vec<u32> = (1..=plan.part_count())
        .filter(|n| !stored.iter().any(|p| p.part_number == *n))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(u32::to_string).collect();
        return Err(ApiError::new(
            409,
            "parts_missing",
            format!(
                "{} of {} parts are not stored yet: {}",
                missing.len(),
                plan.part_count(),
                shown.join(", ")
            ),
        ));
    }
    let upload = b.resume_multipart_upload(store::data_key(id), s.upload_id.clone())?;
    let object = upload
        .complete(
            stored
                .iter()
                .map(|p| UploadedPart::new(p.part_number as u16, p.etag.clone())),
        )
        .await?;
    if object.size() != s.file_size {
        b.delete(store::data_key(id)).await?;
        return Err(ApiError::internal(format!(
            "R2 assembled {} bytes, the metadata says {}",
            object.size(),
            s.file_size
        )));
    }
    parts::forget(b, id).await?;
    json(
        201,
        &UploadCompleted {
            content_id: id.to_string(),
            file_size: s.file_size,
            part_count: plan.part_count(),
            parts: stored,
        },
    )
}
