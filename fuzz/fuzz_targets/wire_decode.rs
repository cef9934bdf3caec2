//! Fuzz target: the peer wire decoder and the streaming frame splitter on
//! arbitrary bytes.
//!
//! Invariants checked: neither panics; a frame `decode` accepts re-encodes to
//! exactly itself (the encoding is canonical); and the splitter, fed the same
//! bytes in two arbitrary chunks, yields the messages that decoding its
//! frames one by one would.
#![no_main]

use edgeswarm_protocol::wire::{decode, encode, FrameSplitter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode(data) {
        assert_eq!(encode(&m), data, "decode accepted a non-canonical frame");
    }
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut whole = FrameSplitter::new();
    whole.push(data);
    let mut split = FrameSplitter::new();
    split.push(&data[..cut]);
    let mut from_split = Vec::new();
    while let Ok(Some(m)) = split.next_message() {
        from_split.push(m);
    }
    split.push(&data[cut..]);
    while let Ok(Some(m)) = split.next_message() {
        from_split.push(m);
    }
    let mut from_whole = Vec::new();
    while let Ok(Some(m)) = whole.next_message() {
        from_whole.push(m);
    }
    assert_eq!(from_split, from_whole, "chunking changed the messages");
});
