//! SHA-256 with WebCrypto (`client_wasm::digest`): the same digests as the
//! engine's, from views of wasm memory that are dropped at once.

use client_wasm::digest::{finish, Digest};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn webcrypto_digests_match_the_engines_and_copy_their_input_at_once() {
    let digest = Digest::new();
    assert!(digest.available(), "the test page is a secure context");
    // Every digest is started (and its input then overwritten) before any
    // is awaited: each must hash the bytes it was given when it started.
    let sizes = [1 << 20, 1000, 0, (1 << 20) + 7];
    let inputs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(k, &n)| (0..n).map(|i| (i * 13 + k * 101) as u8).collect())
        .collect();
    let mut scratch = Vec::new();
    let started: Vec<_> = inputs
        .iter()
        .map(|b| {
            scratch.clear();
            scratch.extend_from_slice(b);
            let p = digest.start(&scratch).expect("WebCrypto takes the digest");
            scratch.fill(0xee);
            p
        })
        .collect();
    for (input, promise) in inputs.iter().zip(started) {
        let got = finish(promise).await.expect("a digest");
        assert_eq!(
            got,
            edgeswarm_protocol::sha256(input),
            "{} bytes",
            input.len()
        );
    }
}
