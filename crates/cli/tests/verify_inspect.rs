//! `edgeswarm verify` and `edgeswarm inspect` as a user runs them: a good
//! file verifies, a single flipped byte is blamed on the piece that holds it,
//! and every malformed metadata file is a one-line error, never a panic.

mod common;

use std::path::Path;

use common::{edgeswarm, json_ok, one_line_error, publish, test_bytes};

const PS: usize = 16 * 1024;

fn setup(len: usize) -> (tempfile::TempDir, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let data = test_bytes(len, 77);
    let (_, meta) = publish(dir.path(), "c", &data, PS as u64);
    (dir, data, meta)
}

fn verify(dir: &Path, data: &[u8]) -> std::process::Output {
    std::fs::write(dir.join("check.bin"), data).unwrap();
    edgeswarm(dir, &["verify", "c.meta", "check.bin"])
}

#[test]
fn intact_file_verifies() {
    let (dir, data, meta) = setup(5 * PS + 100);
    let report = json_ok(&verify(dir.path(), &data));
    assert_eq!(report["ok"], true);
    assert_eq!(report["contentId"], "c");
    assert_eq!(report["metadataSha256"], hex::encode(common::sha256(&meta)));
}

#[test]
fn flipped_byte_is_blamed_on_its_piece() {
    let len = 5 * PS + 100;
    let (dir, data, _) = setup(len);
    // First byte, both sides of a piece boundary, inside the short last piece, last byte.
    for at in [0, PS - 1, PS, 3 * PS + 5000, 5 * PS, len - 1] {
        let mut bad = data.clone();
        bad[at] ^= 0x01;
        let line = one_line_error(&verify(dir.path(), &bad));
        let piece = at / PS;
        let start = piece * PS;
        let end = ((piece + 1) * PS).min(len) - 1;
        let want = format!("piece {piece} (bytes {start} to {end})");
        assert!(
            line.contains(&want),
            "byte {at}: {line:?} should name {want:?}"
        );
    }
}

#[test]
fn size_mismatch_is_reported_before_hashing() {
    let (dir, data, _) = setup(2 * PS);
    for wrong in [
        &data[..data.len() - 1],
        &[data.as_slice(), b"x"].concat()[..],
        &[][..],
    ] {
        let line = one_line_error(&verify(dir.path(), wrong));
        assert!(line.contains("size mismatch"), "{line}");
        assert!(line.contains(&format!("{} bytes", wrong.len())), "{line}");
    }
}

#[test]
fn inspect_prints_every_piece_hash() {
    let (dir, data, meta) = setup(2 * PS + 1);
    let report = json_ok(&edgeswarm(dir.path(), &["inspect", "c.meta"]));
    assert_eq!(report["fileSize"], data.len());
    assert_eq!(report["pieceCount"], 3);
    assert_eq!(report["metadataSha256"], hex::encode(common::sha256(&meta)));
    let pieces: Vec<&str> = report["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let want: Vec<String> = data
        .chunks(PS)
        .map(|c| hex::encode(common::sha256(c)))
        .collect();
    assert_eq!(pieces, want);
}

/// Runs `inspect` on `bytes` and returns its one error line.
fn inspect_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.meta"), bytes).unwrap();
    one_line_error(&edgeswarm(dir.path(), &["inspect", "bad.meta"]))
}

#[test]
fn inspect_rejects_each_malformed_file_with_one_line() {
    let (_dir, _, meta) = setup(3 * PS + 1); // id "c": L = 1, N at offset 59
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", vec![], "truncated"),
        ("bad magic", [b"ESWMETA0", &meta[8..]].concat(), "bad magic"),
        ("trailing bytes", [&meta[..], b"\0"].concat(), "trailing"),
        (
            "one byte short",
            meta[..meta.len() - 1].to_vec(),
            "truncated",
        ),
        ("header only", meta[..30].to_vec(), "truncated"),
    ];
    let mut wrong_n = meta.clone();
    wrong_n[59..63].copy_from_slice(&3u32.to_le_bytes());
    cases.push(("wrong piece count", wrong_n, "piece count"));
    let mut bad_alg = meta.clone();
    bad_alg[8] = 2;
    cases.push(("unknown algorithm", bad_alg, "hash algorithm"));
    let mut bad_ps = meta.clone();
    bad_ps[12..16].copy_from_slice(&12345u32.to_le_bytes());
    cases.push(("bad piece size", bad_ps, "piece size"));
    let mut bad_id = meta.clone();
    bad_id[58] = b'/';
    cases.push(("bad id", bad_id, "content id"));
    for (name, bytes, needle) in cases {
        let line = inspect_error(&bytes);
        assert!(line.contains("bad.meta"), "{name}: {line}");
        assert!(
            line.contains(needle),
            "{name}: {line:?} should mention {needle:?}"
        );
    }
}

#[test]
fn inspect_of_every_truncation_fails_cleanly() {
    let (_dir, _, meta) = setup(PS + 1);
    for len in 0..meta.len() {
        let line = inspect_error(&meta[..len]);
        assert!(line.contains("truncated"), "prefix {len}: {line}");
    }
}

#[test]
fn missing_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    one_line_error(&edgeswarm(dir.path(), &["inspect", "nope.meta"]));
    one_line_error(&edgeswarm(dir.path(), &["verify", "nope.meta", "nope"]));
    one_line_error(&edgeswarm(
        dir.path(),
        &["publish", "nope", "--content-id", "x"],
    ));
    one_line_error(&edgeswarm(
        dir.path(),
        &["publish", "nope", "--content-id", "a/b"],
    ));
    one_line_error(&edgeswarm(
        dir.path(),
        &[
            "publish",
            "nope",
            "--content-id",
            "x",
            "--piece-size",
            "1000",
        ],
    ));
}
