//! `fetch` with Range, against a `blob:` URL (the browser serves it; no server needed).

use client_wasm::http::{self, Abort, HttpError};
use wasm_bindgen_test::wasm_bindgen_test;

fn blob_url(bytes: &[u8]) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).expect("Blob");
    web_sys::Url::create_object_url_with_blob(&blob).expect("createObjectURL")
}

fn data() -> Vec<u8> {
    (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[wasm_bindgen_test]
async fn range_request_returns_exactly_that_range() {
    let d = data();
    let url = blob_url(&d);
    let whole = http::get(&url, None, None).await.expect("GET");
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, d);
    let part = http::get(&url, Some(1000..1500), None)
        .await
        .expect("range GET");
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &d[1000..1500]);
    assert!(!part.truncated);
    let last = http::get(&url, Some(9_999..10_000), None)
        .await
        .expect("last byte");
    assert_eq!(last.body, &d[9_999..]);
}

#[wasm_bindgen_test]
async fn aborted_request_fails_with_aborted() {
    let url = blob_url(&data());
    let abort = Abort::new();
    let signal = abort.signal();
    abort.abort();
    let err = http::get(&url, None, signal.as_ref()).await.unwrap_err();
    assert_eq!(err, HttpError::Aborted);
}

#[wasm_bindgen_test]
async fn network_failure_is_an_error_not_a_panic() {
    let err = http::get("blob:null/not-a-real-blob", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Network(_)), "{err:?}");
}

#[wasm_bindgen_test]
async fn a_server_ignoring_range_is_not_read_whole() {
    // `data:` URLs ignore Range: the browser answers 200 with the whole body,
    // as a server without Range support would.
    let d = data();
    let b64 = base64_encode(&d);
    let url = format!("data:application/octet-stream;base64,{b64}");
    let reply = http::get(&url, Some(0..1), None).await.expect("GET");
    assert_eq!(reply.status, 200);
    assert!(reply.truncated, "a body longer than the range is refused");
    assert!(reply.body.is_empty(), "read {} bytes", reply.body.len());
}

fn base64_encode(bytes: &[u8]) -> String {
    let binary: String = bytes.iter().map(|b| char::from(*b)).collect();
    web_sys::window()
        .expect("a window")
        .btoa(&binary)
        .expect("btoa of Latin-1 text")
}

#[wasm_bindgen_test]
async fn a_streamed_range_comes_chunk_by_chunk_and_stops_past_its_length() {
    let d = data();
    let url = blob_url(&d);
    let (status, mut body) = http::open_range(&url, 1000..9000, None)
        .await
        .expect("range GET");
    assert_eq!(status, 206);
    let mut got = Vec::new();
    while let Some(chunk) = body.next().await.expect("chunk") {
        got.extend(chunk);
    }
    assert_eq!(got, &d[1000..9000]);
    // A server ignoring Range: never more than the range + 1 byte comes out.
    let b64 = base64_encode(&d);
    let url = format!("data:application/octet-stream;base64,{b64}");
    let (status, mut body) = http::open_range(&url, 0..10, None).await.expect("GET");
    assert_eq!(status, 200);
    let mut got = 0;
    while let Some(chunk) = body.next().await.expect("chunk") {
        got += chunk.len();
    }
    assert_eq!(
        got, 11,
        "the range's 10 bytes and the one that shows it is too long"
    );
}

#[wasm_bindgen_test]
async fn a_fetch_body_is_read_into_one_reused_buffer() {
    use client_wasm::http::body::{BodyReader, Chunk, READ_BUFFER};
    let d: Vec<u8> = (0..(3 << 20) + 5).map(|i: u32| (i % 253) as u8).collect();
    let url = blob_url(&d);
    let resp: web_sys::Response = wasm_bindgen_futures::JsFuture::from(
        web_sys::window().expect("a window").fetch_with_str(&url),
    )
    .await
    .expect("fetch")
    .into();
    let mut reader = BodyReader::new(&resp.body().expect("a body"), u64::MAX).expect("a reader");
    assert!(
        matches!(reader, BodyReader::Byob { .. }),
        "a fetch body is a byte stream: no ArrayBuffer per chunk"
    );
    let mut got = Vec::new();
    let mut reads = 0;
    loop {
        match reader.read(100_000).await.expect("read") {
            Chunk::End => break,
            Chunk::Bytes(b) => {
                assert!(!b.is_empty() && b.len() <= 100_000, "{} bytes", b.len());
                got.extend(b);
                reads += 1;
            }
        }
        let BodyReader::Byob { buffer, .. } = &reader else {
            unreachable!()
        };
        let kept = buffer.as_ref().map(js_sys::ArrayBuffer::byte_length);
        assert_eq!(kept, Some(READ_BUFFER), "the one buffer comes back");
    }
    assert_eq!(got, d);
    assert!(reads >= 32, "reads of at most 100 000 bytes: {reads}");
    // A body read for at most 10 bytes gets an 11-byte buffer, not 1 MiB.
    let resp: web_sys::Response = wasm_bindgen_futures::JsFuture::from(
        web_sys::window().expect("a window").fetch_with_str(&url),
    )
    .await
    .expect("fetch")
    .into();
    let small = BodyReader::new(&resp.body().expect("a body"), 11).expect("a reader");
    let BodyReader::Byob { buffer, .. } = &small else {
        panic!("a fetch body is a byte stream")
    };
    assert_eq!(
        buffer.as_ref().map(js_sys::ArrayBuffer::byte_length),
        Some(11)
    );
    small.cancel();
}

#[wasm_bindgen_test]
async fn a_stream_of_chunks_is_read_with_a_default_reader_and_cut_at_max() {
    use client_wasm::http::body::{BodyReader, Chunk};
    let make = js_sys::Function::new_no_args(
        "return new ReadableStream({ start(c) { \
           c.enqueue(new Uint8Array(100).fill(1)); c.enqueue(new Uint8Array(50).fill(2)); c.close(); } })",
    );
    let stream = || -> web_sys::ReadableStream {
        make.call0(&wasm_bindgen::JsValue::NULL)
            .expect("a stream")
            .into()
    };
    let mut reader = BodyReader::new(&stream(), 1000).expect("a reader");
    assert!(matches!(reader, BodyReader::Default(_)));
    let mut sizes = Vec::new();
    while let Chunk::Bytes(b) = reader.read(1000).await.expect("read") {
        sizes.push(b.len());
    }
    assert_eq!(sizes, [100, 50]);
    let mut reader = BodyReader::new(&stream(), 1000).expect("a reader");
    match reader.read(10).await.expect("read") {
        Chunk::Bytes(b) => assert_eq!(b, [1; 10], "a chunk longer than max is cut"),
        Chunk::End => panic!("the stream has bytes"),
    }
}
