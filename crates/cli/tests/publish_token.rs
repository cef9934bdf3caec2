//! Where `publish` takes its admin token from, and where it refuses to send
//! it: the token from stdin (`--token-stdin`) or `EDGESWARM_TOKEN` without a
//! warning, `--token` with one, and plain `http://` to a non-loopback host
//! refused before anything is sent (docs/security.md).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

use common::{json_ok, one_line_error};

/// A loopback server that answers 200 `{}` and records each request's
/// `Authorization` header.
struct Server {
    server: Arc<tiny_http::Server>,
    thread: JoinHandle<Vec<Option<String>>>,
    port: u16,
}

impl Server {
    fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let srv = server.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for mut req in srv.incoming_requests() {
                seen.push(
                    req.headers()
                        .iter()
                        .find(|h| h.field.equiv("Authorization"))
                        .map(|h| h.value.as_str().to_owned()),
                );
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let _ = req.respond(tiny_http::Response::from_string("{}"));
            }
            seen
        });
        Server {
            server,
            thread,
            port,
        }
    }

    fn finish(self) -> Vec<Option<String>> {
        self.server.unblock();
        self.thread.join().unwrap()
    }
}

/// Runs `publish` of a small file to `server` with `extra` arguments, the
/// environment token `env_token` and `stdin`.
fn publish(server: &str, extra: &[&str], env_token: Option<&str>, stdin: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), b"some bytes").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgeswarm"));
    cmd.args(["publish", "f.bin", "--content-id", "f", "--server", server])
        .args(extra)
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("EDGESWARM_TOKEN");
    if let Some(t) = env_token {
        cmd.env("EDGESWARM_TOKEN", t);
    }
    let mut child = cmd.spawn().expect("the edgeswarm binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn token_from_stdin_is_sent_without_a_warning() {
    let s = Server::start();
    let out = publish(
        &format!("http://127.0.0.1:{}", s.port),
        &["--token-stdin"],
        Some("from-env"),
        b"from-stdin\n",
    );
    json_ok(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = s.finish();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|a| a.as_deref() == Some("Bearer from-stdin")),
        "{seen:?}"
    );
}

#[test]
fn token_from_the_environment_is_sent_without_a_warning() {
    let s = Server::start();
    let out = publish(
        &format!("http://localhost:{}", s.port),
        &[],
        Some("from-env"),
        b"",
    );
    json_ok(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s
        .finish()
        .iter()
        .all(|a| a.as_deref() == Some("Bearer from-env")));
}

#[test]
fn token_on_the_command_line_still_works_but_warns() {
    let s = Server::start();
    let out = publish(
        &format!("http://127.0.0.1:{}", s.port),
        &["--token", "typed"],
        None,
        b"",
    );
    json_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("edgeswarm: warning: --token is visible"),
        "{stderr}"
    );
    assert!(s
        .finish()
        .iter()
        .all(|a| a.as_deref() == Some("Bearer typed")));
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused_before_sending() {
    // 0.0.0.0 is not a loopback address, yet Linux delivers a connection to
    // it to this machine's loopback listeners: without the refusal the token
    // would reach the server below (and never leave the machine).
    let s = Server::start();
    let out = publish(
        &format!("http://0.0.0.0:{}", s.port),
        &[],
        Some("secret"),
        b"",
    );
    let line = one_line_error(&out);
    assert!(
        line.contains("refusing to send the admin token over plain http:// to \"0.0.0.0\""),
        "{line}"
    );
    assert!(line.contains("127.0.0.0/8, ::1, localhost"), "{line}");
    assert_eq!(s.finish(), Vec::<Option<String>>::new(), "nothing was sent");
}

#[test]
fn token_stdin_without_a_token_is_a_one_line_error() {
    let out = publish("http://127.0.0.1:9", &["--token-stdin"], None, b"\n");
    let line = one_line_error(&out);
    assert!(line.contains("stdin holds no token"), "{line}");
}
