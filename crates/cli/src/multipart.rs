//! `publish --server` for a file above the server's upload limit: R2
//! multipart through the worker's `…/multipart` routes (docs/openapi.yaml).
//!
//! Flow: create the upload (or, with `--resume`, take the one in progress
//! when it was made for the same metadata), upload the missing parts with
//! `--jobs` threads, then `complete`. Each part is streamed from disk with
//! its Content-Length (never read whole into memory); a part that fails for a
//! reason that may pass (transport error, 408, 429, 5xx) is retried with
//! exponential backoff up to [`ATTEMPTS`] times; any other refusal (e.g. a
//! piece that no longer matches because the file changed) stops the upload.
//!
//! Invariants: the upload is never completed unless every part was stored;
//! after a failure or Ctrl-C it is left in place, resumable, and the error
//! says so with its upload id and how many parts are stored.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use edgeswarm_protocol::publish::{
    CreateUpload, PartRecord, UploadCompleted, UploadStatus, MAX_PARTS,
};
use edgeswarm_protocol::services::encode_component;
use edgeswarm_protocol::{sha256_hex, Metadata};
use serde::Serialize;
use ureq::SendBody;

use crate::client::{self, Client, Failure};
use crate::pace::Pace;
use crate::{interrupt, progress};

/// Tries per part before giving up.
pub use client::ATTEMPTS;
/// First retry delay; doubled each time, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How to upload.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parts in flight at once (≥ 1).
    pub jobs: usize,
    /// Continue the upload in progress instead of starting over.
    pub resume: bool,
    /// Upper bound on the total upload rate, bytes per second.
    pub limit_rate: Option<u64>,
}

/// What the multipart upload did, for the JSON report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultipartReport {
    pub upload_id: String,
    pub part_size: u64,
    pub part_count: u32,
    /// Parts sent by this run.
    pub parts_uploaded: u32,
    /// Parts the server already had (`--resume`).
    pub parts_already_stored: u32,
    /// The parts as the worker stored them (its `complete` answer).
    pub parts: Vec<PartRecord>,
}

pub fn upload(
    client: &Client,
    meta: &Metadata,
    meta_bytes: &[u8],
    file: &Path,
    limit: u64,
    opts: &Options,
) -> anyhow::Result<MultipartReport> {
    let base = client.path("multipart");
    let existing = if opts.resume {
        status(client, &base)?
    } else {
        None
    };
    let wanted = sha256_hex(meta_bytes);
    let status = match existing {
        Some(s) if s.metadata_sha256 == wanted && s.file_size == meta.file_size() => s,
        _ => create(client, &base)?,
    };
    if status.part_count == 0 || status.part_count > MAX_PARTS || status.part_size > limit {
        anyhow::bail!("the server proposed an impossible part plan: {status:?}");
    }
    let stored: Vec<u32> = status.parts.iter().map(|p| p.part_number).collect();
    let missing: VecDeque<u32> = (1..=status.part_count)
        .filter(|n| !stored.contains(n))
        .collect();
    let bar = progress::bytes_bar(meta.file_size(), "uploading");
    bar.inc(status.parts.iter().map(|p| p.size).sum());
    let job = Job {
        client,
        file,
        status: &status,
        queue: Mutex::new(missing),
        failure: Mutex::new(None),
        uploaded: AtomicU32::new(0),
        bar: &bar,
        pace: opts.limit_rate.map(Pace::new),
    };
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| job.run());
        }
    });
    bar.finish_and_clear();
    let uploaded = job.uploaded.load(Ordering::SeqCst);
    let have = stored.len() as u32 + uploaded;
    let left = |why: &str| {
        format!(
            "{why}: upload {} of {} is left resumable ({have} of {} parts stored); \
             run the same command with --resume to finish it",
            status.upload_id,
            meta.content_id(),
            status.part_count
        )
    };
    if interrupt::requested() {
        return Err(interrupt::Interrupted(left("interrupted")).into());
    }
    if let Some(e) = job.failure.into_inner().ok().flatten() {
        return Err(e.context(left("a part failed")));
    }
    let path = format!(
        "{base}/complete?uploadId={}",
        encode_component(&status.upload_id)
    );
    let what = format!("POST {path}");
    let (_, body) = client::retrying(|| {
        let resp = client
            .agent
            .post(client.url(&path))
            .header("Authorization", client.auth())
            .send_empty();
        client::answer(&what, resp)
    })
    .map_err(|e| anyhow::anyhow!(left(&e.message)))?;
    let done: UploadCompleted = client::parse(&what, &body)?;
    Ok(MultipartReport {
        upload_id: status.upload_id.clone(),
        part_size: status.part_size,
        part_count: status.part_count,
        parts_uploaded: uploaded,
        parts_already_stored: stored.len() as u32,
        parts: done.parts,
    })
}

