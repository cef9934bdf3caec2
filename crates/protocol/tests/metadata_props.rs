//! Property tests of metadata format v1: the streaming writer agrees with a
//! one-shot hash of each piece in any chunking, encode/decode round-trips, and
//! the reader never panics and accepts only canonical encodings.

use edgeswarm_protocol::metadata::{MetadataBuilder, PieceHasher};
use edgeswarm_protocol::{sha256, ContentId, Metadata, PieceSize};
use proptest::prelude::*;

fn piece_size() -> impl Strategy<Value = PieceSize> {
    // Mostly small sizes so that files of a few pieces stay cheap to hash.
    prop_oneof![
        4 => 14u32..=16,
        1 => 17u32..=24,
    ]
    .prop_map(|shift| PieceSize::new(1 << shift).unwrap())
}

fn content_id() -> impl Strategy<Value = ContentId> {
    "[A-Za-z0-9._-]{1,255}".prop_map(|s| ContentId::new(&s).unwrap())
}

/// Splits `len` bytes into consecutive chunk lengths drawn from `cuts`.
fn chunk_lengths(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = len;
    for &c in cuts.iter().cycle().take(len + 1) {
        if left == 0 {
            break;
        }
        let n = c.min(left);
        out.push(n);
        left -= n;
    }
    if left > 0 {
        out.push(left);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunked_stream_equals_one_shot_and_round_trips(
        file in prop::collection::vec(any::<u8>(), 0..150_000),
        piece_size in piece_size(),
        id in content_id(),
        cuts in prop::collection::vec(0usize..70_000, 1..12),
    ) {
        let mut chunked = MetadataBuilder::new(id.clone(), piece_size);
        let mut at = 0;
        for n in chunk_lengths(file.len(), &cuts) {
            chunked.update(&file[at..at + n]);
            at += n;
        }
        let chunked = chunked.finish().unwrap();

        let mut one_shot = MetadataBuilder::new(id.clone(), piece_size);
        one_shot.update(&file);
        let one_shot = one_shot.finish().unwrap();
        prop_assert_eq!(&chunked, &one_shot);

        // Every piece hash is the SHA-256 of exactly its byte range.
        let ps = piece_size.get() as usize;
        let expected: Vec<_> = file.chunks(ps).map(sha256).collect();
        prop_assert_eq!(chunked.piece_hashes(), &expected[..]);
        prop_assert_eq!(chunked.file_sha256(), &sha256(&file));
        prop_assert_eq!(chunked.file_size(), file.len() as u64);

        let bytes = chunked.encode();
        prop_assert_eq!(bytes.len(), chunked.encoded_len());
        prop_assert_eq!(Metadata::decode(&bytes).unwrap(), chunked);
    }

    #[test]
    fn piece_hasher_alone_matches_builder(
        file in prop::collection::vec(any::<u8>(), 0..80_000),
        piece_size in piece_size(),
        split in 0usize..80_000,
    ) {
        let split = split.min(file.len());
        let mut pieces = PieceHasher::new(piece_size);
        pieces.update(&file[..split]);
        pieces.update(&file[split..]);
        let (size, hashes) = pieces.finish();
        let mut b = MetadataBuilder::new(ContentId::new("p").unwrap(), piece_size);
        b.update(&file);
        let m = b.finish().unwrap();
        prop_assert_eq!(size, m.file_size());
        prop_assert_eq!(&hashes[..], m.piece_hashes());
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = Metadata::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_files(
        file in prop::collection::vec(any::<u8>(), 0..40_000),
        id in content_id(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
        extra in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let mut b = MetadataBuilder::new(id, PieceSize::new(16 * 1024).unwrap());
        b.update(&file);
        let mut bytes = b.finish().unwrap().encode();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        bytes.extend_from_slice(&extra);
        // Whatever it answers, an accepted input is canonical.
        if let Ok(m) = Metadata::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }
}
