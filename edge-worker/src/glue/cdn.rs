//! The metadata and content CDN routes, served from R2 with `Range`,
//! `HEAD`, `ETag`/`If-None-Match` and cache headers. Bodies stream from R2
//! to the client; nothing is buffered whole.

use worker::{Env, Headers, Request, ResponseBuilder};

use edgeswarm_protocol::ContentId;

use super::{store, Answer};
use crate::error::ApiError;
use crate::range::RangeAnswer;

/// Cache policy of CDN answers: revalidate with the ETag after an hour.
const CACHE_CONTROL: &str = "public, max-age=3600";

fn cdn_headers(etag: &str, len: u64) -> Result<Headers, ApiError> {
    let h = Headers::new();
    h.set("Content-Type", "application/octet-stream")?;
    h.set("ETag", etag)?;
    h.set("Cache-Control", CACHE_CONTROL)?;
    h.set("Accept-Ranges", "bytes")?;
    h.set("Content-Length", &len.to_string())?;
    Ok(h)
}

fn not_modified(req: &Request, etag: &str) -> Result<bool, ApiError> {
    Ok(req
        .headers()
        .get("If-None-Match")?
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")))
}

fn answer_304(etag: &str) -> Answer {
    let h = Headers::new();
    h.set("ETag", etag)?;
    h.set("Cache-Control", CACHE_CONTROL)?;
    Ok(ResponseBuilder::new()
        .with_status(304)
        .with_headers(h)
        .empty())
}

pub async fn meta(req: &Request, env: &Env, id: &ContentId) -> Answer {
    let b = store::bucket(env)?;
    let Some(obj) = b.get(store::meta_key(id)).execute().await? else {
        return Err(ApiError::not_found(
            "unknown_content",
            format!("no metadata for {id}"),
        ));
    };
    let etag = obj.http_etag();
    if not_modified(req, &etag)? {
        return answer_304(&etag);
    }
    let h = cdn_headers(&etag, obj.size())?;
    let body = obj
        .body()
        .ok_or_else(|| ApiError::internal("metadata object without body"))?
        .response_body()?;
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_headers(h)
        .body(body))
}

pub async fn content(req: &Request, env: &Env, id: &ContentId, head: bool) -> Answer {
    let b = store::bucket(env)?;
    let key = store::data_key(id);
    let Some(info) = b.head(key.clone()).await? else {
        return Err(ApiError::not_found(
            "unknown_content",
            format!("no data for {id}"),
        ));
    };
    let size = info.size();
    let etag = info.http_etag();
    if not_modified(req, &etag)? {
        return answer_304(&etag);
    }
    let decision = RangeAnswer::decide(req.headers().get("Range")?.as_deref(), size);
    let (status, r2_range, len) = match decision {
        RangeAnswer::Full => (200, None, size),
        RangeAnswer::Partial { start, len } => (
            206,
            Some(worker::Range::OffsetWithLength {
                offset: start,
                length: len,
            }),
            len,
        ),
        RangeAnswer::Unsatisfiable => {
            let e = ApiError::new(
                416,
                "range_not_satisfiable",
                format!(
                    "one range within 0..{size} is required, as bytes=a-b, bytes=a- or bytes=-n"
                ),
            );
            let resp = super::error_response(&e)?;
            if let Some(cr) = decision.content_range(size) {
                resp.headers().set("Content-Range", &cr)?;
            }
            return Ok(resp);
        }
    };
    let h = cdn_headers(&etag, len)?;
    if let Some(cr) = decision.content_range(size) {
        h.set("Content-Range", &cr)?;
    }
    let builder = ResponseBuilder::new().with_status(status).with_headers(h);
    if head || len == 0 {
        return Ok(builder.empty());
    }
    let mut get = b.get(key);
    if let Some(r) = r2_range {
        get = get.range(r);
    }
    let Some(obj) = get.execute().await? else {
        return Err(ApiError::not_found(
            "unknown_content",
            format!("no data for {id}"),
        ));
    };
    let body = obj
        .body()
        .ok_or_else(|| ApiError::internal("content object without body"))?
        .response_body()?;
    Ok(builder.body(body))
}
