//! Codec tests: round trips, every cap, and hostile input.

use super::*;
use proptest::prelude::*;

fn cid(s: &str) -> ContentId {
    ContentId::new(s).unwrap()
}

fn samples() -> Vec<Message> {
    vec![
        Message::Handshake {
            version: PROTOCOL_VERSION,
            content_id: cid("demo-file_1.iso"),
            metadata_sha256: [7; 32],
        },
        Message::Bitfield(vec![0xff, 0x80]),
        Message::Bitfield(vec![]),
        Message::Have { piece: 3 },
        Message::Request { piece: u32::MAX },
        Message::Cancel { piece: 0 },
        Message::Fetching { piece: 7 },
        Message::Reject {
            piece: 9,
            reason: RejectReason::Busy,
        },
        Message::Reject {
            piece: 9,
            reason: RejectReason::NotHave,
        },
        Message::PieceData {
            piece: 1,
            offset: 65536,
            data: vec![1; MAX_BLOCK_LEN],
        },
    ]
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        assert_eq!(decode(&encode(&m)), Ok(m));
    }
}

#[test]
fn borrowed_decode_keeps_the_block_in_the_frame() {
    for m in samples() {
        let f = encode(&m);
        match (decode_borrowed(&f), &m) {
            (
                Ok(Decoded::Block {
                    piece,
                    offset,
                    data,
                }),
                Message::PieceData {
                    piece: p,
                    offset: o,
                    data: d,
                },
            ) => {
                assert_eq!((piece, offset, data), (*p, *o, &d[..]));
                // The block is the frame's tail: a receiver owning the
                // frame keeps it, no copy.
                assert_eq!(data.as_ptr(), f[f.len() - d.len()..].as_ptr());
            }
            (Ok(Decoded::Other(got)), _) => assert_eq!(got, m),
            (other, _) => panic!("{m:?} decoded as {other:?}"),
        }
    }
    let mut bad = encode(&samples()[8]);
    bad.push(0);
    assert_eq!(decode_borrowed(&bad), Err(WireError::TrailingBytes(1)));
}

#[test]
fn oversized_block_is_rejected() {
    let m = Message::PieceData {
        piece: 1,
        offset: 0,
        data: vec![0; MAX_BLOCK_LEN + 1],
    };
    assert!(matches!(
        decode(&encode(&m)),
        Err(WireError::BadPayloadLength {
            kind: kind::PIECE_DATA,
            ..
        })
    ));
}

#[test]
fn empty_block_is_rejected() {
    let m = Message::PieceData {
        piece: 1,
        offset: 0,
        data: vec![],
    };
    assert!(decode(&encode(&m)).is_err());
}

#[test]
fn huge_length_prefix_is_rejected_without_allocating() {
    let mut f = u32::MAX.to_le_bytes().to_vec();
    f.push(kind::HAVE);
    assert_eq!(decode(&f), Err(WireError::FrameTooLong(u32::MAX as usize)));
    let mut s = FrameSplitter::new();
    s.push(&f);
    assert!(s.next_message().is_err());
    // The splitter stays failed.
    s.push(&encode(&Message::Have { piece: 1 }));
    assert!(s.next_message().is_err());
}

#[test]
fn truncation_trailing_bytes_and_unknown_types_are_errors() {
    let f = encode(&Message::Have { piece: 5 });
    for cut in 0..f.len() {
        assert!(decode(&f[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = f.clone();
    long.push(0);
    assert_eq!(decode(&long), Err(WireError::TrailingBytes(1)));
    assert_eq!(decode(&[1, 0, 0, 0, 99]), Err(WireError::UnknownType(99)));
    assert_eq!(decode(&[0, 0, 0, 0]), Err(WireError::EmptyFrame));
    assert_eq!(
        decode(&[6, 0, 0, 0, kind::REJECT, 0, 0, 0, 0, 3]),
        Err(WireError::BadRejectReason(3))
    );
}

#[test]
fn handshake_with_bad_magic_or_id_is_rejected() {
    let mut f = encode(&samples()[0]);
    f[5] = b'X';
    assert_eq!(decode(&f), Err(WireError::BadMagic));
    let mut f = encode(&samples()[0]);
    let last = f.len() - 1;
    f[last] = b'/';
    assert_eq!(decode(&f), Err(WireError::BadContentId));
}

#[test]
fn splitter_reassembles_any_chunking() {
    let frames: Vec<u8> = samples().iter().flat_map(encode).collect();
    for chunk in [1, 3, 7, 1000, frames.len()] {
        let mut s = FrameSplitter::new();
        let mut got = Vec::new();
        for c in frames.chunks(chunk) {
            s.push(c);
            while let Some(m) = s.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, samples());
        assert_eq!(s.buffered(), 0);
    }
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
        let mut s = FrameSplitter::new();
        s.push(&bytes);
        while let Ok(Some(_)) = s.next_message() {}
    }

    #[test]
    fn piece_data_round_trips(piece: u32, offset: u32, data in proptest::collection::vec(any::<u8>(), 1..2000)) {
        let direct = encode_piece_data(piece, offset, &data);
        let m = Message::PieceData { piece, offset, data };
        prop_assert_eq!(&direct, &encode(&m));
        prop_assert_eq!(decode(&direct), Ok(m));
    }

    #[test]
    fn mutated_frames_never_panic(i in 0usize..64, b: u8) {
        for m in samples() {
            let mut f = encode(&m);
            let at = i % f.len();
            f[at] = b;
            let _ = decode(&f);
        }
    }
}
