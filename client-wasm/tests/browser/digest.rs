//! SHA-256 with WebCrypto (`client_wasm::digest`): the same digests as the
//! engine's, through one reused scratch buffer.

use client_wasm::digest::{finish, Digest};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn webcrypto_digests_match_the_engines_through_one_reused_buffer() {
    let digest = Digest::new();
    assert!(digest.available(), "the test page is a secure context");
    // Larger, smaller, larger again: a reused scratch longer than the
    // input must not leak its tail into the digest; two digests started
    // before either is awaited must each hash their own bytes.
    let sizes = [1 << 20, 1000, 0, (1 << 20) + 7];
    let inputs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(k, &n)| (0..n).map(|i| (i * 13 + k * 101) as u8).collect())
        .collect();
    let started: Vec<_> = inputs
        .iter()
        .map(|b| digest.start(b).expect("WebCrypto takes the digest"))
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
