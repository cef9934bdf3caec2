//! `cargo xtask bench [all|publish|publish-server|engine|worker|browser]`: runs the benchmarks
//! and prints one JSON object per figure on stdout. `cargo xtask bench browser
//! SCENARIO...` passes the scenario names on to `tests/e2e/bench/bench.mjs`
//! (e.g. `shared`, `webtorrent`, `swarm`).
//!
//! Benchmarks measure; they never assert. BENCHMARKS.md records the figures and
//! how each one is reproduced.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, cargo, repo_root, step};
use crate::{browser, setup, worker};

const BENCHES: &[&str] = &["publish", "publish-server", "engine", "worker", "browser"];

pub fn run(args: &[String]) -> Result<()> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    if which != "all" && !BENCHES.contains(&which) {
        bail!("usage: cargo xtask bench [all|{}]", BENCHES.join("|"));
    }
    let wants = |name: &str| which == "all" || which == name;
    if wants("publish") {
        publish()?;
    }
    if wants("publish-server") {
        worker::bench_publish(&setup::ensure()?)?;
    }
    if wants("engine") {
        step("bench: engine and simulator");
        cmd::run(cargo().args([
            "run",
            "--release",
            "-q",
            "-p",
            "edgeswarm-sim",
            "--example",
            "bench",
        ]))?;
    }
    if wants("worker") {
        worker::bench(&setup::ensure()?)?;
    }
    if wants("browser") {
        browser::bench(&setup::ensure()?, args.get(1..).unwrap_or_default())?;
    }
    Ok(())
}

/// `edgeswarm publish` of a 1 GiB file against `sha256sum` of the same file,
/// best of three runs each, page cache warm for both.
fn publish() -> Result<()> {
    step("bench: publish 1 GiB vs sha256sum");
    cmd::run(cargo().args(["build", "--release", "-q", "-p", "edgeswarm-cli"]))?;
    let root = repo_root();
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("publish-1GiB.bin");
    const SIZE: u64 = 1 << 30;
    crate::dev::write_demo_file(&file, SIZE)?;
    let edgeswarm = root.join("target/release/edgeswarm");
    let mut sha = Command::new("sha256sum");
    sha.arg(&file);
    let mut publish = Command::new(&edgeswarm);
    publish
        .arg("publish")
        .arg(&file)
        .args(["--content-id", "bench", "--out"])
        .arg(&dir);
    let sha_s = best_of(3, &mut sha)?;
    let publish_s = best_of(3, &mut publish)?;
    println!(
        "{{\"bench\":\"publish\",\"fileBytes\":{SIZE},\"sha256sumSeconds\":{sha_s:.3},\"publishSeconds\":{publish_s:.3},\"ratio\":{:.3}}}",
        publish_s / sha_s
    );
    Ok(())
}

/// Seconds of the fastest of `n` runs of `cmd` (stdout discarded).
fn best_of(n: usize, cmd: &mut Command) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let start = Instant::now();
        let status = cmd
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("starting {cmd:?}"))?;
        if !status.success() {
            bail!("{cmd:?} failed with {status}");
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}
