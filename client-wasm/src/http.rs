//! HTTP over `fetch`, with HTTP Range and cancellation by `AbortController`.
//!
//! [`Abort`] owns an `AbortController`; dropping it aborts every fetch that
//! was started with its signal, so a cancelled download leaves no request
//! running. Two ways to read a body:
//! - whole ([`get`], [`HttpReply::body`]), for small answers (metadata, the
//!   size probe): a ranged request never reads more than its range into
//!   memory: a longer body (a server that ignores `Range` sends the whole
//!   file) is cancelled and the reply is [`HttpReply::truncated`], with the
//!   `Content-Length` of a `200` as [`HttpReply::total_size`];
//! - streamed ([`open_range`], [`RangeBody::next`]), for the engine's range
//!   requests, which may span many pieces: chunks as the browser hands them
//!   over, never the whole body; past the range's length, only the range's
//!   length + 1 bytes are returned (so the engine sees the body is too long)
//!   and reading stops. Bodies are read with a BYOB reader into one reused
//!   buffer where the browser allows it ([`body`]), so reading allocates no
//!   `ArrayBuffer` per chunk. Dropping a [`RangeBody`] cancels it.
//!
//! A status the caller did not want is not an `Err` here: the engine decides
//! what a 404 or a 416 means. `Err` is kept for transport failures and aborts.

pub mod body;

use std::ops::Range;

use js_sys::{Reflect, Uint8Array};
use serde::de::DeserializeOwned;
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestCache, RequestInit, Response};

use body::{BodyReader, Chunk};

/// Why a fetch produced no response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    #[error("request aborted")]
    Aborted,
    #[error("network error: {0}")]
    Network(String),
    #[error("HTTP {status} from {url}")]
    Status { status: u16, url: String },
    #[error("bad JSON from {url}: {message}")]
    Json { url: String, message: String },
}

/// A completed HTTP exchange.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
    /// A ranged request's body was longer than the range, so it was not read
    /// (`body` is empty): a server that ignores `Range`, or a broken one.
    pub truncated: bool,
    /// The `/size` of a `Content-Range: bytes a-b/size` header, or, for a
    /// ranged request answered `200`, its `Content-Length`.
    pub total_size: Option<u64>,
}

/// The total of `Content-Range: bytes a-b/total` (or `bytes */total`).
pub fn content_range_total(header: &str) -> Option<u64> {
    header.rsplit_once('/')?.1.trim().parse().ok()
}

/// Owns an `AbortController`; dropping it (or calling [`Abort::abort`]) aborts its fetches.
pub struct Abort {
    controller: Option<AbortController>,
}

impl Abort {
    pub fn new() -> Self {
        Self {
            controller: AbortController::new().ok(),
        }
    }

    pub fn signal(&self) -> Option<AbortSignal> {
        self.controller.as_ref().map(AbortController::signal)
    }

    pub fn abort(&self) {
        if let Some(c) = &self.controller {
            c.abort();
        }
    }
}

