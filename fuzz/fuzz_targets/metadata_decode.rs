//! Fuzz target: the metadata format v1 reader on arbitrary bytes.
//!
//! Invariants checked: `Metadata::decode` never panics, and any input it
//! accepts is canonical (re-encoding gives back exactly the input).
#![no_main]

use edgeswarm_protocol::Metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metadata::decode(data) {
        assert_eq!(m.encode(), data, "decode accepted a non-canonical encoding");
        assert_eq!(m.encoded_len(), data.len());
    }
});
