//! The browser layers: building the client package, its wasm-bindgen tests in
//! headless Chromium, the end-to-end swarm tests, and the browser benchmarks.
//!
//! - [`build_client`]: `client-wasm` → `www/pkg` (cargo build for wasm32,
//!   `wasm-bindgen --target web`, npm binaryen's `wasm-opt`).
//! - [`wasm_test_layer`]: `cargo test --target wasm32-unknown-unknown -p client-wasm`
//!   through `wasm-bindgen-test-runner` + chromedriver, with Chrome's flags
//!   from the repo's `webdriver.json`.
//! - [`e2e_layer`]: builds the client, a second *malicious* client (test-only
//!   feature, its own target dir, never written to `www/`), the npm package
//!   (`crate::pack`, from `www/pkg`), the edge worker and the CLI, then
//!   runs `tests/e2e/run.mjs`: it starts real workerd
//!   (`wrangler dev` on 127.0.0.1, the same way as `worker::LocalWorker`, but
//!   from inside the namespace) and runs `node --test` on the e2e files, which
//!   drive several headless Chromium pages. As root, everything runs inside a
//!   loopback-only network namespace (`unshare -n`), so no packet can leave.
//! - [`bench`]: the browser benchmarks (`tests/e2e/bench/bench.mjs`), JSON on
//!   stdout; scenario names after `browser` select some of them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, output, repo_root, run, step};
use crate::setup::Tools;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The feature that makes a client corrupt what it serves (tests only).
const MALICIOUS_FEATURE: &str = "malicious-corrupt-serving";

/// Builds `www/pkg` (the client package the demo page imports).
pub fn build_client(tools: &Tools) -> Result<()> {
    let root = repo_root();
    build_package(tools, &[], &root.join("target"), &root.join("www/pkg"))
}

/// Builds the test-only malicious client into `target/e2e/malicious-pkg`.
fn build_malicious_client(tools: &Tools) -> Result<PathBuf> {
    let root = repo_root();
    let out = root.join("target/e2e/malicious-pkg");
    build_package(
        tools,
        &["--features", MALICIOUS_FEATURE],
        &root.join("target/malicious"),
        &out,
    )?;
    Ok(out)
}

fn build_package(tools: &Tools, extra: &[&str], target_dir: &Path, out_dir: &Path) -> Result<()> {
    step(&format!(
        "browser: build client-wasm {extra:?} → {}",
        out_dir.display()
    ));
    run(cargo()
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "-p",
            "client-wasm",
        ])
        .args(extra)
        .arg("--target-dir")
        .arg(target_dir))?;
    let wasm = target_dir
        .join(WASM_TARGET)
        .join("release/client_wasm.wasm");
    run(Command::new(&tools.wasm_bindgen)
        .args(["--target", "web", "--out-dir"])
        .arg(out_dir)
        .arg(&wasm))?;
    let bg = out_dir.join("client_wasm_bg.wasm");
    run(Command::new(&tools.wasm_opt)
        .args([
            "-Os",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
        ])
        .args([
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
        ])
        .args(["--enable-multivalue", "-o"])
        .arg(&bg)
        .arg(&bg))?;
    let size = std::fs::metadata(&bg).map(|m| m.len()).unwrap_or(0);
    eprintln!("{}: {} KiB", bg.display(), size / 1024);
    Ok(())
}

fn chromium_tools(tools: &Tools) -> Result<(PathBuf, PathBuf)> {
    match (&tools.chromium, &tools.chromedriver) {
        (Some(b), Some(d)) => Ok((b.clone(), d.clone())),
        _ => bail!(
            "chromium and chromedriver are required (cargo xtask setup installs them as root)"
        ),
    }
}

/// `PATH` with the directory of `tool` first.
fn path_with(tool: &Path) -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = tool.parent().map(Path::to_path_buf).into_iter().collect();
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// wasm-bindgen-test in headless Chromium: the glue modules against real browser APIs.
pub fn wasm_test_layer(tools: &Tools) -> Result<()> {
    let (_, driver) = chromium_tools(tools)?;
    let root = repo_root();
    run(cargo()
        .args(["test", "--target", WASM_TARGET, "-p", "client-wasm"])
        .env("PATH", path_with(&tools.wasm_bindgen_test_runner))
        .env("CHROMEDRIVER", driver)
        .env(
            "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
            root.join("webdriver.json"),
        )
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))
}

/// Everything the node e2e/bench scripts need, built, with their environment.
fn prepare_node_run(tools: &Tools) -> Result<Command> {
    let (browser, _) = chromium_tools(tools)?;
    let root = repo_root();
    build_client(tools)?;
    let npm_package = crate::pack::pack_built()?;
    let malicious = build_malicious_client(tools)?;
    crate::worker::build(tools)?;
    step("browser: build the edgeswarm CLI (publishes the test files)");
    run(cargo().args(["build", "--release", "-p", "edgeswarm-cli"]))?;
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    let has_unshare = Path::new("/usr/bin/unshare").exists()
        && (Path::new("/usr/sbin/ip").exists() || Path::new("/sbin/ip").exists());
    let mut cmd = if is_root && has_unshare && std::env::var_os("EDGESWARM_NO_NETNS").is_none() {
        // Loopback only: nothing these tests do can reach another machine.
        let mut c = Command::new("unshare");
        c.args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
            "node",
        ]);
        c
    } else {
        Command::new("node")
    };
    cmd.current_dir(&root)
        .env("CHROMIUM", browser)
        .env("WRANGLER", &tools.wrangler)
        .env("EDGESWARM_BIN", root.join("target/release/edgeswarm"))
        .env("E2E_MALICIOUS_PKG", malicious)
        .env("E2E_NPM_PACKAGE", npm_package)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    Ok(cmd)
}

/// The end-to-end swarm tests: real workerd + several headless Chromium pages.
pub fn e2e_layer(tools: &Tools) -> Result<()> {
    let mut cmd = prepare_node_run(tools)?;
    step("browser: node tests/e2e/run.mjs (wrangler dev + node --test tests/e2e/*.test.mjs, tests/e2e/bench/*.test.mjs)");
    run(cmd.arg("tests/e2e/run.mjs")).context("end-to-end swarm tests failed")
}

/// Browser benchmarks (docs/bench/browser.md); prints JSON lines.
/// `scenarios` (e.g. `shared`) select some; none = all.
pub fn bench(tools: &Tools, scenarios: &[String]) -> Result<()> {
    let mut cmd = prepare_node_run(tools)?;
    step(&format!(
        "browser: node tests/e2e/bench/bench.mjs {}",
        scenarios.join(" ")
    ));
    run(cmd.arg("tests/e2e/bench/bench.mjs").args(scenarios))
}
