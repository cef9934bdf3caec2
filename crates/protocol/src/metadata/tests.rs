//! Unit tests for the metadata format v1 reader and writer: every rejection
//! case of the reader, the streaming builder, and the piece accessors.

use super::*;
use crate::ids::{ContentIdError, PieceSizeError};

const KIB16: u64 = 16 * 1024;

fn sample_with(id: &str, file: &[u8], piece_size: u64) -> Metadata {
    let mut b = MetadataBuilder::new(
        ContentId::new(id).unwrap(),
        PieceSize::new(piece_size).unwrap(),
    );
    b.update(file);
    b.finish().unwrap()
}

fn sample(file: &[u8], piece_size: u64) -> Metadata {
    sample_with("sample", file, piece_size)
}

/// A valid encoding of a 3-piece file with content id "abc" (L = 3).
fn valid_bytes() -> Vec<u8> {
    sample_with("abc", &vec![7u8; 2 * KIB16 as usize + 5], KIB16).encode()
}

fn patched(offset: usize, with: &[u8]) -> Vec<u8> {
    let mut b = valid_bytes();
    b[offset..offset + with.len()].copy_from_slice(with);
    b
}

/// Bytes of a header whose content id field is `id_len` then `id`, with a
/// valid rest for an empty file (N = 0).
fn with_raw_id(id_len: u16, id: &[u8]) -> Vec<u8> {
    let mut b = valid_bytes()[..56].to_vec();
    b[16..24].copy_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&id_len.to_le_bytes());
    b.extend_from_slice(id);
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

#[test]
fn round_trip_small_file() {
    let m = sample(b"x", KIB16);
    assert_eq!(m.piece_count(), 1);
    assert_eq!(m.piece_hashes()[0], sha256(b"x"));
    assert_eq!(*m.file_sha256(), sha256(b"x"));
    let bytes = m.encode();
    assert_eq!(bytes.len(), m.encoded_len());
    assert_eq!(Metadata::decode(&bytes).unwrap(), m);
}

#[test]
fn empty_file_has_no_pieces_and_round_trips() {
    let m = sample(b"", KIB16);
    assert_eq!((m.file_size(), m.piece_count()), (0, 0));
    assert_eq!(*m.file_sha256(), sha256(b""));
    assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
}

#[test]
fn exact_multiple_of_piece_size_has_no_empty_last_piece() {
    let file = vec![1u8; 2 * KIB16 as usize];
    let m = sample(&file, KIB16);
    assert_eq!(m.piece_count(), 2);
    let last = m.piece(1).unwrap();
    assert_eq!(m.piece_len(last), KIB16 as u32);
    assert_eq!(m.piece_hashes()[1], sha256(&file[KIB16 as usize..]));
}

#[test]
fn empty_input_is_truncated() {
    assert!(matches!(
        Metadata::decode(&[]),
        Err(MetadataError::Truncated { field: "magic", .. })
    ));
}

#[test]
fn rejects_wrong_magic() {
    let bytes = patched(0, b"ESWMETA2");
    assert_eq!(
        Metadata::decode(&bytes),
        Err(MetadataError::BadMagic {
            found: *b"ESWMETA2"
        })
    );
}

#[test]
fn rejects_unknown_hash_algorithm() {
    for alg in [0u16, 2, u16::MAX] {
        assert_eq!(
            Metadata::decode(&patched(8, &alg.to_le_bytes())),
            Err(MetadataError::UnknownHashAlgorithm(alg))
        );
    }
}

#[test]
fn rejects_nonzero_reserved_field() {
    for reserved in [1u16, 0x100, u16::MAX] {
        assert_eq!(
            Metadata::decode(&patched(10, &reserved.to_le_bytes())),
            Err(MetadataError::ReservedNotZero(reserved))
        );
    }
}

#[test]
fn rejects_bad_piece_sizes() {
    let cases: [(u32, PieceSizeError); 5] = [
        (0, PieceSizeError::OutOfRange(0)),
        (8 * 1024, PieceSizeError::OutOfRange(8 * 1024)),
        (
            32 * 1024 * 1024,
            PieceSizeError::OutOfRange(32 * 1024 * 1024),
        ),
        (u32::MAX, PieceSizeError::OutOfRange(u64::from(u32::MAX))),
        (48 * 1024, PieceSizeError::NotPowerOfTwo(48 * 1024)),
    ];
    for (size, err) in cases {
        assert_eq!(
            Metadata::decode(&patched(12, &size.to_le_bytes())),
            Err(MetadataError::BadPieceSize(err)),
            "piece size {size}"
        );
    }
}

