//! Unit tests for the metadata format v1 reader and writer.

use super::*;

fn sample(file: &[u8], piece_size: u64) -> Metadata {
    let mut b = MetadataBuilder::new(
        ContentId::new("sample").unwrap(),
        PieceSize::new(piece_size).unwrap(),
    );
    b.update(file);
    b.finish().unwrap()
}

#[test]
fn round_trip_small_file() {
    let m = sample(b"x", 16384);
    assert_eq!(m.piece_count(), 1);
    let bytes = m.encode();
    assert_eq!(bytes.len(), m.encoded_len());
    assert_eq!(Metadata::decode(&bytes).unwrap(), m);
}

#[test]
fn empty_input_is_truncated() {
    assert!(matches!(
        Metadata::decode(&[]),
        Err(MetadataError::Truncated { field: "magic", .. })
    ));
}
