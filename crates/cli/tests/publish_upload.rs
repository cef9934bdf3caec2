//! `edgeswarm publish --server URL` (token in `EDGESWARM_TOKEN`) against a small HTTP server on
//! 127.0.0.1 (tiny_http) that records every request: the three PUTs, their
//! order, token and bodies, and a server error surfacing as one line.

mod common;

use std::sync::Arc;
use std::thread::JoinHandle;

use common::{json_ok, one_line_error, test_bytes};

#[derive(Debug)]
struct Recorded {
    method: String,
    url: String,
    authorization: Option<String>,
    content_length: Option<String>,
    body: Vec<u8>,
}

/// A loopback server answering each request with `answer(url)` = (status, body).
struct Recorder {
    server: Arc<tiny_http::Server>,
    thread: JoinHandle<Vec<Recorded>>,
    url: String,
}

impl Recorder {
    fn start(answer: fn(&str) -> (u16, &'static str)) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let srv = server.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for mut req in srv.incoming_requests() {
                let header = |name: &str| {
                    req.headers()
                        .iter()
                        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                        .map(|h| h.value.as_str().to_owned())
                };
                let (authorization, content_length) =
                    (header("Authorization"), header("Content-Length"));
                let mut body = Vec::new();
                req.as_reader().read_to_end(&mut body).unwrap();
                let (status, reply) = answer(req.url());
                seen.push(Recorded {
                    method: req.method().to_string(),
                    url: req.url().to_owned(),
                    authorization,
                    content_length,
                    body,
                });
                let resp = tiny_http::Response::from_string(reply).with_status_code(status);
                req.respond(resp).unwrap();
            }
            seen
        });
        Recorder {
            server,
            thread,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Stops the server (the CLI has exited) and returns what it saw.
    fn finish(self) -> Vec<Recorded> {
        self.server.unblock();
        self.thread.join().unwrap()
    }
}

/// Publishes with the token in `EDGESWARM_TOKEN` (no `--token` warning).
fn publish_to(dir: &std::path::Path, server: &str, data: &[u8]) -> std::process::Output {
    std::fs::write(dir.join("movie.bin"), data).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
        .args([
            "publish",
            "movie.bin",
            "--content-id",
            "movie-1",
            "--piece-size",
            "16384",
            "--server",
            server,
        ])
        .env("EDGESWARM_TOKEN", "s3cret")
        .current_dir(dir)
        .output()
        .expect("the edgeswarm binary runs")
}

#[test]
fn uploads_metadata_then_data_then_policy() {
    let rec = Recorder::start(|_| (200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let data = test_bytes(3 * 1024 * 1024 + 11, 42);
    let out = publish_to(dir.path(), &format!("{}/", rec.url), &data);
    let report = json_ok(&out);
    let seen = rec.finish();

    let base = "/do/v1/admin/content/movie-1";
    let urls: Vec<&str> = seen.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            format!("{base}/metadata"),
            format!("{base}/data"),
            format!("{base}/policy")
        ]
    );
    for r in &seen {
        assert_eq!(r.method, "PUT");
        assert_eq!(r.authorization.as_deref(), Some("Bearer s3cret"));
    }
    let meta = std::fs::read(dir.path().join("movie-1.meta")).unwrap();
    assert_eq!(seen[0].body, meta);
    assert_eq!(seen[1].body, data);
    assert_eq!(
        seen[1].content_length.as_deref(),
        Some(data.len().to_string().as_str())
    );
    let policy: serde_json::Value = serde_json::from_slice(&seen[2].body).unwrap();
    assert_eq!(policy, serde_json::json!({"p2pAllowed": true}));
    assert_eq!(report["metadataSha256"], hex::encode(common::sha256(&meta)));
}

#[test]
fn rejected_token_stops_at_the_first_route_with_the_server_message() {
    let rec = Recorder::start(|_| {
        (
            401,
            r#"{"error":{"code":"unauthorized","message":"missing or wrong token"}}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let line = one_line_error(&publish_to(dir.path(), &rec.url, &test_bytes(1000, 1)));
    let seen = rec.finish();
    assert_eq!(seen.len(), 1, "nothing after a refused metadata upload");
    assert!(
        line.contains("/do/v1/admin/content/movie-1/metadata"),
        "{line}"
    );
    assert!(line.contains("401"), "{line}");
    assert!(line.contains("missing or wrong token"), "{line}");
}

#[test]
fn failed_data_upload_names_the_data_route_and_skips_the_policy() {
    let rec = Recorder::start(|url| {
        if url.ends_with("/data") {
            (
                413,
                r#"{"error":{"code":"too_large","message":"body over the limit"}}"#,
            )
        } else {
            (200, "{}")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let line = one_line_error(&publish_to(dir.path(), &rec.url, &test_bytes(50_000, 2)));
    let seen = rec.finish();
    assert_eq!(
        seen.len(),
        2,
        "the policy is not published after a failed upload"
    );
    assert!(line.contains("/data answered 413"), "{line}");
    assert!(line.contains("body over the limit"), "{line}");
}

#[test]
fn unreachable_server_is_a_one_line_error() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let line = one_line_error(&publish_to(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        &test_bytes(10, 3),
    ));
    assert!(
        line.contains("PUT /do/v1/admin/content/movie-1/metadata failed"),
        "{line}"
    );
}
