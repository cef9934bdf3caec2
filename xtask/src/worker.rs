//! The edge worker from xtask: its build, a local workerd ([`LocalWorker`]),
//! its end-to-end test layer and its benchmark.
//!
//! - [`build`]: `worker-build --release` in `edge-worker/` → `edge-worker/build`
//!   (the `main` of wrangler.toml), with the tool paths from setup so nothing
//!   is downloaded.
//! - [`LocalWorker`]: `wrangler dev --local` on 127.0.0.1, its own port,
//!   state directory, secrets file and `request.cf` data. Started in its own
//!   process group (or in the caller's, for `cargo xtask dev`, so the
//!   terminal's Ctrl-C reaches it); ready once `GET /do/v1/kv` answers 200
//!   (polled, no fixed sleep); the whole group is stopped on drop.
//! - [`test_layer`]: builds the worker and the CLI, starts a fresh
//!   LocalWorker with a test token, small array limits and an 8 MiB upload
//!   limit, runs `node --test tests/worker/`, stops it.
//! - [`bench`]: starts a LocalWorker and runs `tests/worker/bench/bench.mjs`,
//!   which prints the figures as JSON (docs/bench/worker.md);
//!   [`bench_publish`]: the same with `tests/worker/bench/publish.mjs`
//!   (docs/bench/publish.md).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd::{repo_root, run, step};
use crate::setup::Tools;

/// How long wrangler may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// The content-free route polled for readiness.
const READY_PATH: &str = "/do/v1/kv";

/// Builds `edge-worker/build` with worker-build, offline.
pub fn build(tools: &Tools) -> Result<()> {
    step("worker: worker-build --release");
    run(Command::new(&tools.worker_build)
        .arg("--release")
        .current_dir(repo_root().join("edge-worker"))
        .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
        .env("WASM_OPT_BIN", &tools.wasm_opt)
        .env("ESBUILD_BIN", &tools.esbuild))
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// How to start a [`LocalWorker`].
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub port: u16,
    /// Where workerd keeps R2, Durable Object and KV state (`--persist-to`).
    pub state_dir: PathBuf,
    /// Written to a private env file as `ADMIN_TOKEN`; `None` = use `.dev.vars`.
    pub admin_token: Option<String>,
    /// `request.cf` as JSON (country, colo, …); `None` = miniflare's fallback.
    pub cf_json: Option<String>,
    /// Extra `--var NAME:VALUE` overrides.
    pub vars: Vec<(String, String)>,
    /// Where wrangler's output goes; `None` = inherit the terminal.
    pub log: Option<PathBuf>,
    /// Own process group (tests) or the caller's (dev, so Ctrl-C reaches it).
    pub own_group: bool,
}

/// A running `wrangler dev`; stopped (whole process group) on drop.
pub struct LocalWorker {
    pub url: String,
    child: Child,
    own_group: bool,
}

impl LocalWorker {
    /// Starts wrangler and waits until the worker answers.
    pub fn start(tools: &Tools, opts: &WorkerOptions) -> Result<Self> {
        let root = repo_root();
        std::fs::create_dir_all(&opts.state_dir)?;
        let mut cmd = Command::new(&tools.wrangler);
        cmd.args(["dev", "--local", "--ip", "127.0.0.1", "--port"])
            .arg(opts.port.to_string())
            .args(["--show-interactive-dev-session=false", "--persist-to"])
            .arg(&opts.state_dir)
            .current_dir(&root)
            .env("WRANGLER_SEND_METRICS", "false")
            // A dev registry of its own: wrangler reloads a running worker
            // (503 "Your worker restarted mid-request" to requests in flight)
            // when another `wrangler dev` of the same worker name registers
            // or leaves the shared registry (docs/deploy.md).
            .env("WRANGLER_REGISTRY_PATH", opts.state_dir.join("registry"))
            .stdin(Stdio::null());
        if let Some(token) = &opts.admin_token {
            let env_file = opts.state_dir.join("dev.vars");
            std::fs::write(&env_file, format!("ADMIN_TOKEN={token}\n"))?;
            cmd.arg("--env-file").arg(env_file);
        }
        for (k, v) in &opts.vars {
            cmd.arg("--var").arg(format!("{k}:{v}"));
        }
        // A custom cf file is read only while cf fetching is not disabled
        // (miniflare); without one, disabling it selects the fallback data.
        match &opts.cf_json {
            Some(cf) => {
                let cf_path = opts.state_dir.join("cf.json");
                std::fs::write(&cf_path, cf)?;
                cmd.env("CLOUDFLARE_CF_FETCH_PATH", cf_path);
            }
            None => {
                cmd.env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
            }
        }
        if let Some(log) = &opts.log {
            let f = File::create(log).with_context(|| format!("creating {}", log.display()))?;
            cmd.stdout(f.try_clone()?).stderr(f);
        }
        if opts.own_group {
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", tools.wrangler.display()))?;
        let mut worker = LocalWorker {
            url: format!("http://127.0.0.1:{}", opts.port),
            child,
            own_group: opts.own_group,
        };
        worker.wait_ready(opts.port, opts.log.as_deref())?;
        Ok(worker)
    }

    fn wait_ready(&mut self, port: u16, log: Option<&Path>) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if http_status(port, READY_PATH) == Some(200) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "wrangler exited with {status} before it was ready{}",
                    log_hint(log)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "wrangler was not ready within {READY_TIMEOUT:?}{}",
                    log_hint(log)
                );
            }
            // Polling interval, not a wait for a result.
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Blocks until wrangler exits by itself (dev: Ctrl-C).
    pub fn wait(&mut self) -> Result<std::process::ExitStatus> {
        Ok(self.child.wait()?)
    }

    /// Stops wrangler and every process it started.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let target = if self.own_group {
            format!("-{}", self.child.id())
        } else {
            self.child.id().to_string()
        };
        let _ = Command::new("kill").args(["-TERM", "--", &target]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (workerd) is killed outright.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &target])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for LocalWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_hint(log: Option<&Path>) -> String {
    log.map(|l| format!("; see {}", l.display()))
        .unwrap_or_default()
}

