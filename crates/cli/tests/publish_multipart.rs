//! `edgeswarm publish --server` for a file above the server's upload limit,
//! against a loopback HTTP server (tiny_http) that plays the worker's
//! multipart routes: the CLI learns the limit from the metadata answer,
//! sends every part once with the right bytes (retrying one that got a
//! 503), completes only after all parts and publishes the policy last.
//! Also: the token from `EDGESWARM_TOKEN`, `--out` creating its directory,
//! and the exit codes in `--help`.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{json_ok, test_bytes};

const MIB: usize = 1024 * 1024;

struct Seen {
    method: String,
    url: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

/// A fake worker: limit 5 MiB, parts of 5 MiB; part 2 fails once with 503.
fn fake_worker(
    file_size: usize,
) -> (
    String,
    Arc<tiny_http::Server>,
    std::thread::JoinHandle<Vec<Seen>>,
) {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let srv = server.clone();
    let part_size = 5 * MIB;
    let parts = file_size.div_ceil(part_size);
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut failed_once = false;
        let records: Mutex<HashMap<u32, usize>> = Mutex::default();
        for mut req in srv.incoming_requests() {
            let authorization = req
                .headers()
                .iter()
                .find(|h| {
                    h.field
                        .as_str()
                        .as_str()
                        .eq_ignore_ascii_case("authorization")
                })
                .map(|h| h.value.as_str().to_owned());
            let mut body = Vec::new();
            req.as_reader().read_to_end(&mut body).unwrap();
            let url = req.url().to_owned();
            let method = req.method().to_string();
            let path = url.split('?').next().unwrap().to_owned();
            let status_json = serde_json::json!({
                "contentId": "big", "uploadId": "up/1", "metadataSha256": "00",
                "fileSize": file_size, "partSize": part_size, "partCount": parts,
                "maxUploadBytes": part_size, "parts": [],
            });
            let (code, reply) = if path.ends_with("/metadata") {
                (201, serde_json::json!({ "maxUploadBytes": part_size }))
            } else if path.ends_with("/multipart") && method == "GET" {
                (
                    404,
                    serde_json::json!({"error": {"code": "no_upload", "message": "none"}}),
                )
            } else if path.ends_with("/multipart") && method == "POST" {
                (201, status_json)
            } else if path.contains("/multipart/parts/") {
                assert!(url.contains("uploadId=up%2F1"), "{url}");
                let n: u32 = path.rsplit('/').next().unwrap().parse().unwrap();
                if n == 2 && !failed_once {
                    failed_once = true;
                    (
                        503,
                        serde_json::json!({"error": {"code": "internal", "message": "try later"}}),
                    )
                } else {
                    records.lock().unwrap().insert(n, body.len());
                    (
                        201,
                        serde_json::json!({"partNumber": n, "size": body.len(), "etag": format!("e{n}"), "uploadedAt": 1}),
                    )
                }
            } else if path.ends_with("/multipart/complete") {
                let recs = records.lock().unwrap();
                assert_eq!(recs.len(), parts, "complete before every part was stored");
                let list: Vec<_> = recs
                    .iter()
                    .map(|(n, s)| serde_json::json!({"partNumber": n, "size": s, "etag": format!("e{n}"), "uploadedAt": 1}))
                    .collect();
                (
                    201,
                    serde_json::json!({"contentId": "big", "fileSize": file_size, "partCount": parts, "parts": list}),
                )
            } else {
                (201, serde_json::json!({}))
            };
            seen.push(Seen {
                method,
                url,
                authorization,
                body,
            });
            let resp = tiny_http::Response::from_string(reply.to_string()).with_status_code(code);
            req.respond(resp).unwrap();
        }
        seen
    });
    (format!("http://127.0.0.1:{port}"), server, thread)
}

#[test]
fn a_file_above_the_limit_goes_up_in_parts_with_a_retry() {
    let size = 12 * MIB + 77;
    let data = test_bytes(size, 9);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let (url, server, thread) = fake_worker(size);
    let out = Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
        .args([
            "publish",
            "big.bin",
            "--content-id",
            "big",
            "--server",
            &url,
            "--jobs",
            "2",
        ])
        .env("EDGESWARM_TOKEN", "from-env")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = json_ok(&out);
    server.unblock();
    let seen = thread.join().unwrap();

    assert!(seen
        .iter()
        .all(|s| s.authorization.as_deref() == Some("Bearer from-env")));
    let first = &seen[0];
    assert!(first.url.ends_with("/metadata") && first.method == "PUT");
    let last = seen.last().unwrap();
    assert!(
        last.url.ends_with("/policy"),
        "policy last, got {}",
        last.url
    );
    let complete = seen
        .iter()
        .position(|s| s.url.contains("/complete"))
        .unwrap();
    assert_eq!(complete, seen.len() - 2, "complete right before the policy");
    assert!(
        !seen.iter().any(|s| s.url.ends_with("/data")),
        "no single PUT"
    );

    let mut stored: HashMap<u32, Vec<&[u8]>> = HashMap::new();
    for s in &seen {
        if let Some(n) = s.url.split('?').next().unwrap().split("/parts/").nth(1) {
            stored.entry(n.parse().unwrap()).or_default().push(&s.body);
        }
    }
    assert_eq!(stored.len(), 3);
    for (n, bodies) in &stored {
        let start = (*n as usize - 1) * 5 * MIB;
        let end = (start + 5 * MIB).min(size);
        for b in bodies {
            assert!(*b == &data[start..end], "part {n} carries the wrong bytes");
        }
    }
    assert_eq!(stored[&2].len(), 2, "part 2 retried once after the 503");
    assert_eq!(stored[&1].len(), 1);
    assert_eq!(report["upload"]["mode"], "multipart");
    assert_eq!(report["upload"]["maxUploadBytes"], 5 * MIB);
    assert_eq!(report["upload"]["multipart"]["partsUploaded"], 3);
    assert_eq!(report["upload"]["multipart"]["partCount"], 3);
}

#[test]
fn out_dir_and_its_parents_are_created() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), test_bytes(1000, 1)).unwrap();
    let out = common::edgeswarm(
        dir.path(),
        &[
            "publish",
            "f.bin",
            "--content-id",
            "f",
            "--out",
            "meta/deep/er",
        ],
    );
    let report = json_ok(&out);
    assert!(dir.path().join("meta/deep/er/f.meta").is_file());
    assert_eq!(report["metadataFile"], "meta/deep/er/f.meta");
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["publish", "--help"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        for line in [
            "0    success",
            "1    failure",
            "2    usage",
            "130  interrupted",
        ] {
            assert!(help.contains(line), "{args:?} help lacks {line:?}:\n{help}");
        }
    }
    let publish = Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
        .args(["publish", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&publish.stdout);
    assert!(help.contains("EDGESWARM_TOKEN"), "{help}");
    assert!(
        help.contains("--resume") && help.contains("--jobs"),
        "{help}"
    );
}

#[test]
fn server_without_any_token_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), b"x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
        .args([
            "publish",
            "f.bin",
            "--content-id",
            "f",
            "--server",
            "http://127.0.0.1:9",
        ])
        .env_remove("EDGESWARM_TOKEN")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}