#[test]
fn accepts_every_valid_piece_size() {
    for shift in 14..=24 {
        let m = sample(&[3u8; 100], 1 << shift);
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
    }
}

#[test]
fn rejects_content_id_length_out_of_range() {
    for len in [0u16, 256, u16::MAX] {
        assert_eq!(
            Metadata::decode(&with_raw_id(len, &vec![b'a'; usize::from(len)])),
            Err(MetadataError::ContentIdLength(len))
        );
    }
}

#[test]
fn accepts_content_id_of_255_bytes() {
    let id = "x".repeat(255);
    let bytes = with_raw_id(255, id.as_bytes());
    assert_eq!(Metadata::decode(&bytes).unwrap().content_id().as_str(), id);
}

#[test]
fn rejects_non_utf8_content_id() {
    assert_eq!(
        Metadata::decode(&with_raw_id(2, &[0xc3, 0x28])),
        Err(MetadataError::ContentIdNotUtf8)
    );
}

#[test]
fn rejects_content_id_with_bad_characters() {
    for (id, position, found) in [
        ("a/b", 1, '/'),
        (" ab", 0, ' '),
        ("é", 0, 'é'),
        ("a\0", 1, '\0'),
    ] {
        assert_eq!(
            Metadata::decode(&with_raw_id(id.len() as u16, id.as_bytes())),
            Err(MetadataError::BadContentId(ContentIdError::BadCharacter {
                position,
                found
            })),
            "id {id:?}"
        );
    }
}

#[test]
fn rejects_piece_count_that_does_not_match_file_size() {
    // valid_bytes(): L = 3, so N sits at offset 61; the file has 3 pieces.
    for n in [0u32, 2, 4, u32::MAX] {
        assert_eq!(
            Metadata::decode(&patched(61, &n.to_le_bytes())),
            Err(MetadataError::PieceCountMismatch {
                found: u64::from(n),
                expected: Some(3),
                file_size: 2 * KIB16 + 5,
                piece_size: KIB16 as u32,
            })
        );
    }
}

#[test]
fn rejects_file_size_whose_piece_count_overflows_u32() {
    // u64::MAX / 16 KiB pieces is more than u32::MAX: no N can match.
    for n in [0u32, u32::MAX] {
        let mut bytes = patched(16, &u64::MAX.to_le_bytes());
        bytes[61..65].copy_from_slice(&n.to_le_bytes());
        let err = Metadata::decode(&bytes).unwrap_err();
        assert_eq!(
            err,
            MetadataError::PieceCountMismatch {
                found: u64::from(n),
                expected: None,
                file_size: u64::MAX,
                piece_size: KIB16 as u32,
            }
        );
        assert!(err.to_string().contains("cannot hold"), "{err}");
    }
}

#[test]
fn rejects_huge_piece_count_without_allocating() {
    // N = u32::MAX pieces of 16 MiB matches the file size but the hashes are absent.
    let size = u64::from(u32::MAX) * 16 * 1024 * 1024;
    let mut bytes = patched(12, &(16u32 * 1024 * 1024).to_le_bytes());
    bytes[16..24].copy_from_slice(&size.to_le_bytes());
    bytes[61..65].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Metadata::decode(&bytes),
        Err(MetadataError::Truncated {
            field: "piece hashes",
            offset: 65,
            ..
        })
    ));
}

