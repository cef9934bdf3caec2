//! Helpers shared by the CLI integration tests: run the real `edgeswarm`
//! binary and make deterministic test files.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `edgeswarm` binary with `args` in `dir`.
pub fn edgeswarm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeswarm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the edgeswarm binary runs")
}

/// Asserts the run succeeded and returns its stdout parsed as one JSON object.
pub fn json_ok(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {stderr}",
        out.status
    );
    assert_eq!(stdout.lines().count(), 1, "one JSON line, got {stdout:?}");
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

/// Asserts the run failed with nothing on stdout and exactly one line on
/// stderr of the form `edgeswarm: …`, with no panic; returns that line.
pub fn one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure, stderr: {stderr}");
    assert_ne!(out.status.code(), None, "killed by a signal: {stderr}");
    assert_ne!(out.status.code(), Some(101), "panic exit code: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(out.stdout.is_empty(), "stdout must stay empty on error");
    assert_eq!(
        stderr.lines().count(),
        1,
        "exactly one stderr line: {stderr:?}"
    );
    assert!(stderr.starts_with("edgeswarm: "), "{stderr:?}");
    stderr.trim_end().to_owned()
}

/// `len` pseudo-random bytes from `seed` (xorshift64*), the same on every run.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Publishes `data` as content `id` with `piece_size` in `dir`; returns the
/// JSON report and the bytes of the written metadata file.
pub fn publish(dir: &Path, id: &str, data: &[u8], piece_size: u64) -> (serde_json::Value, Vec<u8>) {
    let file = dir.join(format!("{id}.bin"));
    std::fs::write(&file, data).unwrap();
    let out = edgeswarm(
        dir,
        &[
            "publish",
            file.to_str().unwrap(),
            "--content-id",
            id,
            "--piece-size",
            &piece_size.to_string(),
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    let report = json_ok(&out);
    let meta = std::fs::read(dir.join(format!("{id}.meta"))).unwrap();
    (report, meta)
}
