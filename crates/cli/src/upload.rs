//! `publish --server`: uploads a published file to an edge worker's admin
//! routes (docs/api.md), each request with `Authorization: Bearer TOKEN`:
//!
//! 1. `PUT {server}/do/v1/admin/content/{id}/metadata`, body = the metadata
//!    file; its answer tells the server's `maxUploadBytes` (absent from older
//!    workers: [`DEFAULT_MAX_UPLOAD_BYTES`] applies);
//! 2. the data: a file within that limit goes in one `PUT …/data`, streamed
//!    from disk with a Content-Length; a larger one in parts (`multipart`);
//! 3. `PUT …/policy`, body = `{"p2pAllowed":true}`.
//!
//! The policy goes last so the content is only announced once its bytes are
//! there. The metadata and policy PUTs are repeated (with backoff) when the
//! failure may pass (transport error, 408, 429, 5xx): both are idempotent. A non-2xx answer (redirects are not followed) is an error naming the
//! route, the status and the server's `error.message`. While a single PUT
//! streams out the data is hashed again; bytes that no longer match the
//! metadata (the file changed since it was hashed) are reported as an error.
//! Ctrl-C during a single PUT stops it; nothing is announced.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use edgeswarm_protocol::metadata::FileHasher;
use edgeswarm_protocol::publish::{UploadLimits, DEFAULT_MAX_UPLOAD_BYTES};
use edgeswarm_protocol::Metadata;
use serde::Serialize;
use ureq::SendBody;

use crate::client::{self, Client};
use crate::multipart::{self, MultipartReport, Options};
use crate::{interrupt, progress};

/// How the data went up, for the JSON report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadReport {
    /// `single` (one PUT) or `multipart`.
    pub mode: &'static str,
    pub max_upload_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartReport>,
}

/// Uploads metadata, data and the default policy for `meta` to `server`.
pub fn upload(
    server: &str,
    token: &str,
    meta: &Metadata,
    meta_bytes: &[u8],
    file: &Path,
    opts: &Options,
) -> anyhow::Result<UploadReport> {
    let client = Client::new(server, token, meta.content_id())?;
    let put = |path: &str, content_type: &str| {
        client
            .agent
            .put(client.url(path))
            .header("Authorization", client.auth())
            .header("Content-Type", content_type)
    };
    interrupt::install()?;

    let path = client.path("metadata");
    let what = format!("PUT {path}");
    let (_, body) = client::retrying(|| {
        let resp = put(&path, "application/octet-stream").send(meta_bytes);
        client::answer(&what, resp)
    })?;
    let limit = serde_json::from_str::<UploadLimits>(&body)
        .ok()
        .and_then(|l| l.max_upload_bytes)
        .unwrap_or(DEFAULT_MAX_UPLOAD_BYTES);

    let report = if meta.file_size() <= limit {
        put_data(&client, meta, file)?;
        UploadReport {
            mode: "single",
            max_upload_bytes: limit,
            multipart: None,
        }
    } else {
        let m = multipart::upload(&client, meta, meta_bytes, file, limit, opts)?;
        UploadReport {
            mode: "multipart",
            max_upload_bytes: limit,
            multipart: Some(m),
        }
    };

    let path = client.path("policy");
    let what = format!("PUT {path}");
    client::retrying(|| {
        let resp = put(&path, "application/json").send(r#"{"p2pAllowed":true}"#);
        client::answer(&what, resp)
    })?;
    Ok(report)
}

/// The whole file in one `PUT …/data`.
fn put_data(client: &Client, meta: &Metadata, file: &Path) -> anyhow::Result<()> {
    let path = client.path("data");
    let f = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bar = progress::bytes_bar(meta.file_size(), "uploading");
    let mut body = HashingReader {
        inner: f.take(meta.file_size()),
        remaining: meta.file_size(),
        hasher: FileHasher::new(),
        bar: &bar,
    };
    let resp = client
        .agent
        .put(client.url(&path))
        .header("Authorization", client.auth())
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", meta.file_size().to_string())
        .send(SendBody::from_reader(&mut body));
    bar.finish_and_clear();
    if interrupt::requested() {
        return Err(interrupt::Interrupted(format!(
            "interrupted: the upload of {} was stopped; nothing was announced. \
             Run the same command again to publish it",
            meta.content_id()
        ))
        .into());
    }
    client::answer(&format!("PUT {path}"), resp)?;
    let (sent, sha) = body.hasher.finish();
    if sent != meta.file_size() || &sha != meta.file_sha256() {
        bail!(
            "{} changed while it was being published: the uploaded bytes do not match the metadata",
            file.display()
        );
    }
    Ok(())
}

/// Passes exactly `remaining` bytes through while hashing them and advancing
/// a progress bar. Ending early is an error, so a file that shrank since it
/// was hashed never leaves the server waiting for the promised Content-Length.
struct HashingReader<'a, R> {
    inner: R,
    remaining: u64,
    hasher: FileHasher,
    bar: &'a indicatif::ProgressBar,
}

/// One read of a body that promised `remaining` more bytes: stops on
/// Ctrl-C, and ending early is an error (the file shrank since it was
/// hashed), so the server never waits for bytes that will not come.
pub(crate) fn read_promised(
    inner: &mut impl Read,
    remaining: u64,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    interrupt::check()?;
    let n = inner.read(buf)?;
    if n == 0 && remaining > 0 && !buf.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file shrank since it was hashed",
        ));
    }
    Ok(n)
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_promised(&mut self.inner, self.remaining, buf)?;
        let chunk = buf
            .get(..n)
            .ok_or_else(|| std::io::Error::other("reader overran"))?;
        self.remaining = self.remaining.saturating_sub(n as u64);
        self.hasher.update(chunk);
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(data: &[u8], promised: u64) -> std::io::Result<Vec<u8>> {
        let bar = indicatif::ProgressBar::hidden();
        let mut r = HashingReader {
            inner: data.take(promised),
            remaining: promised,
            hasher: FileHasher::new(),
            bar: &bar,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn body_reader_sends_exactly_the_promised_bytes() {
        assert_eq!(drain(b"0123456789", 10).unwrap(), b"0123456789");
        // A file that grew is cut at the hashed length.
        assert_eq!(drain(b"0123456789", 4).unwrap(), b"0123");
    }

    #[test]
    fn body_reader_fails_when_the_file_shrank() {
        let err = drain(b"01234", 10).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