#[test]
fn rejects_truncation_at_every_length() {
    let bytes = valid_bytes();
    // (first offset of the field, field name), in file order, for L = 3, N = 3.
    let fields = [
        (0, "magic"),
        (8, "hash algorithm"),
        (10, "reserved field"),
        (12, "piece size"),
        (16, "file size"),
        (24, "file hash"),
        (56, "content id length"),
        (58, "content id"),
        (61, "piece count"),
        (65, "piece hashes"),
    ];
    assert_eq!(bytes.len(), 65 + 3 * 32);
    for len in 0..bytes.len() {
        let (start, name) = fields.iter().rev().find(|(s, _)| *s <= len).unwrap();
        match Metadata::decode(&bytes[..len]) {
            Err(MetadataError::Truncated {
                field,
                offset,
                available,
                ..
            }) => {
                assert_eq!((field, offset), (*name, *start), "prefix of {len} bytes");
                assert_eq!(available, len - start);
            }
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
}

#[test]
fn rejects_trailing_bytes() {
    for extra in [1usize, 31, 32, 1000] {
        let mut bytes = valid_bytes();
        bytes.extend(std::iter::repeat_n(0u8, extra));
        assert_eq!(
            Metadata::decode(&bytes),
            Err(MetadataError::TrailingBytes(extra))
        );
    }
}

#[test]
fn every_error_message_is_one_line() {
    let inputs = [
        vec![],
        patched(0, b"XXXXXXXX"),
        patched(8, &[9, 0]),
        patched(61, &[0, 0, 0, 0]),
        with_raw_id(2, &[0xff, 0xfe]),
        with_raw_id(1, b"/"),
    ];
    for input in inputs {
        let msg = Metadata::decode(&input).unwrap_err().to_string();
        assert!(!msg.contains('\n') && !msg.is_empty(), "{msg:?}");
    }
}

#[test]
fn new_rejects_wrong_number_of_hashes() {
    let id = ContentId::new("a").unwrap();
    let err = Metadata::new(id, PieceSize::DEFAULT, 1, [0; 32], vec![]).unwrap_err();
    assert!(matches!(
        err,
        MetadataError::PieceCountMismatch {
            found: 0,
            expected: Some(1),
            ..
        }
    ));
}

#[test]
fn piece_accessors_cover_the_file_exactly() {
    let file: Vec<u8> = (0..(3 * KIB16 + 17)).map(|i| (i % 251) as u8).collect();
    let m = sample(&file, KIB16);
    let mut next = 0;
    for p in m.pieces() {
        let range = m.piece_range(p);
        assert_eq!(range.start, next);
        next = range.end;
        let bytes = &file[range.start as usize..range.end as usize];
        assert!(m.verify_piece(p, bytes));
        assert_eq!(m.piece_at(range.start), Some(p));
        assert_eq!(m.piece_at(range.end - 1), Some(p));
    }
    assert_eq!(next, file.len() as u64);
    assert_eq!(m.piece_at(file.len() as u64), None);
    assert_eq!(m.piece(m.piece_count()), None);
    let last = m.piece(3).unwrap();
    assert_eq!(m.piece_len(last), 17);
    assert!(!m.verify_piece(last, &file[3 * KIB16 as usize..file.len() - 1]));
}

#[test]
fn foreign_piece_index_does_not_panic() {
    let big = sample(&vec![0u8; 4 * KIB16 as usize], KIB16);
    let small = sample(b"tiny", KIB16);
    let foreign = big.piece(3).unwrap();
    assert_eq!(small.piece_len(foreign), 0);
    assert_eq!(small.piece_hash(foreign), &[0u8; 32]);
    assert!(!small.verify_piece(foreign, b""));
}

/// A reader that yields at most 7 bytes per call and is interrupted every
/// other call, as a slow pipe may be.
struct Trickle<'a> {
    data: &'a [u8],
    interrupt: bool,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(7).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn update_from_reader_matches_one_shot_and_reports_progress() {
    let file: Vec<u8> = (0..(KIB16 + 100)).map(|i| (i * 7 % 256) as u8).collect();
    let mut b = MetadataBuilder::new(ContentId::new("r").unwrap(), PieceSize::new(KIB16).unwrap());
    let mut seen = Vec::new();
    let read = b
        .update_from_reader(
            Trickle {
                data: &file,
                interrupt: false,
            },
            |n| seen.push(n),
        )
        .unwrap();
    assert_eq!(read, file.len() as u64);
    assert_eq!(seen.last(), Some(&(file.len() as u64)));
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(b.finish().unwrap(), sample_with("r", &file, KIB16));
}

#[test]
fn update_from_reader_passes_read_errors_through() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let mut b = MetadataBuilder::new(ContentId::new("r").unwrap(), PieceSize::DEFAULT);
    let err = b.update_from_reader(Broken, |_| {}).unwrap_err();
    assert_eq!(err.to_string(), "disk on fire");
}
