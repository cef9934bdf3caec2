//! The HTTP client of the publish routes: one ureq agent, the admin token,
//! the content's admin base path, and the one rule for reading answers.
//!
//! Invariants: redirects are not followed; every answer body read back is
//! bounded ([`MAX_ANSWER_BODY`]); a non-2xx answer becomes a [`Failure`]
//! naming the method, the route, the status and the server's
//! `error.message` on one line, and says whether trying again may help
//! (transport errors, 408, 429 and 5xx) or not (every other 4xx).

use std::time::Duration;

use anyhow::bail;
use edgeswarm_protocol::ContentId;
use serde::de::DeserializeOwned;
use ureq::http::Response;
use ureq::Body;

/// Longest answer body read back from the server.
pub const MAX_ANSWER_BODY: u64 = 1024 * 1024;

/// A failed request: what it was, and whether a retry may succeed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub message: String,
    pub retryable: bool,
    /// The HTTP status, if the server answered.
    pub status: Option<u16>,
}

/// The admin routes of one content id on one server.
pub struct Client {
    pub agent: ureq::Agent,
    base: String,
    auth: String,
    id: ContentId,
}

impl Client {
    pub fn new(server: &str, token: &str, id: &ContentId) -> anyhow::Result<Self> {
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
        Ok(Self {
            agent,
            base: base.to_owned(),
            auth: format!("Bearer {token}"),
            id: id.clone(),
        })
    }

    /// `/do/v1/admin/content/{id}/{what}`.
    pub fn path(&self, what: &str) -> String {
        format!("/do/v1/admin/content/{}/{what}", self.id)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn auth(&self) -> &str {
        &self.auth
    }
}

/// The answer body of a 2xx, or a [`Failure`]; `what` is e.g. `PUT /do/v1/…`.
pub fn answer(
    what: &str,
    resp: Result<Response<Body>, ureq::Error>,
) -> Result<(u16, String), Failure> {
    let mut resp = resp.map_err(|e| Failure {
        message: format!("{what} failed: {e}"),
        retryable: true,
        status: None,
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BODY)
        .read_to_string();
    if (200..300).contains(&status) {
        return body.map(|b| (status, b)).map_err(|e| Failure {
            message: format!("{what}: reading the answer: {e}"),
            retryable: true,
            status: Some(status),
        });
    }
    let body = body.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    let message = message.replace(['\r', '\n'], " ");
    let reason = resp.status().canonical_reason().unwrap_or("");
    Err(Failure {
        message: format!("{what} answered {status} {reason}: {message}"),
        retryable: status == 408 || status == 429 || status >= 500,
        status: Some(status),
    })
}

/// Calls `send` until it succeeds, fails for good, or [`ATTEMPTS`] tries
/// are spent, waiting 0.5 s, 1 s, 2 s, … (at most 8 s) between tries; stops
/// early on Ctrl-C. For requests that are safe to repeat.
pub fn retrying<T>(mut send: impl FnMut() -> Result<T, Failure>) -> Result<T, Failure> {
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match send() {
            Err(e) if e.retryable && attempt < ATTEMPTS && !crate::interrupt::requested() => {
                backoff(delay);
                delay = (delay * 2).min(Duration::from_secs(8));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Tries per request before giving up.
pub const ATTEMPTS: u32 = 5;

/// Waits `delay`, in short steps so Ctrl-C is prompt.
pub fn backoff(delay: Duration) {
    let until = std::time::Instant::now() + delay;
    while std::time::Instant::now() < until && !crate::interrupt::requested() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses a 2xx answer's JSON.
pub fn parse<T: DeserializeOwned>(what: &str, body: &str) -> anyhow::Result<T> {
    serde_json::from_str(body)
        .map_err(|e| anyhow::anyhow!("{what}: the server's answer is not what was expected: {e}"))
}