impl Default for Abort {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Abort {
    fn drop(&mut self) {
        self.abort();
    }
}

fn js_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn is_abort(e: &JsValue, signal: Option<&AbortSignal>) -> bool {
    signal.is_some_and(AbortSignal::aborted)
        || Reflect::get(e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .is_some_and(|n| n == "AbortError")
}

/// The global `fetch` (window or worker).
fn global_fetch(url: &str, init: &RequestInit) -> js_sys::Promise {
    let global = js_sys::global();
    if let Some(w) = global.dyn_ref::<web_sys::Window>() {
        w.fetch_with_str_and_init(url, init)
    } else if let Some(w) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        w.fetch_with_str_and_init(url, init)
    } else {
        js_sys::Promise::reject(&"no fetch in this global".into())
    }
}

/// `GET url`, with `Range: bytes=start-(end-1)` when `range` is given.
pub async fn get(
    url: &str,
    range: Option<Range<u64>>,
    signal: Option<&AbortSignal>,
) -> Result<HttpReply, HttpError> {
    let fail = |e: JsValue| failure(&e, signal);
    let resp = fetch(url, range.as_ref(), signal).await?;
    let status = resp.status();
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    let mut total_size = header("Content-Range").and_then(|h| content_range_total(&h));
    if range.is_some() && status == 200 {
        // The server ignored the Range; its Content-Length is the file size.
        total_size = header("Content-Length").and_then(|h| h.trim().parse().ok());
    }
    let body = match &range {
        None => {
            let buf = resp.array_buffer().map_err(fail)?;
            let buf = JsFuture::from(buf).await.map_err(fail)?;
            Some(Uint8Array::new(&buf).to_vec())
        }
        Some(r) => read_at_most(&resp, r.end.saturating_sub(r.start), &fail).await?,
    };
    Ok(HttpReply {
        status,
        truncated: body.is_none(),
        body: body.unwrap_or_default(),
        total_size,
    })
}

fn failure(e: &JsValue, signal: Option<&AbortSignal>) -> HttpError {
    if is_abort(e, signal) {
        HttpError::Aborted
    } else {
        HttpError::Network(js_message(e))
    }
}

/// Sends `GET url` (with a `Range` header for `range`) and waits for the
/// response head.
async fn fetch(
    url: &str,
    range: Option<&Range<u64>>,
    signal: Option<&AbortSignal>,
) -> Result<Response, HttpError> {
    let init = RequestInit::new();
    init.set_method("GET");
    // Content ids can be republished: a browser-cached copy (the CDN route
    // allows an hour) is revalidated with its ETag, never used stale, or a
    // republished file would fail its new hashes forever.
    init.set_cache(RequestCache::NoCache);
    if let Some(r) = range {
        let headers = Headers::new().map_err(|e| HttpError::Network(js_message(&e)))?;
        let last = r.end.saturating_sub(1).max(r.start);
        headers
            .set("Range", &format!("bytes={}-{}", r.start, last))
            .map_err(|e| HttpError::Network(js_message(&e)))?;
        init.set_headers(&headers);
    }
    if let Some(s) = signal {
        init.set_signal(Some(s));
    }
    let resp = JsFuture::from(global_fetch(url, &init))
        .await
        .map_err(|e| failure(&e, signal))?;
    resp.dyn_into()
        .map_err(|_| HttpError::Network("fetch did not return a Response".into()))
}

/// The body's reader, for a caller that reads at most `limit` bytes of it.
fn reader_of(resp: &Response, limit: u64) -> Result<Option<BodyReader>, HttpError> {
    let Some(stream) = resp.body() else {
        return Ok(None);
    };
    BodyReader::new(&stream, limit.saturating_add(1))
        .map(Some)
        .map_err(|e| HttpError::Network(js_message(&e)))
}

/// A ranged response's body, read chunk by chunk ([`open_range`]).
pub struct RangeBody {
    reader: Option<BodyReader>,
    /// Bytes of the range not yet read.
    left: u64,
    signal: Option<AbortSignal>,
}

/// `GET url` with `Range: bytes=start-(end-1)`: the status, and the body to
/// read with [`RangeBody::next`].
pub async fn open_range(
    url: &str,
    range: Range<u64>,
    signal: Option<AbortSignal>,
) -> Result<(u16, RangeBody), HttpError> {
    let resp = fetch(url, Some(&range), signal.as_ref()).await?;
    let body = RangeBody {
        reader: reader_of(&resp, range.end.saturating_sub(range.start))?,
        left: range.end.saturating_sub(range.start),
        signal,
    };
    Ok((resp.status(), body))
}

impl RangeBody {
    /// The next chunk, or `None` at the end. A chunk that passes the range's
    /// length comes back cut to the length left + 1 (so the reader sees the
    /// body is too long), and the body ends there.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        let Some(reader) = &mut self.reader else {
            return Ok(None);
        };
        let max = u32::try_from(self.left.saturating_add(1)).unwrap_or(u32::MAX);
        let chunk = reader.read(max).await;
        let bytes = match chunk.map_err(|e| failure(&e, self.signal.as_ref()))? {
            Chunk::End => {
                self.reader = None;
                return Ok(None);
            }
            Chunk::Bytes(bytes) => bytes,
        };
        let len = bytes.len() as u64;
        if len > self.left {
            self.cancel();
        } else {
            self.left -= len;
        }
        Ok(Some(bytes))
    }

    fn cancel(&mut self) {
        if let Some(r) = self.reader.take() {
            r.cancel();
        }
    }
}

impl Drop for RangeBody {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Reads `resp`'s body, or `None` (and cancels it) once it passes `limit` bytes.
async fn read_at_most(
    resp: &Response,
    limit: u64,
    fail: &impl Fn(JsValue) -> HttpError,
) -> Result<Option<Vec<u8>>, HttpError> {
    let Some(mut reader) = reader_of(resp, limit)? else {
        return Ok(Some(Vec::new()));
    };
    // For the small answers this reads (the size probe), a fair first guess.
    let mut body = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(1 << 24));
    loop {
        let room = limit.saturating_sub(body.len() as u64).saturating_add(1);
        match reader
            .read(u32::try_from(room).unwrap_or(u32::MAX))
            .await
            .map_err(fail)?
        {
            Chunk::End => return Ok(Some(body)),
            Chunk::Bytes(bytes) => {
                if body.len() as u64 + bytes.len() as u64 > limit {
                    reader.cancel();
                    return Ok(None);
                }
                body.extend_from_slice(&bytes);
            }
        }
    }
}

/// `GET url` expecting a 2xx; returns the body.
pub async fn get_ok(url: &str, signal: Option<&AbortSignal>) -> Result<Vec<u8>, HttpError> {
    let reply = get(url, None, signal).await?;
    if !(200..300).contains(&reply.status) {
        return Err(HttpError::Status {
            status: reply.status,
            url: url.to_owned(),
        });
    }
    Ok(reply.body)
}

/// `GET url` expecting a 2xx JSON body of type `T`.
pub async fn get_json<T: DeserializeOwned>(
    url: &str,
    signal: Option<&AbortSignal>,
) -> Result<T, HttpError> {
    let body = get_ok(url, signal).await?;
    serde_json::from_slice(&body).map_err(|e| HttpError::Json {
        url: url.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::content_range_total;

    #[test]
    fn content_range_total_reads_the_size() {
        assert_eq!(content_range_total("bytes 0-0/33554432"), Some(33_554_432));
        assert_eq!(content_range_total("bytes */100"), Some(100));
        assert_eq!(content_range_total("bytes 0-0/*"), None);
        assert_eq!(content_range_total("garbage"), None);
    }
}