/// The status code of `GET path` on 127.0.0.1:port, or `None` if it fails.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `request.cf` the tests expect from /geo.
pub const TEST_CF: &str =
    r#"{"country":"NL","colo":"AMS","continent":"EU","region":"North Holland","city":"Amsterdam"}"#;

/// A fresh directory under `target/worker-runs/`.
fn fresh_dir(name: &str) -> Result<PathBuf> {
    let dir = repo_root()
        .join("target/worker-runs")
        .join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Builds the worker, starts a private wrangler dev (fresh state under
/// `target/worker-runs/{name}-…`, a token, the test cf data and `vars`), runs
/// the node command `args` against it, and stops it.
fn run_node_against_worker(
    tools: &Tools,
    name: &str,
    vars: &[(&str, &str)],
    args: &[&str],
) -> Result<()> {
    build(tools)?;
    let dir = fresh_dir(name)?;
    let token = format!("{name}-token-{}", std::process::id());
    step(&format!("worker: starting wrangler dev ({name})"));
    let worker = LocalWorker::start(
        tools,
        &WorkerOptions {
            port: free_port()?,
            state_dir: dir.join("state"),
            admin_token: Some(token.clone()),
            cf_json: Some(TEST_CF.into()),
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            log: Some(dir.join("wrangler.log")),
            own_group: true,
        },
    )?;
    step(&format!(
        "worker: node {} against {}",
        args.join(" "),
        worker.url
    ));
    let result = run(Command::new("node")
        .args(args)
        .env(
            "EDGESWARM_BIN",
            repo_root().join("target/release/edgeswarm"),
        )
        .env("EDGESWARM_WORKER_URL", &worker.url)
        .env("EDGESWARM_ADMIN_TOKEN", &token)
        .env("EDGESWARM_TEST_CF", TEST_CF)
        .env("EDGESWARM_BENCH_DIR", &dir));
    drop(worker);
    result.with_context(|| format!("{name} failed; wrangler log in {}", dir.display()))
}

/// The upload limit of the test workers (8 MiB): files above it are
/// published in parts, as production's 95 MiB would make them.
pub const TEST_MAX_UPLOAD_BYTES: &str = "8388608";

/// `node --test tests/worker/` against a fresh local worker with small array
/// limits, so the caps and the flood protection can be tested, and a small
/// upload limit, so multipart publishing can be (the CLI is built for it).
pub fn test_layer(tools: &Tools) -> Result<()> {
    step("worker: build the edgeswarm CLI (multipart publish tests)");
    run(crate::cmd::cargo().args(["build", "--release", "-p", "edgeswarm-cli"]))?;
    run_node_against_worker(
        tools,
        "test",
        &[
            ("MAX_UPLOAD_BYTES", TEST_MAX_UPLOAD_BYTES),
            ("ARRAY_MAX_PEERS", "6"),
            ("ARRAY_MAX_MESSAGE_BYTES", "4096"),
            ("ARRAY_MESSAGES_PER_SECOND", "20"),
            ("ARRAY_BURST", "40"),
            // A short idle deadline, so the eviction of silent sockets can be
            // shown within a test.
            ("ARRAY_IDLE_MS", "3000"),
        ],
        &["--test", "--test-concurrency=1", "tests/worker/"],
    )
}

/// The worker figures: array latency and throughput at N = 10, 100, 500
/// WebSocket clients; 1 GiB of Range requests against a static file server.
/// The benchmark measures the array, not its rate limit, so that is lifted.
pub fn bench(tools: &Tools) -> Result<()> {
    run_node_against_worker(
        tools,
        "bench",
        &[
            ("ARRAY_MAX_PEERS", "1000"),
            ("ARRAY_MESSAGES_PER_SECOND", "100000"),
            ("ARRAY_BURST", "100000"),
        ],
        &["tests/worker/bench/bench.mjs"],
    )
}

/// `cargo xtask bench publish-server`: the real CLI publishes a 2 GiB file
/// (`BENCH_FILE_MIB`) to a fresh local worker with production's upload limit
/// (or `MAX_UPLOAD_BYTES` from the environment), measuring wall time and the
/// peak RSS of the CLI and of workerd (docs/bench/publish.md).
pub fn bench_publish(tools: &Tools) -> Result<()> {
    step("bench: build the edgeswarm CLI (release)");
    run(crate::cmd::cargo().args(["build", "--release", "-p", "edgeswarm-cli"]))?;
    let limit = std::env::var("MAX_UPLOAD_BYTES").unwrap_or_else(|_| "99614720".into());
    run_node_against_worker(
        tools,
        "bench-publish",
        &[("MAX_UPLOAD_BYTES", &limit)],
        &["tests/worker/bench/publish.mjs"],
    )
}
