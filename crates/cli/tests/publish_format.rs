//! `edgeswarm publish` output read back by an independent reader written from
//! the format v1 table in docs/format.md alone (it does not use the
//! protocol crate's decoder), for edge-case file sizes and every piece size
//! from 16 KiB to 1 MiB.

mod common;

use common::{publish, sha256, test_bytes};

/// Format v1 as the table describes it, parsed with nothing but slices.
#[derive(Debug, PartialEq)]
struct TableMeta {
    algorithm: u16,
    reserved: u16,
    piece_size: u32,
    file_size: u64,
    file_sha256: [u8; 32],
    content_id: String,
    piece_hashes: Vec<[u8; 32]>,
}

fn read_per_table(b: &[u8]) -> TableMeta {
    assert_eq!(&b[0..8], b"ESWMETA1", "magic");
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let l = usize::from(u16_at(56));
    assert!((1..=255).contains(&l), "content id length {l}");
    let n = u32_at(58 + l) as usize;
    assert_eq!(b.len(), 62 + l + 32 * n, "nothing may follow the last hash");
    TableMeta {
        algorithm: u16_at(8),
        reserved: u16_at(10),
        piece_size: u32_at(12),
        file_size: u64::from_le_bytes(b[16..24].try_into().unwrap()),
        file_sha256: b[24..56].try_into().unwrap(),
        content_id: String::from_utf8(b[58..58 + l].to_vec()).unwrap(),
        piece_hashes: b[62 + l..]
            .chunks(32)
            .map(|c| c.try_into().unwrap())
            .collect(),
    }
}

/// What the table says the metadata of `data` must be.
fn expected(id: &str, data: &[u8], piece_size: u32) -> TableMeta {
    let ps = piece_size as usize;
    let n = data.len().div_ceil(ps);
    TableMeta {
        algorithm: 1,
        reserved: 0,
        piece_size,
        file_size: data.len() as u64,
        file_sha256: sha256(data),
        content_id: id.to_owned(),
        // piece i = bytes [i·ps, min((i+1)·ps, size))
        piece_hashes: (0..n)
            .map(|i| sha256(&data[i * ps..((i + 1) * ps).min(data.len())]))
            .collect(),
    }
}

fn check(id: &str, len: usize, piece_size: u32, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = test_bytes(len, seed);
    let (report, meta) = publish(dir.path(), id, &data, u64::from(piece_size));
    let want = expected(id, &data, piece_size);
    assert_eq!(
        read_per_table(&meta),
        want,
        "len {len}, piece size {piece_size}"
    );
    // The JSON report describes the same file.
    assert_eq!(report["contentId"], id);
    assert_eq!(report["fileSize"], len as u64);
    assert_eq!(report["pieceSize"], piece_size);
    assert_eq!(report["pieceCount"], want.piece_hashes.len());
    assert_eq!(report["fileSha256"], hex::encode(want.file_sha256));
    assert_eq!(report["metadataSha256"], hex::encode(sha256(&meta)));
    let meta_path = std::path::Path::new(report["metadataFile"].as_str().unwrap());
    assert_eq!(std::fs::read(meta_path).unwrap(), meta);
}

#[test]
fn one_byte_file() {
    check("one.byte", 1, 16 * 1024, 1);
}

#[test]
fn empty_file_has_zero_pieces() {
    check("empty", 0, 16 * 1024, 2);
}

#[test]
fn exact_multiple_of_piece_size() {
    check("exact-16k", 4 * 16 * 1024, 16 * 1024, 3);
    check("exact-1m", 3 * 1024 * 1024, 1024 * 1024, 4);
}

#[test]
fn every_piece_size_from_16_kib_to_1_mib() {
    for shift in 14u32..=20 {
        let ps = 1u32 << shift;
        // Two and a bit pieces, one byte short of a piece, and one byte over.
        for (k, len) in [2 * ps + 333, ps - 1, ps + 1].into_iter().enumerate() {
            check(
                &format!("ps_{ps}"),
                len as usize,
                ps,
                u64::from(shift) * 10 + k as u64,
            );
        }
    }
}

#[test]
fn file_larger_than_the_read_buffer_and_a_long_id() {
    // 5 MiB + 7 crosses several 1 MiB read buffers. The id is 250 bytes: the
    // longest whose ID.meta file name fits the usual 255-byte limit.
    let id = "L".repeat(250);
    check(&id, 5 * 1024 * 1024 + 7, 64 * 1024, 9);
}

#[test]
fn id_too_long_for_a_file_name_is_a_one_line_error() {
    // 255 bytes is a valid content id, but ID.meta is then 260 bytes long,
    // which Linux file systems refuse: the user gets the OS's reason.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"abc").unwrap();
    let id = "L".repeat(255);
    let out = common::edgeswarm(dir.path(), &["publish", "f", "--content-id", &id]);
    let line = common::one_line_error(&out);
    assert!(line.contains("cannot write"), "{line}");
    // No temporary file is left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["f"]);
}

#[test]
fn default_piece_size_is_one_mib() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, test_bytes(1_500_000, 5)).unwrap();
    let out = common::edgeswarm(dir.path(), &["publish", "f", "--content-id", "dflt"]);
    let report = common::json_ok(&out);
    assert_eq!(report["pieceSize"], 1024 * 1024);
    assert_eq!(report["pieceCount"], 2);
    // Without --out the metadata lands in the current directory.
    let meta = std::fs::read(dir.path().join("dflt.meta")).unwrap();
    assert_eq!(read_per_table(&meta).piece_size, 1024 * 1024);
}