/// The upload in progress, if any.
fn status(client: &Client, base: &str) -> anyhow::Result<Option<UploadStatus>> {
    let what = format!("GET {base}");
    let got = client::retrying(|| {
        let resp = client
            .agent
            .get(client.url(base))
            .header("Authorization", client.auth())
            .call();
        client::answer(&what, resp)
    });
    match got {
        Ok((_, body)) => Ok(Some(client::parse(&what, &body)?)),
        Err(Failure {
            status: Some(404), ..
        }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn create(client: &Client, base: &str) -> anyhow::Result<UploadStatus> {
    let what = format!("POST {base}");
    let body = serde_json::to_string(&CreateUpload::default())?;
    let (_, body) = client::retrying(|| {
        let resp = client
            .agent
            .post(client.url(base))
            .header("Authorization", client.auth())
            .header("Content-Type", "application/json")
            .send(body.as_bytes());
        client::answer(&what, resp)
    })?;
    client::parse(&what, &body)
}

/// The shared state of the part-uploading threads.
struct Job<'a> {
    client: &'a Client,
    file: &'a Path,
    status: &'a UploadStatus,
    queue: Mutex<VecDeque<u32>>,
    failure: Mutex<Option<anyhow::Error>>,
    uploaded: AtomicU32,
    bar: &'a indicatif::ProgressBar,
    pace: Option<Pace>,
}

impl Job<'_> {
    fn stopped(&self) -> bool {
        interrupt::requested() || self.failure.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    fn run(&self) {
        loop {
            if self.stopped() {
                return;
            }
            let next = self.queue.lock().ok().and_then(|mut q| q.pop_front());
            let Some(n) = next else { return };
            match self.part_with_retries(n) {
                Ok(()) => {
                    self.uploaded.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    if let Ok(mut f) = self.failure.lock() {
                        f.get_or_insert(e);
                    }
                    return;
                }
            }
        }
    }

    fn part_with_retries(&self, n: u32) -> anyhow::Result<()> {
        let mut delay = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            if interrupt::requested() {
                anyhow::bail!("interrupted");
            }
            match self.part(n) {
                Ok(()) => return Ok(()),
                Err(e) if e.retryable && attempt < ATTEMPTS => {
                    client::backoff(delay);
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("part {n} failed after {attempt} attempt(s)")))
                }
            }
        }
        anyhow::bail!("part {n}: no attempt left")
    }

    fn part(&self, n: u32) -> Result<(), Failure> {
        let local = |message: String| Failure {
            message,
            retryable: false,
            status: None,
        };
        let size = self.status.part_size;
        let start = u64::from(n - 1) * size;
        let len = size.min(self.status.file_size.saturating_sub(start));
        let mut f = File::open(self.file)
            .and_then(|mut f| f.seek(SeekFrom::Start(start)).map(|_| f))
            .map_err(|e| local(format!("cannot read {}: {e}", self.file.display())))?;
        let mut body = PartReader {
            inner: (&mut f).take(len),
            remaining: len,
            sent: 0,
            bar: self.bar,
            pace: self.pace.as_ref(),
        };
        let path = format!(
            "{}/parts/{n}?uploadId={}",
            self.client.path("multipart"),
            encode_component(&self.status.upload_id)
        );
        let resp = self
            .client
            .agent
            .put(self.client.url(&path))
            .header("Authorization", self.client.auth())
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", len.to_string())
            .send(SendBody::from_reader(&mut body));
        let sent = body.sent;
        let result = client::answer(&format!("PUT {path}"), resp).map(|_| ());
        if result.is_err() {
            self.bar.dec(sent);
        }
        result
    }
}

/// Sends exactly `remaining` bytes of a part, counting them on the bar,
/// at the paced rate, and stops on Ctrl-C.
struct PartReader<'a, R> {
    inner: R,
    remaining: u64,
    sent: u64,
    bar: &'a indicatif::ProgressBar,
    pace: Option<&'a Pace>,
}

impl<R: Read> Read for PartReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = crate::upload::read_promised(&mut self.inner, self.remaining, buf)?;
        self.remaining = self.remaining.saturating_sub(n as u64);
        self.sent += n as u64;
        self.bar.inc(n as u64);
        if let Some(p) = self.pace {
            p.after(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_reader_fails_when_the_file_shrank() {
        let bar = indicatif::ProgressBar::hidden();
        let data = [1u8; 10];
        let mut r = PartReader {
            inner: &data[..],
            remaining: 20,
            sent: 0,
            bar: &bar,
            pace: None,
        };
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(r.sent, 10);
    }
}
