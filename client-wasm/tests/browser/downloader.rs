//! The `Downloader` in simple mode (99) against a `blob:` URL: the full driver
//! loop (engine, HTTP Range, OPFS store, whole-file check) with no server.

use client_wasm::Downloader;
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

fn blob_url(bytes: &[u8]) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).expect("Blob");
    web_sys::Url::create_object_url_with_blob(&blob).expect("createObjectURL")
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("options JSON")
}

fn field(v: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(v, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen_test]
fn bad_options_throw() {
    for bad in [
        r#"{"server":"","contentId":"x","downloadMode":7}"#,
        r#"{"server":"","contentId":"bad id!"}"#,
        r#"{"server":"","contentId":"x","downloadMode":2}"#,
        r#"{"contentId":"x"}"#,
        r#"{"server":"","contentId":"","downloadMode":3}"#,
    ] {
        assert!(
            Downloader::new(options(bad).unchecked_into()).is_err(),
            "{bad}"
        );
    }
    // The client refuses exactly the groupIds discovery would refuse, before
    // any request (129 bytes used to pass here and fail at /disc).
    let group = |g: &str| {
        let json = format!(r#"{{"server":"","contentId":"x","downloadMode":2,"groupId":"{g}"}}"#);
        Downloader::new(options(&json).unchecked_into())
    };
    let max = edgeswarm_protocol::modes::MAX_GROUP_KEY_LEN;
    assert!(group(&"g".repeat(max + 1)).is_err());
    assert!(group(&"g".repeat(max)).is_ok());
    assert!(group("a\\u0007b").is_err(), "control character");
    assert!(group("team").is_ok());
}

async fn simple_download(data: &[u8], sha: &str) -> (Result<JsValue, JsValue>, JsValue) {
    simple_download_with(data, sha, "").await
}

/// `engine`: more engine overrides, e.g. `,"maxUnstoredBytes":65536`.
async fn simple_download_with(
    data: &[u8],
    sha: &str,
    engine: &str,
) -> (Result<JsValue, JsValue>, JsValue) {
    let url = blob_url(data);
    let opts = format!(
        r#"{{"server":"","contentId":"blob-test","downloadMode":99,"contentUrl":"{url}",
            "fileSha256":"{sha}","engine":{{"simpleChunkSize":65536{engine}}}}}"#
    );
    let d = Downloader::new(options(&opts).unchecked_into()).expect("valid options");
    let promise: js_sys::Promise = d.start().unchecked_into();
    let result = JsFuture::from(promise).await;
    let stats: JsValue = d.stats().into();
    d.cancel();
    (result, stats)
}

#[wasm_bindgen_test]
async fn simple_mode_delivers_a_verified_file() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 17 % 255) as u8).collect();
    let sha = hex::encode(Sha256::digest(&data));
    let (result, stats) = simple_download(&data, &sha).await;
    let file: web_sys::File = result.expect("start() resolves").unchecked_into();
    let buf = JsFuture::from(file.array_buffer())
        .await
        .expect("arrayBuffer");
    assert_eq!(js_sys::Uint8Array::new(&buf).to_vec(), data);
    assert_eq!(field(&stats, "state").as_string().as_deref(), Some("done"));
    assert_eq!(field(&stats, "mode").as_string().as_deref(), Some("simple"));
    assert_eq!(field(&stats, "verified").as_bool(), Some(true));
    assert_eq!(field(&stats, "bytesFromHttp").as_f64(), Some(300_000.0));
    assert_eq!(field(&stats, "sha256").as_string(), Some(sha));
}

/// Storage back-pressure at one chunk: the engine asks for the next range
/// only once the glue reported the last write done (`PieceStored`), and
/// says `Done` once every write is; the file still arrives whole.
#[wasm_bindgen_test]
async fn one_unstored_chunk_at_a_time_still_delivers_the_file() {
    let data: Vec<u8> = (0..400_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&data));
    let (result, stats) = simple_download_with(&data, &sha, r#","maxUnstoredBytes":65536"#).await;
    let file: web_sys::File = result.expect("start() resolves").unchecked_into();
    let buf = JsFuture::from(file.array_buffer())
        .await
        .expect("arrayBuffer");
    assert_eq!(js_sys::Uint8Array::new(&buf).to_vec(), data);
    assert_eq!(field(&stats, "state").as_string().as_deref(), Some("done"));
    assert_eq!(field(&stats, "bytesFromHttp").as_f64(), Some(400_000.0));
}

#[wasm_bindgen_test]
async fn a_file_that_fails_its_hash_is_never_delivered() {
    let data = vec![7u8; 100_000];
    let wrong = "00".repeat(32);
    let (result, stats) = simple_download(&data, &wrong).await;
    assert!(result.is_err(), "start() must reject");
    assert_eq!(field(&stats, "state").as_string().as_deref(), Some("error"));
}

#[wasm_bindgen_test]
async fn cancel_rejects_start_and_a_cancelled_downloader_cannot_start() {
    let data = vec![3u8; 200_000];
    let sha = hex::encode(Sha256::digest(&data));
    let url = blob_url(&data);
    let opts = format!(
        r#"{{"server":"","contentId":"blob-cancel","downloadMode":99,"contentUrl":"{url}",
            "fileSha256":"{sha}","engine":{{"simpleChunkSize":65536}}}}"#
    );
    let d = Downloader::new(options(&opts).unchecked_into()).expect("valid options");
    let promise: js_sys::Promise = d.start().unchecked_into();
    // Before the service flow has run a single step.
    d.cancel();
    assert!(
        JsFuture::from(promise).await.is_err(),
        "start() must reject"
    );
    let stats: JsValue = d.stats().into();
    assert_eq!(
        field(&stats, "state").as_string().as_deref(),
        Some("cancelled")
    );
    assert_eq!(field(&stats, "bytesFromHttp").as_f64(), Some(0.0));

    let again = Downloader::new(options(&opts).unchecked_into()).expect("valid options");
    again.cancel();
    let promise: js_sys::Promise = again.start().unchecked_into();
    assert!(JsFuture::from(promise).await.is_err());
}
