//! `publish --server`: uploads a published file to an edge worker's admin
//! routes (docs/api.md) with three PUTs, in this order, each with
//! `Authorization: Bearer TOKEN`:
//!
//! 1. `PUT {server}/do/v1/admin/content/{id}/metadata`, body = the metadata file;
//! 2. `PUT …/data`, body = the file, streamed from disk with a Content-Length;
//! 3. `PUT …/policy`, body = `{"p2pAllowed":true}`.
//!
//! The policy goes last so the content is only announced once its bytes are
//! there. A non-2xx answer (redirects are not followed) is an error naming the
//! route, the status and the server's `error.message`. While the data streams
//! out it is hashed again; bytes that no longer match the metadata (the file
//! changed since it was hashed) are reported as an error.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use edgeswarm_protocol::metadata::FileHasher;
use edgeswarm_protocol::Metadata;
use ureq::SendBody;

use crate::progress;

/// Longest error body read back from the server.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Uploads metadata, data and the default policy for `meta` to `server`.
pub fn upload(
    server: &str,
    token: &str,
    meta: &Metadata,
    meta_bytes: &[u8],
    file: &Path,
) -> anyhow::Result<()> {
    let base = server.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--server must be an http:// or https:// URL, got {server:?}");
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(Duration::from_secs(30)))
        .build()
        .into();
    let route = |what: &str| format!("/do/v1/admin/content/{}/{what}", meta.content_id());
    let auth = format!("Bearer {token}");
    let put = |path: &str, content_type: &str| {
        agent
            .put(format!("{base}{path}"))
            .header("Authorization", &auth)
            .header("Content-Type", content_type)
    };

    let path = route("metadata");
    let resp = put(&path, "application/octet-stream").send(meta_bytes);
    check(&path, resp)?;

    let path = route("data");
    let f = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bar = progress::bytes_bar(meta.file_size(), "uploading");
    let mut body = HashingReader {
        inner: f.take(meta.file_size()),
        remaining: meta.file_size(),
        hasher: FileHasher::new(),
        bar: &bar,
    };
    let resp = put(&path, "application/octet-stream")
        .header("Content-Length", meta.file_size().to_string())
        .send(SendBody::from_reader(&mut body));
    bar.finish_and_clear();
    check(&path, resp)?;
    let (sent, sha) = body.hasher.finish();
    if sent != meta.file_size() || &sha != meta.file_sha256() {
        bail!(
            "{} changed while it was being published: the uploaded bytes do not match the metadata",
            file.display()
        );
    }

    let path = route("policy");
    let resp = put(&path, "application/json").send(r#"{"p2pAllowed":true}"#);
    check(&path, resp)
}

/// Turns a transport error or a non-2xx answer into an error naming `path`.
fn check(
    path: &str,
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<()> {
    let mut resp = resp.with_context(|| format!("PUT {path} failed"))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_ERROR_BODY)
        .read_to_string()
        .unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    let message = message.replace(['\r', '\n'], " ");
    bail!("PUT {path} answered {status}: {message}")
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

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank since it was hashed",
            ));
        }
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
