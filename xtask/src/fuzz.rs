//! `cargo xtask fuzz [TARGET] [CPU-SECONDS]`: the libFuzzer targets in
//! `fuzz/` on the stable toolchain, each until it has used CPU-SECONDS of
//! CPU time (default 600), not part of `cargo xtask test`.
//!
//! How (fuzz/README.md): `cargo build --release` of the fuzz crate for the
//! host triple (so build scripts stay uninstrumented) with the coverage
//! instrumentation cargo-fuzz uses, passed as stable `-C` flags
//! (`-Cpasses=sancov-module` + `-Cllvm-args=-sanitizer-coverage-*`), plus
//! `--cfg fuzzing`, debug assertions and overflow checks. libfuzzer-sys
//! links libFuzzer itself. No AddressSanitizer: `-Zsanitizer` is nightly-only
//! and the fuzzed crate has no `unsafe`.
//!
//! Each run: corpus `fuzz/corpus/<target>/`, crashes to
//! `fuzz/artifacts/<target>/`, libFuzzer's output to
//! `target/fuzz-runs/<target>.log`. The run is polled once a second
//! (`/proc/<pid>/stat`, user + system time) and interrupted (SIGINT, so
//! libFuzzer prints its final stats) once its CPU budget is used. Any other
//! exit is a failure (a crash, a failed assertion, an out-of-memory).
//! Prints one summary line per target: CPU time, executions, corpus, crashes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, output, repo_root, run, step};

/// Every target in fuzz/Cargo.toml.
pub const TARGETS: &[&str] = &["metadata_decode", "wire_decode", "signal_inputs"];
/// CPU seconds per target unless given.
const DEFAULT_CPU_SECONDS: u64 = 600;
/// libFuzzer's exit code when interrupted (its `-interrupted_exitcode` default).
const INTERRUPTED_EXIT: i32 = 72;

const SANCOV_FLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// One finished run's figures, from libFuzzer's final stats.
#[derive(Debug, Default)]
struct Figures {
    cpu_seconds: f64,
    wall_seconds: f64,
    execs: u64,
    execs_per_sec: u64,
    corpus: u64,
    peak_rss_mb: u64,
}

pub fn run_task(args: &[String]) -> Result<()> {
    let (targets, seconds): (Vec<&str>, u64) = match args {
        [] => (TARGETS.to_vec(), DEFAULT_CPU_SECONDS),
        [t] => (vec![target_name(t)?], DEFAULT_CPU_SECONDS),
        [t, s] => (
            vec![target_name(t)?],
            s.parse().context("CPU-SECONDS must be a whole number")?,
        ),
        _ => bail!("usage: cargo xtask fuzz [TARGET] [CPU-SECONDS]  (targets: {TARGETS:?})"),
    };
    let root = repo_root();
    let fuzz_dir = root.join("fuzz");
    let host = host_triple()?;
    step(&format!("fuzz: build {targets:?} (sancov, {host})"));
    let mut build = cargo();
    build
        .args(["build", "--release", "--target", &host, "--manifest-path"])
        .arg(fuzz_dir.join("Cargo.toml"))
        .env("RUSTFLAGS", SANCOV_FLAGS.join(" "))
        .env("CARGO_TARGET_DIR", fuzz_dir.join("target"));
    for t in &targets {
        build.args(["--bin", t]);
    }
    run(&mut build)?;
    let logs = root.join("target/fuzz-runs");
    std::fs::create_dir_all(&logs)?;
    let mut summary = Vec::new();
    for t in targets {
        let bin = fuzz_dir.join("target").join(&host).join("release").join(t);
        let f = fuzz_one(&fuzz_dir, &bin, t, seconds, &logs.join(format!("{t}.log")))?;
        summary.push(format!(
            "{t}: {:.0} CPU-s ({:.0} s wall), {} execs ({}/s), corpus {}, peak RSS {} MB, 0 crashes",
            f.cpu_seconds, f.wall_seconds, f.execs, f.execs_per_sec, f.corpus, f.peak_rss_mb
        ));
    }
    println!("{}", summary.join("\n"));
    Ok(())
}

fn target_name(t: &str) -> Result<&'static str> {
    TARGETS
        .iter()
        .copied()
        .find(|x| *x == t)
        .with_context(|| format!("unknown fuzz target {t:?}; targets: {TARGETS:?}"))
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    output(Command::new(rustc).arg("-vV"))
        .and_then(|o| {
            o.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .context("reading the host triple from rustc -vV")
}

fn fuzz_one(
    fuzz_dir: &Path,
    bin: &Path,
    target: &str,
    seconds: u64,
    log: &Path,
) -> Result<Figures> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    step(&format!(
        "fuzz: {target} for {seconds} CPU-s (log {})",
        log.display()
    ));
    let log_file = std::fs::File::create(log)?;
    let mut child = Command::new(bin)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg("-rss_limit_mb=2048")
        // A safety net only: the CPU budget below ends the run.
        .arg(format!("-max_total_time={}", seconds.saturating_mul(20)))
        .arg(&corpus)
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let started = Instant::now();
    let pid = child.id();
    let ticks = clock_ticks();
    let mut cpu = 0.0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        cpu = cpu_seconds(pid, ticks).unwrap_or(cpu);
        if cpu >= seconds as f64 {
            run(Command::new("kill").args(["-INT", &pid.to_string()]))?;
            break child.wait()?;
        }
        // Polling interval of the CPU budget, not a wait for a result.
        std::thread::sleep(Duration::from_secs(1));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if status.code() != Some(INTERRUPTED_EXIT) {
        bail!(
            "fuzz target {target} exited with {status} after {cpu:.0} CPU-s: a crash or failed \
             check; input in {}, output in {}",
            artifacts.display(),
            log.display()
        );
    }
    Ok(Figures {
        cpu_seconds: cpu,
        wall_seconds: started.elapsed().as_secs_f64(),
        execs: stat(&text, "stat::number_of_executed_units:"),
        execs_per_sec: stat(&text, "stat::average_exec_per_sec:"),
        corpus: std::fs::read_dir(&corpus)
            .map(|d| d.count() as u64)
            .unwrap_or(0),
        peak_rss_mb: stat(&text, "stat::peak_rss_mb:"),
    })
}

/// User + system CPU seconds of a running process (`/proc/<pid>/stat`).
fn cpu_seconds(pid: u32, ticks_per_second: u64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after ')'.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / ticks_per_second as f64)
}

fn clock_ticks() -> u64 {
    output(Command::new("getconf").arg("CLK_TCK"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The number after `key` in libFuzzer's final stats (0 if absent).
fn stat(text: &str, key: &str) -> u64 {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
